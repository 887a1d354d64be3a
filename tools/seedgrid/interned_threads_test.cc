// Interned texts (engine/base/interned.h) from several threads: the simulator's suite and fuzz
// campaigns run simulations on worker threads that share the process-wide pools. Here, not beside
// the pool, because the determinism check bans threads under engine/.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/interned.h"

namespace seedgrid {
namespace {

struct ThreadTraits {
  static constexpr size_t kNamesMax = 64;
  static constexpr size_t kNameBytesMax = 8;
};
using ForThreads = Interned<ThreadTraits>;

TEST(InternedThreads, ThreadsInterningTheSameTextsShareOneEntryEach) {
  constexpr int kThreads = 4;
  constexpr int kTexts = 47;  // Prime: i -> i * (2t + 1) mod kTexts is a permutation.
  std::vector<std::vector<uint32_t>> slots(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&slots, t] {
      // Each thread walks the texts in its own order, so inserts of one text race.
      for (int i = 0; i < kTexts; ++i) {
        const int text = (i * (2 * t + 1)) % kTexts;
        slots[t].push_back(ForThreads("t" + std::to_string(text)).pool_slot());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::vector<uint32_t>> by_text(kThreads, std::vector<uint32_t>(kTexts));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kTexts; ++i) by_text[t][(i * (2 * t + 1)) % kTexts] = slots[t][i];
  }
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(by_text[t], by_text[0]);
  EXPECT_EQ(std::set<uint32_t>(by_text[0].begin(), by_text[0].end()).size(), size_t{kTexts});
  EXPECT_EQ(ForThreads::PoolSize(), size_t{kTexts});
  for (int i = 0; i < kTexts; ++i) {
    EXPECT_EQ(ForThreads::PoolText(by_text[0][i]), "t" + std::to_string(i));
  }
}

}  // namespace
}  // namespace seedgrid
