#include "engine/hlc/hlc.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "engine/base/assert.h"
#include "engine/base/probe.h"

namespace seedgrid {

namespace {
constexpr uint64_t kCounterMax = std::numeric_limits<uint32_t>::max();
// Remote millis at or past this are garbage (year > 146 million) and would let a lenient clock
// run towards uint64 overflow; they are rejected in every mode.
constexpr uint64_t kRemoteMillisLimit = uint64_t{1} << 62;
}  // namespace

Hlc::Hlc(Clock& clock, HlcOptions options) : clock_(clock), options_(std::move(options)) {
  SG_ASSERT(ValidateNodeId(options_.node_id).ok());
  last_.node_id = options_.node_id;
}

void Hlc::Set(uint64_t millis, uint64_t counter) {
  if (counter > kCounterMax) {  // Overflow rolls into the next millisecond.
    SG_PROBE("hlc.counter_rollover");
    SG_ASSERT(millis < std::numeric_limits<uint64_t>::max());
    millis += 1;
    counter = 0;
  }
  last_.millis = millis;
  last_.counter = static_cast<uint32_t>(counter);
}

Timestamp Hlc::Now() {
  const uint64_t physical = clock_.NowMs();
  const uint64_t before_millis = last_.millis;
  const uint32_t before_counter = last_.counter;
  if (physical > last_.millis) {
    Set(physical, 0);
  } else {
    // The physical clock has not passed the last stamp (stepped back, or behind a remote one).
    if (physical < last_.millis) SG_PROBE("hlc.now_behind_last_stamp");
    // Restarted with the clock behind the saved state (e.g. an NTP step after a reboot): without
    // the restored state this stamp could repeat one issued before the restart.
    if (physical <= restored_millis_) SG_PROBE("hlc.restart_clock_behind_saved_stamp");
    Set(last_.millis, uint64_t{last_.counter} + 1);
  }
  SG_ASSERT(last_.millis > before_millis ||
            (last_.millis == before_millis && last_.counter > before_counter));
  return last_;
}

bool Hlc::BeyondDrift(const Timestamp& remote, uint64_t physical) const {
  return remote.millis > physical && remote.millis - physical > options_.max_drift_ms;
}

absl::Status Hlc::Check(const Timestamp& remote) const { return CheckAt(remote, clock_.NowMs()); }

absl::Status Hlc::CheckAt(const Timestamp& remote, uint64_t physical) const {
  if (remote.millis >= kRemoteMillisLimit) {
    return absl::InvalidArgumentError(
        fmt::format("hlc on node '{}': remote timestamp {} has millis beyond 2^62", last_.node_id,
                    remote.ToString()));
  }
  if (options_.drift_mode == DriftMode::kStrict && BeyondDrift(remote, physical)) {
    return absl::FailedPreconditionError(fmt::format(
        "hlc on node '{}': remote timestamp {} is {} ms ahead of the physical clock (max drift "
        "{} ms)",
        last_.node_id, remote.ToString(), remote.millis - physical, options_.max_drift_ms));
  }
  return absl::OkStatus();
}

absl::Status Hlc::Update(const Timestamp& remote) {
  const uint64_t physical = clock_.NowMs();
  const bool beyond_drift = remote.millis < kRemoteMillisLimit && BeyondDrift(remote, physical);
  if (beyond_drift) ++drift_violations_;
  if (absl::Status s = CheckAt(remote, physical); !s.ok()) {
    if (beyond_drift) SG_PROBE("hlc.drift_rejected");
    return s;
  }
  if (beyond_drift) SG_PROBE("hlc.drift_accepted_lenient");
  const uint64_t local_millis = last_.millis;
  const uint64_t local_counter = last_.counter;
  const uint64_t m = std::max({local_millis, physical, remote.millis});
  if (m == local_millis && m == remote.millis) {
    SG_PROBE("hlc.update_same_millis");
    Set(m, std::max<uint64_t>(local_counter, remote.counter) + 1);
  } else if (m == local_millis) {
    Set(m, local_counter + 1);
  } else if (m == remote.millis) {
    SG_PROBE("hlc.update_jumped_to_remote");  // The remote clock is ahead of ours and physical.
    Set(m, uint64_t{remote.counter} + 1);
  } else {
    Set(m, 0);
  }
  SG_ASSERT(last_.millis > remote.millis ||
            (last_.millis == remote.millis && last_.counter > remote.counter));
  return absl::OkStatus();
}

absl::Status Hlc::Restore(uint64_t millis, uint32_t counter) {
  if (millis >= kRemoteMillisLimit) {
    return absl::InvalidArgumentError(fmt::format(
        "hlc on node '{}': cannot restore to millis {} (beyond 2^62)", last_.node_id, millis));
  }
  SG_PROBE("hlc.restored_from_storage");  // A node restarts from its saved clock.
  if (millis > last_.millis || (millis == last_.millis && counter > last_.counter)) {
    // A restarted node whose clock is behind its own saved stamps (it stepped back, or the node
    // had adopted a peer's stamps): without the saved state it would reissue timestamps.
    if (millis > clock_.NowMs()) SG_PROBE("hlc.restored_ahead_of_clock");
    restored_millis_ = millis;
    last_.millis = millis;
    last_.counter = counter;
  }
  return absl::OkStatus();
}

std::string SaveHlcState(const Hlc& hlc) {
  return fmt::format("{} {}", hlc.last().millis, hlc.last().counter);
}

absl::Status RestoreHlcState(Hlc& hlc, std::string_view text) {
  uint64_t millis = 0;
  uint32_t counter = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, millis);
  if (ec == std::errc() && p != end && *p == ' ') {
    auto [q, ec2] = std::from_chars(p + 1, end, counter);
    if (ec2 == std::errc() && q == end) return hlc.Restore(millis, counter);
  }
  return absl::DataLossError(
      fmt::format("HLC state: expected '<millis> <counter>', got '{}'", text.substr(0, 40)));
}

}  // namespace seedgrid
