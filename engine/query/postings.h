// Postings: the set of rows (RowHandle) that share one index key, kept in ascending order.
// Small sets (the common case for selective keys) live inline in a sorted vector; past
// kInlineMax they move to a btree so updates stay O(log n) for keys shared by many rows.
#ifndef SEEDGRID_ENGINE_QUERY_POSTINGS_H_
#define SEEDGRID_ENGINE_QUERY_POSTINGS_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/inlined_vector.h"
#include "engine/base/assert.h"

namespace seedgrid {

using RowHandle = uint32_t;

class Postings {
 public:
  static constexpr size_t kInlineMax = 64;

  // Returns false when already present.
  bool Insert(RowHandle h) {
    if (large_) return large_->insert(h).second;
    auto it = std::lower_bound(small_.begin(), small_.end(), h);
    if (it != small_.end() && *it == h) return false;
    small_.insert(it, h);
    if (small_.size() > kInlineMax) {
      large_ = std::make_unique<absl::btree_set<RowHandle>>(small_.begin(), small_.end());
      small_.clear();
      small_.shrink_to_fit();
    }
    return true;
  }
  // Returns false when absent.
  bool Erase(RowHandle h) {
    if (large_) return large_->erase(h) > 0;
    auto it = std::lower_bound(small_.begin(), small_.end(), h);
    if (it == small_.end() || *it != h) return false;
    small_.erase(it);
    return true;
  }
  bool Contains(RowHandle h) const {
    if (large_) return large_->contains(h);
    return std::binary_search(small_.begin(), small_.end(), h);
  }
  size_t size() const { return large_ ? large_->size() : small_.size(); }
  bool empty() const { return size() == 0; }
  // Appends the handles in ascending order.
  void AppendTo(std::vector<RowHandle>* out) const {
    if (large_) {
      out->insert(out->end(), large_->begin(), large_->end());
    } else {
      out->insert(out->end(), small_.begin(), small_.end());
    }
  }
  size_t ApproxBytes() const {
    return sizeof(*this) + (large_ ? large_->size() * sizeof(RowHandle) * 3 / 2 + 64
                                   : (small_.capacity() > 4 ? small_.capacity() * 4 : 0));
  }

 private:
  absl::InlinedVector<RowHandle, 4> small_;  // Sorted; used while !large_.
  std::unique_ptr<absl::btree_set<RowHandle>> large_;
};

// Set operations on ascending handle vectors.
std::vector<RowHandle> IntersectSorted(const std::vector<RowHandle>& a,
                                       const std::vector<RowHandle>& b);
std::vector<RowHandle> UnionSorted(const std::vector<RowHandle>& a,
                                   const std::vector<RowHandle>& b);
// Sorts and removes duplicates.
void Canonicalize(std::vector<RowHandle>* v);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_POSTINGS_H_
