#include "engine/merkle/merkle_tree.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <bit>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"

namespace seedgrid {

static_assert(std::endian::native == std::endian::little,
              "Merkle inner hashes hash u64 arrays in memory order; big-endian needs byte swaps");

namespace {

// `changed` is the hash of the child just updated: when it is not 0 neither is the node, and the
// scan for an all-zero node is skipped.
uint64_t HashChildren(const uint64_t* children, uint64_t changed) {
  if (changed == 0) {
    uint64_t any = 0;  // an OR, not a branch per child
    for (int i = 0; i < MerkleTree::kFanout; ++i) any |= children[i];
    if (any == 0) return 0;
  }
  return XXH3_64bits(children, sizeof(uint64_t) * MerkleTree::kFanout);
}

// What one item adds to its leaf's sum: a hash of (key hash, item hash), so that two trees holding
// the same item hash under different keys differ even when the owner's item hash ignores the key.
uint64_t Contribution(uint64_t key_hash, uint64_t item_hash) {
  const uint64_t words[2] = {key_hash, item_hash};
  return XXH3_64bits(words, sizeof(words));
}

uint64_t KeyHash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace

MerkleTree::MerkleTree(int depth) : depth_(depth) {
  SG_ASSERT(depth >= kDepthMin);
  SG_ASSERT(depth <= kDepthMax);
  levels_.resize(depth_ + 1);
  size_t width = 1;
  for (int d = 0; d <= depth_; ++d) {
    levels_[d].assign(width, 0);
    width *= kFanout;
  }
  leaves_.resize(levels_[depth_].size());
  leaf_sums_.assign(levels_[depth_].size(), 0);
}

uint32_t MerkleTree::LeafIndexOf(std::string_view key) const {
  return static_cast<uint32_t>(KeyHash(key) >> (64 - 4 * depth_));
}

MerkleTree::Path MerkleTree::PathOfLeaf(uint32_t leaf_index) const {
  SG_ASSERT(leaf_index < leaf_count());
  Path path(depth_);
  for (int i = depth_ - 1; i >= 0; --i) {
    path[i] = static_cast<uint8_t>(leaf_index & 0xF);
    leaf_index >>= 4;
  }
  return path;
}

void MerkleTree::SetLeafSum(uint32_t leaf_index, uint64_t sum) {
  leaf_sums_[leaf_index] = sum;
  const uint64_t count = leaves_[leaf_index].size();
  const uint64_t words[2] = {sum, count};
  levels_[depth_][leaf_index] = count == 0 ? 0 : XXH3_64bits(words, sizeof(words));
  uint32_t index = leaf_index;
  for (int d = depth_ - 1; d >= 0; --d) {
    const uint64_t changed = levels_[d + 1][index];
    index >>= 4;
    levels_[d][index] = HashChildren(&levels_[d + 1][size_t{index} * kFanout], changed);
  }
}

void MerkleTree::Upsert(const std::string& key, uint64_t item_hash) {
  const uint64_t key_hash = KeyHash(key);
  const uint32_t leaf = static_cast<uint32_t>(key_hash >> (64 - 4 * depth_));
  auto& items = leaves_[leaf];
  uint64_t sum = leaf_sums_[leaf];
  auto it = items.find(LeafKeyView{key_hash, key});
  if (it == items.end()) {
    if (!items.empty()) SG_PROBE("merkle.leaf_shared_by_keys");  // A leaf pull carries both.
    items.emplace(LeafKey{key_hash, &key}, item_hash);
    ++size_;
  } else {
    // The same bytes, maybe in another string: borrow the caller's (the slot's order is unchanged).
    it->first.key = &key;
    if (it->second == item_hash) return;
    sum -= Contribution(key_hash, it->second);
    it->second = item_hash;
  }
  SetLeafSum(leaf, sum + Contribution(key_hash, item_hash));
}

bool MerkleTree::Erase(std::string_view key) {
  const uint64_t key_hash = KeyHash(key);
  const uint32_t leaf = static_cast<uint32_t>(key_hash >> (64 - 4 * depth_));
  auto& items = leaves_[leaf];
  auto it = items.find(LeafKeyView{key_hash, key});
  if (it == items.end()) return false;
  const uint64_t sum = leaf_sums_[leaf] - Contribution(key_hash, it->second);
  items.erase(it);
  --size_;
  SG_ASSERT(!items.empty() || sum == 0);
  if (items.empty()) SG_PROBE("merkle.leaf_emptied");
  SetLeafSum(leaf, sum);
  return true;
}

absl::Status MerkleTree::CheckPath(std::span<const uint8_t> path, size_t length_min,
                                   size_t length_max) const {
  if (path.size() < length_min || path.size() > length_max) {
    SG_PROBE("merkle.bad_path_refused");
    return absl::InvalidArgumentError(
        fmt::format("merkle path has {} digits; expected {}..{} for a tree of depth {}",
                    path.size(), length_min, length_max, depth_));
  }
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] >= kFanout) {
      SG_PROBE("merkle.bad_path_refused");
      return absl::InvalidArgumentError(
          fmt::format("merkle path digit {} is {}; digits must be 0..15", i, path[i]));
    }
  }
  return absl::OkStatus();
}

