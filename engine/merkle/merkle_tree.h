// A Merkle tree over (key -> 64-bit item hash): a fixed 16-way trie over the key's hash.
//
// Shape: depth D (1..5, default 3) gives 16^D leaves. A key lives in the leaf named by the top
// 4*D bits of XXH3_64(key); digit i of a leaf's path is bits [60-4i, 64-4i) of that hash.
// Leaf hash = 0 when empty, else XXH3(sum, count) where sum is the wrapping sum over its items of
// XXH3(key hash, item hash): order-independent and O(1) to update; two keys with equal item
// hashes still contribute differently; and items whose contributions cancel in the sum cannot
// make a non-empty leaf look empty.
// Inner node hash = 0 when all 16 children are 0 (empty subtree), else XXH3_64 over the 16 child
// hashes as little-endian u64s. So the root is a function of the set of (key, item hash) pairs
// only, never of insertion order, and Upsert / Erase cost O(D) node hashes.
//
// The item hash is supplied by the owner (the CRDT maps hash key, timestamp and a value digest).
// Keys are borrowed, not copied: the tree keeps a pointer to the std::string passed to Upsert, so
// the caller keeps that string alive, unchanged and at its address until it erases the key,
// upserts it again from another string, or destroys the tree. The CRDT maps pass their own record
// keys, whose nodes never move. A copied key would cost 32 bytes per item and a view 16; the
// pointer makes an item 24 bytes (key hash, key, item hash). Trees move but do not copy (a copy
// would borrow the same keys).
// Determinism: xxHash is specified byte-for-byte, so roots are identical across processes,
// compilers and little-endian platforms. Not thread-safe.
#ifndef SEEDGRID_ENGINE_MERKLE_MERKLE_TREE_H_
#define SEEDGRID_ENGINE_MERKLE_MERKLE_TREE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"

namespace seedgrid {

class MerkleTree {
 public:
  static constexpr int kFanout = 16;
  static constexpr int kDepthMin = 1;
  static constexpr int kDepthMax = 5;
  static constexpr int kDepthDefault = 3;
  using ChildHashes = std::array<uint64_t, kFanout>;
  // A path is a sequence of digits in [0, 16), root = empty path.
  using Path = std::vector<uint8_t>;

  // REQUIRES: kDepthMin <= depth <= kDepthMax.
  explicit MerkleTree(int depth = kDepthDefault);
  MerkleTree(const MerkleTree&) = delete;
  MerkleTree& operator=(const MerkleTree&) = delete;
  MerkleTree(MerkleTree&&) = default;
  MerkleTree& operator=(MerkleTree&&) = default;

  // Inserts or replaces the item for `key`, and from now on borrows the string `key` (see the top).
  void Upsert(const std::string& key, uint64_t item_hash);
  void Upsert(const std::string&& key, uint64_t item_hash) = delete;  // It would dangle.
  // Removes `key`; returns false when it was absent.
  bool Erase(std::string_view key);

  uint64_t root() const { return levels_[0][0]; }
  int depth() const { return depth_; }
  size_t size() const { return size_; }

  // Hash of the node at `path` (length <= depth). InvalidArgument for a bad path.
  absl::StatusOr<uint64_t> NodeHash(std::span<const uint8_t> path) const;
  // The 16 child hashes of the inner node at `path` (length < depth).
  absl::StatusOr<ChildHashes> Children(std::span<const uint8_t> path) const;
  // The (key, item hash) pairs in the leaf at `path` (length == depth), in (XXH3(key), key) order.
  absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> LeafItems(
      std::span<const uint8_t> path) const;

  // Leaf indexes (0 .. 16^depth - 1, ascending) whose hashes differ between the two trees,
  // found by descending only into differing children. REQUIRES: other.depth() == depth().
  std::vector<uint32_t> DiffLeaves(const MerkleTree& other) const;
  // Exactly the keys whose item differs (present in one tree only, or with different hashes),
  // in (leaf index, XXH3(key), key) order. REQUIRES: other.depth() == depth().
  std::vector<std::string> DiffKeys(const MerkleTree& other) const;

  uint32_t LeafIndexOf(std::string_view key) const;
  Path PathOfLeaf(uint32_t leaf_index) const;
  uint32_t leaf_count() const { return static_cast<uint32_t>(leaves_.size()); }

  // Approximate heap bytes held (for the benchmarks' memory report).
  size_t ApproxBytes() const;

 private:
  absl::Status CheckPath(std::span<const uint8_t> path, size_t length_min, size_t length_max) const;
  static uint32_t IndexOfPath(std::span<const uint8_t> path);
  // Stores the leaf's new sum and recomputes its hash and its ancestors'.
  void SetLeafSum(uint32_t leaf_index, uint64_t sum);
  void DiffNode(const MerkleTree& other, int level, uint32_t index,
                std::vector<uint32_t>& out) const;

  // Leaf items are ordered by (key hash, key): integer comparisons almost always decide, and the
  // key hash is computed once per operation anyway (it names the leaf). `key` is borrowed; it is
  // mutable so that an upsert can re-point it at an equal string in the caller's newer storage.
  struct LeafKey {
    uint64_t hash;
    mutable const std::string* key;
  };
  struct LeafKeyView {
    uint64_t hash;
    std::string_view key;
  };
  struct LeafLess {
    using is_transparent = void;
    static std::string_view Text(const LeafKey& k) { return *k.key; }
    static std::string_view Text(const LeafKeyView& k) { return k.key; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      if (a.hash != b.hash) return a.hash < b.hash;
      return Text(a) < Text(b);
    }
  };
  using Leaf = absl::btree_map<LeafKey, uint64_t, LeafLess>;

  int depth_;
  size_t size_ = 0;
  // levels_[d] holds the 16^d node hashes at depth d; levels_[depth_] are the leaf hashes.
  std::vector<std::vector<uint64_t>> levels_;
  std::vector<Leaf> leaves_;
  std::vector<uint64_t> leaf_sums_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_MERKLE_MERKLE_TREE_H_
