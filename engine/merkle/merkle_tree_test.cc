#include "engine/merkle/merkle_tree.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

namespace seedgrid {
namespace {

using Model = std::map<std::string, uint64_t>;

// The tree borrows its keys' strings: these outlive every tree below.
const std::string kA = "a";
const std::string kB = "b";
const std::string kHello = "hello";

MerkleTree Build(const Model& model, int depth, bool reverse) {
  // The tree borrows the model's keys; the callers keep the model alive.
  MerkleTree tree(depth);
  if (reverse) {
    for (auto it = model.rbegin(); it != model.rend(); ++it) tree.Upsert(it->first, it->second);
  } else {
    for (const auto& [key, hash] : model) tree.Upsert(key, hash);
  }
  return tree;
}

// Small key and hash alphabets so that random maps often collide and often differ by one item.
rc::Gen<Model> GenModel() {
  return rc::gen::container<Model>(
      rc::gen::map(rc::gen::inRange(0, 40), [](int i) { return "k" + std::to_string(i); }),
      rc::gen::map(rc::gen::inRange(1, 4),
                   [](int h) { return uint64_t(h) * 0x9E3779B97F4A7C15ULL; }));
}

TEST(MerkleTree, EmptyTreeHasZeroRootAndNoDiff) {
  MerkleTree a, b;
  EXPECT_EQ(a.root(), 0u);
  EXPECT_TRUE(a.DiffLeaves(b).empty());
  EXPECT_EQ(a.leaf_count(), 4096u);
}

TEST(MerkleTree, EraseRestoresPreviousRootExactly) {
  MerkleTree tree;
  tree.Upsert(kA, 11);
  const uint64_t with_a = tree.root();
  tree.Upsert(kB, 22);
  EXPECT_NE(tree.root(), with_a);
  EXPECT_TRUE(tree.Erase("b"));
  EXPECT_FALSE(tree.Erase("b"));
  EXPECT_EQ(tree.root(), with_a);
  EXPECT_TRUE(tree.Erase("a"));
  EXPECT_EQ(tree.root(), 0u);
  EXPECT_EQ(tree.size(), 0u);
}

TEST(MerkleTree, NonEmptyLeafNeverLooksEmpty) {
  // Whatever the item hashes, a leaf with items has a non-zero hash (count is mixed in).
  MerkleTree tree(1);
  tree.Upsert(kA, 0);
  EXPECT_NE(tree.root(), 0u);
  EXPECT_NE(*tree.NodeHash(tree.PathOfLeaf(tree.LeafIndexOf("a"))), 0u);
}

TEST(MerkleTree, UpsertSameHashIsNoOpAndReplaceChangesRoot) {
  MerkleTree tree;
  tree.Upsert(kA, 11);
  const uint64_t root = tree.root();
  tree.Upsert(kA, 11);
  EXPECT_EQ(tree.root(), root);
  tree.Upsert(kA, 12);
  EXPECT_NE(tree.root(), root);
  EXPECT_EQ(tree.size(), 1u);
}

TEST(MerkleTree, AnUpsertFromAnotherStringBorrowsThatString) {
  MerkleTree tree(1);
  auto first = std::make_unique<std::string>("key-long-enough-to-live-on-the-heap");
  tree.Upsert(*first, 1);
  const std::string second = *first;
  tree.Upsert(second, 1);  // Same item: the root stays, but the tree now reads `second`.
  const uint64_t root = tree.root();
  first.reset();
  auto items = tree.LeafItems(tree.PathOfLeaf(tree.LeafIndexOf(second)));
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].first, second);
  EXPECT_TRUE(tree.Erase(second));
  EXPECT_NE(tree.root(), root);
}

TEST(MerkleTree, PathsNavigateToTheKeysLeaf) {
  MerkleTree tree(2);
  tree.Upsert(kHello, 5);
  const uint32_t leaf = tree.LeafIndexOf("hello");
  const MerkleTree::Path path = tree.PathOfLeaf(leaf);
  ASSERT_EQ(path.size(), 2u);
  auto items = tree.LeafItems(path);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].first, "hello");
  EXPECT_NE(*tree.NodeHash(path), 0u);
  auto children = tree.Children(std::span(path.data(), 1));
  ASSERT_TRUE(children.ok());
  EXPECT_EQ((*children)[path[1]], *tree.NodeHash(path));
  EXPECT_EQ(*tree.NodeHash({}), tree.root());
}

TEST(MerkleTree, BadPathsAreErrorsNotCrashes) {
  MerkleTree tree(3);
  const std::vector<uint8_t> too_long{1, 2, 3, 4};
  const std::vector<uint8_t> bad_digit{1, 16};
  const std::vector<uint8_t> leaf{1, 2, 3};
  EXPECT_EQ(tree.NodeHash(too_long).status().message(),
            "merkle path has 4 digits; expected 0..3 for a tree of depth 3");
  EXPECT_EQ(tree.Children(bad_digit).status().message(),
            "merkle path digit 1 is 16; digits must be 0..15");
  EXPECT_FALSE(tree.Children(leaf).ok());
  EXPECT_FALSE(tree.LeafItems(bad_digit).ok());
}

RC_GTEST_PROP(MerkleTree, RootIsIndependentOfInsertionOrder, ()) {
  const Model model = *GenModel();
  const int depth = *rc::gen::inRange(1, 4);
  RC_ASSERT(Build(model, depth, false).root() == Build(model, depth, true).root());
}

RC_GTEST_PROP(MerkleTree, RootsEqualIffContentsEqualAndDiffIsExact, ()) {
  const Model a = *GenModel();
  const Model b = *GenModel();
  const int depth = *rc::gen::inRange(1, 4);
  const MerkleTree ta = Build(a, depth, false);
  const MerkleTree tb = Build(b, depth, true);
  RC_ASSERT((ta.root() == tb.root()) == (a == b));

  std::vector<std::string> expected;
  for (const auto& [k, h] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != h) expected.push_back(k);
  }
  for (const auto& [k, h] : b) {
    if (!a.contains(k)) expected.push_back(k);
  }
  std::vector<std::string> got = ta.DiffKeys(tb);
  std::vector<std::string> got_reverse = tb.DiffKeys(ta);
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  std::sort(got_reverse.begin(), got_reverse.end());
  RC_ASSERT(got == expected);
  RC_ASSERT(got_reverse == expected);

  // Differing leaves are exactly the leaves of the differing keys.
  std::vector<uint32_t> leaves;
  for (const auto& k : expected) leaves.push_back(ta.LeafIndexOf(k));
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  RC_ASSERT(ta.DiffLeaves(tb) == leaves);
}

}  // namespace
}  // namespace seedgrid