uint32_t MerkleTree::IndexOfPath(std::span<const uint8_t> path) {
  uint32_t index = 0;
  for (uint8_t digit : path) index = (index << 4) | digit;
  return index;
}

absl::StatusOr<uint64_t> MerkleTree::NodeHash(std::span<const uint8_t> path) const {
  if (auto s = CheckPath(path, 0, depth_); !s.ok()) return s;
  return levels_[path.size()][IndexOfPath(path)];
}

absl::StatusOr<MerkleTree::ChildHashes> MerkleTree::Children(std::span<const uint8_t> path) const {
  if (auto s = CheckPath(path, 0, depth_ - 1); !s.ok()) return s;
  ChildHashes out;
  const uint64_t* first = &levels_[path.size() + 1][size_t{IndexOfPath(path)} * kFanout];
  for (int i = 0; i < kFanout; ++i) out[i] = first[i];
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> MerkleTree::LeafItems(
    std::span<const uint8_t> path) const {
  if (auto s = CheckPath(path, depth_, depth_); !s.ok()) return s;
  const auto& items = leaves_[IndexOfPath(path)];
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(items.size());
  for (const auto& [leaf_key, hash] : items) out.emplace_back(*leaf_key.key, hash);
  return out;
}

void MerkleTree::DiffNode(const MerkleTree& other, int level, uint32_t index,
                          std::vector<uint32_t>& out) const {
  if (levels_[level][index] == other.levels_[level][index]) return;
  if (level == depth_) {
    out.push_back(index);
    return;
  }
  for (uint32_t child = 0; child < kFanout; ++child) {
    DiffNode(other, level + 1, index * kFanout + child, out);
  }
}

std::vector<uint32_t> MerkleTree::DiffLeaves(const MerkleTree& other) const {
  SG_ASSERT(other.depth_ == depth_);
  std::vector<uint32_t> out;
  DiffNode(other, 0, 0, out);
  return out;
}

std::vector<std::string> MerkleTree::DiffKeys(const MerkleTree& other) const {
  std::vector<std::string> out;
  for (uint32_t leaf : DiffLeaves(other)) {
    const auto& mine = leaves_[leaf];
    const auto& theirs = other.leaves_[leaf];
    auto a = mine.begin();
    auto b = theirs.begin();
    const LeafLess less;
    while (a != mine.end() || b != theirs.end()) {
      if (b == theirs.end() || (a != mine.end() && less(a->first, b->first))) {
        out.emplace_back(*(a++)->first.key);
      } else if (a == mine.end() || less(b->first, a->first)) {
        out.emplace_back(*(b++)->first.key);
      } else {
        if (a->second != b->second) out.emplace_back(*a->first.key);
        ++a;
        ++b;
      }
    }
  }
  return out;
}

size_t MerkleTree::ApproxBytes() const {
  size_t bytes = 0;
  for (const auto& level : levels_) bytes += level.capacity() * sizeof(uint64_t);
  bytes += leaf_sums_.capacity() * sizeof(uint64_t);
  bytes += leaves_.capacity() * sizeof(leaves_[0]);
  // A node slot per item: (key hash, key pointer, item hash); the key string is the caller's.
  for (const auto& leaf : leaves_) bytes += leaf.size() * (sizeof(LeafKey) + sizeof(uint64_t));
  return bytes;
}

}  // namespace seedgrid
