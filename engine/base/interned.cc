#include "engine/base/interned.h"

#include <xxhash.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/base/assert.h"

namespace seedgrid::interned_internal {

struct Pool::Inserts {
  mutable absl::Mutex mu;  // Serialises inserts.
  size_t size ABSL_GUARDED_BY(mu) = 0;
  // Set once the pool holds names_max texts: a miss then makes an owned entry without the lock.
  std::atomic<bool> full{false};
};

Pool::Pool(size_t names_max, size_t name_bytes_max)
    : names_max_(names_max),
      name_bytes_max_(name_bytes_max),
      slots_count_(names_max * 2),
      slots_(new std::atomic<const Entry*>[slots_count_]),
      inserts_(std::make_unique<Inserts>()) {
  SG_ASSERT(names_max > 0 && (names_max & (names_max - 1)) == 0);
  for (size_t i = 0; i < slots_count_; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

const Entry* Pool::Empty() {
  static const Entry* empty = new Entry{std::string(), true};
  return empty;
}

const Entry* Pool::Make(std::string_view text) {
  if (text.empty()) return Empty();
  const auto owned = [text] { return new Entry{std::string(text), false}; };
  if (text.size() > name_bytes_max_) return owned();
  const size_t mask = slots_count_ - 1;
  const size_t start = XXH3_64bits(text.data(), text.size()) & mask;
  size_t empty = 0;  // The first empty slot of the last probe.
  // `text`'s entry, or nullptr. Ends: the table is never more than half full.
  const auto probe = [&]() -> const Entry* {
    for (size_t i = start;; i = (i + 1) & mask) {
      const Entry* entry = slots_[i].load(std::memory_order_acquire);
      if (entry == nullptr) {
        empty = i;
        return nullptr;
      }
      if (entry->text == text) return entry;
    }
  };
  if (const Entry* found = probe()) return found;
  if (inserts_->full.load(std::memory_order_acquire)) return owned();
  absl::MutexLock lock(&inserts_->mu);
  if (const Entry* found = probe()) return found;  // Another thread may have added it meanwhile.
  if (inserts_->size >= names_max_) return owned();
  const Entry* entry = new Entry{std::string(text), true, static_cast<uint32_t>(empty)};
  slots_[empty].store(entry, std::memory_order_release);
  if (++inserts_->size == names_max_) inserts_->full.store(true, std::memory_order_release);
  return entry;
}

std::string_view Pool::Text(uint32_t slot) const {
  SG_ASSERT(slot < slots_count_);
  const Entry* entry = slots_[slot].load(std::memory_order_acquire);
  SG_ASSERT(entry != nullptr);
  return entry->text;
}

size_t Pool::size() const {
  absl::MutexLock lock(&inserts_->mu);
  return inserts_->size;
}

}  // namespace seedgrid::interned_internal
