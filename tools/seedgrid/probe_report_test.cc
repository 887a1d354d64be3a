#include "tools/seedgrid/probe_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "engine/base/probe.h"
#include "scenarios/runner.h"

namespace seedgrid::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

using Hits = std::vector<std::pair<std::string, uint64_t>>;

// A catalogue as ProbeNames() gives it: sorted, unique.
const std::vector<std::string> kAll = {"a.one", "a.three", "a.two", "b.never"};

ProbeCoverage Sample() {
  ProbeCoverage c;
  c.Add({{"a.one", 3}, {"a.two", 1}});
  c.Add({{"a.one", 2}});
  c.Add({});
  return c;
}

TEST(ProbeCoverage, CountsRunsAndHits) {
  const ProbeCoverage c = Sample();
  EXPECT_EQ(c.runs, 3u);
  ASSERT_EQ(c.probes.size(), 2u);
  EXPECT_EQ(c.probes.at("a.one").hits, 5u);
  EXPECT_EQ(c.probes.at("a.one").runs, 2u);
  EXPECT_EQ(c.probes.at("a.two").hits, 1u);
  EXPECT_EQ(c.probes.at("a.two").runs, 1u);
  EXPECT_EQ(c.probes.at("a.one").first_run, 1u);
  ProbeCoverage later = c;
  later.Add({{"b.never", 1}});
  EXPECT_EQ(later.probes.at("b.never").first_run, 4u);
  EXPECT_THAT(NeverHit(c, kAll), ElementsAre("a.three", "b.never"));
}

TEST(ProbeReport, ListsHitProbesThenTheNeverHit) {
  EXPECT_EQ(ProbeReport(Sample(), kAll),
            "probes: 2 of 4 reached in 3 runs\n"
            "  probe       runs          hits      first\n"
            "  a.one          2             5          1\n"
            "  a.two          1             1          1\n"
            "never hit (2):\n"
            "  a.three, b.never\n");
  EXPECT_EQ(ProbeReport(ProbeCoverage{}, {}), "probes: 0 of 0 reached in 0 runs\n");
}

// Runs that reach no probe at all (a registered system of one's own) get the one line.
TEST(ProbeReport, RunsThatReachNoProbeGetOneLine) {
  ProbeCoverage none;
  none.Add({});
  EXPECT_EQ(ProbeReport(none, kAll), "probes: 0 of 4 reached in 1 runs\n");
}

TEST(ProbeReport, WrapsALongNeverHitList) {
  std::vector<std::string> all;
  for (int i = 0; i < 30; ++i) all.push_back("area.probe_number_" + std::to_string(10 + i));
  const std::string report = ProbeReport(ProbeCoverage{}, all);
  size_t start = 0;
  for (size_t end = report.find('\n'); end != std::string::npos;
       start = end + 1, end = report.find('\n', start)) {
    EXPECT_LE(end - start, 100u) << report.substr(start, end - start);
  }
  EXPECT_THAT(report, HasSubstr("area.probe_number_39\n"));
}

TEST(ProbeJson, HasTheDocumentedSchema) {
  const nlohmann::json j = ProbeJson(Sample(), kAll);
  EXPECT_EQ(j.dump(),
            R"({"never_hit":["a.three","b.never"],"probes":{"a.one":{"first_run":1,"hits":5,)"
            R"("runs":2},"a.two":{"first_run":1,"hits":1,"runs":1}},"runs":3})");
  EXPECT_EQ(ProbeJson(ProbeCoverage{}, {}).dump(), R"({"never_hit":[],"probes":{},"runs":0})");
}

