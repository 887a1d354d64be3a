#include "tools/seedgrid/isolation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "engine/base/assert.h"
#include "tools/seedgrid/outcome_codec.h"
#include "tools/seedgrid/report.h"

namespace seedgrid::tools {
namespace {

TEST(Isolation, AFailedAssertionBecomesACrashWithItsText) {
  TaskEnd end = RunIsolated(
      [] {
        SG_ASSERT(1 + 1 == 3);
        return std::string();
      },
      0);
  ASSERT_EQ(end.kind, TaskEnd::Kind::kCrashed);
  scenarios::SwarmDraw swarm;
  swarm.loss_ppm = 7;
  const Outcome o = OutcomeOf(end, swarm, 0);
  EXPECT_TRUE(Failed(o));
  EXPECT_EQ(InvariantOf(o), "crash");
  EXPECT_EQ(o.result.swarm.loss_ppm, 7u);
  EXPECT_EQ(o.result.trace_hash, 0u);
  EXPECT_NE(FailureDetail(o).find("killed by SIGABRT (signal 6)"), std::string::npos);
  EXPECT_NE(FailureDetail(o).find("assertion failed: 1 + 1 == 3"), std::string::npos);
  EXPECT_NE(FailureKey(o).find("crash: killed by SIGABRT (signal #) | "), std::string::npos);
}

TEST(Isolation, AnUncaughtExceptionIsACrash) {
  TaskEnd end = RunIsolated([]() -> std::string { throw std::runtime_error("boom"); }, 0);
  const Outcome o = OutcomeOf(end, {}, 0);
  EXPECT_EQ(InvariantOf(o), "crash");
  EXPECT_NE(FailureDetail(o).find("terminate called"), std::string::npos);
  EXPECT_NE(FailureDetail(o).find("boom"), std::string::npos);
}

TEST(Isolation, ATimeoutIsAHang) {
  TaskEnd end = RunIsolated(
      [] {
        std::this_thread::sleep_for(std::chrono::seconds(60));
        return std::string();
      },
      0.2);
  const Outcome o = OutcomeOf(end, {}, 0.2);
  EXPECT_EQ(InvariantOf(o), "hang");
  EXPECT_NE(FailureDetail(o).find("--run-timeout"), std::string::npos);
}

TEST(Isolation, AFinishedRunIsDecoded) {
  Outcome sent;
  sent.result.pass = true;
  sent.result.trace_hash = 0xabc;
  TaskEnd end = RunIsolated([&] { return EncodeOutcome(sent); }, 0);
  const Outcome o = OutcomeOf(end, {}, 0);
  EXPECT_FALSE(Failed(o));
  EXPECT_EQ(o.result.trace_hash, 0xabcu);
}

TEST(Isolation, GarbledResultBytesAreACrash) {
  TaskEnd end = RunIsolated([] { return std::string("not json"); }, 0);
  const Outcome o = OutcomeOf(end, {}, 0);
  EXPECT_EQ(InvariantOf(o), "crash");
  EXPECT_NE(FailureDetail(o).find("could not be read"), std::string::npos);
}

TEST(Isolation, CrashCauseKeepsSanitizerAndUbsanLines) {
  TaskEnd end{.kind = TaskEnd::Kind::kCrashed, .exit_status = 1};
  end.stderr_tail =
      "noise\n==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\nmore noise\n"
      "x.cc:3:5: runtime error: signed integer overflow\nSUMMARY: AddressSanitizer: x\n";
  const std::string cause = CrashCause(end);
  EXPECT_EQ(cause.substr(0, cause.find('\n')), "exited with status 1");
  EXPECT_NE(cause.find("heap-use-after-free"), std::string::npos);
  EXPECT_NE(cause.find("signed integer overflow"), std::string::npos);
  EXPECT_NE(cause.find("SUMMARY"), std::string::npos);
  EXPECT_EQ(cause.find("noise"), std::string::npos);
}

}  // namespace
}  // namespace seedgrid::tools
