#include "tools/seedgrid/outcome_codec.h"

#include <gtest/gtest.h>

namespace seedgrid::tools {
namespace {

Outcome Sample() {
  Outcome o;
  scenarios::RunResult& r = o.result;
  r.pass = false;
  r.violation = scenarios::RunViolation{"grid_durability", "lost k1\nsecond line", 123, 45};
  r.swarm.loss_ppm = 1, r.swarm.duplicate_ppm = 2, r.swarm.reorder_ppm = 3;
  r.swarm.partitions_per_min = 4, r.swarm.crashes_per_min = 5, r.swarm.pauses_per_min = 6;
  r.swarm.clock_steps_per_min = 7, r.swarm.clogs_per_min = 8, r.swarm.buggify = true;
  r.swarm.offline_per_min = 9, r.swarm.storage_errors_ppm = 10, r.swarm.torn_writes = true;
  r.trace_hash = 0xfedcba9876543210;
  r.events = 11, r.sim_events = 12, r.messages = 13, r.virtual_ms = 14, r.ops = 15;
  r.checks = 16, r.converged_after_ms = 17, r.buggify_fired = 18;
  r.buggify_sites = {"a.b", "c.d"};
  r.probes = {{"hlc.x", 3}, {"lww.y", 4}};
  r.ops_generated = 25, r.ops_dropped = 26, r.faults_generated = 27, r.faults_dropped = 28;
  r.stats.messages_sent = 19, r.stats.dropped_loss = 20, r.stats.crashes = 21;
  r.stats.restarts = 22, r.stats.pauses = 23, r.stats.timers_fired = 24;
  o.wall_ms = 2.5;
  o.nondeterministic = true;
  o.divergence = "event #3";
  return o;
}

TEST(OutcomeCodec, RoundTripsEveryReportedField) {
  const Outcome a = Sample();
  const std::optional<Outcome> b = DecodeOutcome(EncodeOutcome(a));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(EncodeOutcome(*b), EncodeOutcome(a));
  EXPECT_EQ(b->result.trace_hash, a.result.trace_hash);
  EXPECT_EQ(b->result.violation->detail, "lost k1\nsecond line");
  EXPECT_EQ(b->result.violation->virtual_time_ns, 123u);
  EXPECT_EQ(b->result.swarm.ToString(), a.result.swarm.ToString());
  EXPECT_EQ(b->result.buggify_sites, a.result.buggify_sites);
  EXPECT_EQ(b->result.stats.pauses, 23u);
  EXPECT_EQ(b->result.ops_generated, 25u);
  EXPECT_EQ(b->result.probes, a.result.probes);
  EXPECT_EQ(b->result.faults_dropped, 28u);
  EXPECT_EQ(b->wall_ms, 2.5);
  EXPECT_TRUE(b->nondeterministic);
}

TEST(OutcomeCodec, APassHasNoViolation) {
  Outcome a;
  a.result.pass = true;
  const std::optional<Outcome> b = DecodeOutcome(EncodeOutcome(a));
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->result.pass);
  EXPECT_FALSE(b->result.violation.has_value());
}

TEST(OutcomeCodec, RejectsWhatItDidNotWrite) {
  EXPECT_FALSE(DecodeOutcome("").has_value());
  EXPECT_FALSE(DecodeOutcome("{").has_value());
  EXPECT_FALSE(DecodeOutcome("[1,2]").has_value());
  EXPECT_FALSE(DecodeOutcome("{\"result\": {}}").has_value());
  std::string truncated = EncodeOutcome(Sample());
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(DecodeOutcome(truncated).has_value());
}

}  // namespace
}  // namespace seedgrid::tools