TEST(RequiredProbes, ReadsNamesCommentsAndBlanks) {
  const auto r = ParseRequiredProbes(
      "# probes the suite reaches\n\na.one\n  a.two   # trailing comment\r\na.one\n\t\n#a.three\n",
      "req.txt", kAll);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(*r, ElementsAre("a.one", "a.two"));  // The repeated name counts once.
  const auto empty = ParseRequiredProbes("", "req.txt", kAll);
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, IsEmpty());
  const auto no_final_newline = ParseRequiredProbes("a.three", "req.txt", kAll);
  ASSERT_TRUE(no_final_newline.ok());
  EXPECT_THAT(*no_final_newline, ElementsAre("a.three"));
}

TEST(RequiredProbes, ABadLineIsAnErrorNamingFileAndLine) {
  const auto bad = ParseRequiredProbes("a.one\n\nNot A Probe\n", "req.txt", kAll);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("req.txt:3: 'Not A Probe' is not a probe name"));
  const auto two_names = ParseRequiredProbes("a.one a.two\n", "req.txt", kAll);
  ASSERT_FALSE(two_names.ok());
  EXPECT_THAT(std::string(two_names.status().message()), HasSubstr("req.txt:1:"));
}

TEST(RequiredProbes, AnUnknownNameIsAnError) {
  const auto unknown = ParseRequiredProbes("a.one\n# x\nc.renamed\n", "req.txt", kAll);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("req.txt:3: unknown probe 'c.renamed'"));
}

TEST(RequiredProbes, MissingOnesAreNamed) {
  const ProbeCoverage c = Sample();
  EXPECT_THAT(MissingProbes(c, {"a.one", "a.two"}), IsEmpty());
  const std::vector<std::string> missing = MissingProbes(c, {"b.never", "a.one", "a.three"});
  EXPECT_THAT(missing, ElementsAre("b.never", "a.three"));
  EXPECT_EQ(MissingProbesMessage(missing, "ci/probes-required.txt", 3),
            "FAIL required probes: 2 of the probes listed in ci/probes-required.txt never hit in "
            "3 runs (a code path the suite used to reach is no longer reached):\n"
            "  b.never, a.three\n");
}

// --- The registry across threads (kept here: engine/ code may not start threads).

void HitLeft() { SG_PROBE("threadtest.left"); }
void HitRight() { SG_PROBE("threadtest.right"); }

TEST(ProbeThreads, TwoContextsOnTwoThreadsDoNotMix) {
  constexpr int kRounds = 100'000;
  ProbeContext left, right;
  std::thread a([&] {
    ScopedProbes scope(&left);
    for (int i = 0; i < kRounds; ++i) HitLeft();
  });
  std::thread b([&] {
    ScopedProbes scope(&right);
    for (int i = 0; i < 2 * kRounds; ++i) HitRight();
    HitLeft();
  });
  HitLeft();  // This thread has no context: counted nowhere.
  a.join();
  b.join();
  EXPECT_THAT(left.Hits(), ElementsAre(Pair("threadtest.left", uint64_t{kRounds})));
  EXPECT_THAT(right.Hits(), ElementsAre(Pair("threadtest.left", 1u),
                                        Pair("threadtest.right", uint64_t{2 * kRounds})));
}

TEST(ProbeThreads, ParallelRunsCountWhatSerialRunsCount) {
  const auto s = scenarios::ParseScenario(
      R"({"name": "tiny", "nodes": 3, "duration_ms": 2000,
          "workload": {"ops_per_sec": 50, "keys": 20},
          "swarm": {"loss_ppm": [0, 100000], "crashes_per_min": [0, 20]}})",
      "tiny.json");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto run = [&](uint64_t seed) {
    return scenarios::RunScenario(*s, scenarios::RunOptions{.seed = seed}).probes;
  };
  const Hits serial1 = run(1), serial2 = run(2);
  EXPECT_FALSE(serial1.empty());
  Hits parallel1, parallel2;
  std::thread a([&] { parallel1 = run(1); });
  std::thread b([&] { parallel2 = run(2); });
  a.join();
  b.join();
  EXPECT_EQ(parallel1, serial1);
  EXPECT_EQ(parallel2, serial2);
}

}  // namespace
}  // namespace seedgrid::tools
