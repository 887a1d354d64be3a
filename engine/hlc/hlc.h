// Hybrid logical clock with TopGun's semantics (see shared DESIGN.md), with one departure: a
// counter that would pass UINT32_MAX rolls into the next millisecond here, where TopGun's counter,
// a JavaScript number, grows past 2^32 - 1 (docs/architecture.md, "Where seedgrid departs from
// TopGun").
//
//   Now():  physical > last.millis -> (physical, 0); else (last.millis, last.counter + 1).
//   Update(remote): m = max(last.millis, physical, remote.millis); local and remote at m ->
//           counter = max(both) + 1; only local at m -> local + 1; only remote at m -> remote + 1;
//           physical strictly ahead of both -> 0.
//   A counter that would pass UINT32_MAX rolls over to (millis + 1, 0).
//   Drift: remote.millis - physical > max_drift_ms is rejected in strict mode (an error; the
//   clock is unchanged) and counted, then applied, in lenient mode.
//
// Guarantees: every timestamp returned by Now() is strictly greater than every earlier one and
// than every remote timestamp accepted by Update() before it, whatever the physical clock does.
// Not thread-safe; one Hlc per node.
#ifndef SEEDGRID_ENGINE_HLC_HLC_H_
#define SEEDGRID_ENGINE_HLC_HLC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/env/env.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

enum class DriftMode { kStrict, kLenient };

struct HlcOptions {
  std::string node_id;
  uint64_t max_drift_ms = 60'000;
  DriftMode drift_mode = DriftMode::kStrict;
};

class Hlc {
 public:
  // REQUIRES: ValidateNodeId(options.node_id).ok(). `clock` must outlive the Hlc.
  Hlc(Clock& clock, HlcOptions options);

  Timestamp Now();
  // FailedPrecondition (strict mode) when `remote` is too far ahead of the physical clock;
  // InvalidArgument for millis >= 2^62. On error the clock is unchanged.
  absl::Status Update(const Timestamp& remote);
  // What Update(remote) would return, without changing anything (and without counting).
  absl::Status Check(const Timestamp& remote) const;
  // The same against a given physical reading (to check many timestamps against one reading).
  absl::Status CheckAt(const Timestamp& remote, uint64_t physical) const;

  // The last timestamp issued or absorbed; (0, 0, node_id) before the first call.
  const Timestamp& last() const { return last_; }
  const std::string& node_id() const { return last_.node_id.str(); }
  Clock& clock() { return clock_; }
  const HlcOptions& options() const { return options_; }
  // Remote timestamps beyond the drift bound: rejected (strict) or accepted (lenient).
  uint64_t drift_violations() const { return drift_violations_; }

  // Restores the clock after a restart so it never issues a timestamp at or below
  // (millis, counter). InvalidArgument (nothing changes) for millis >= 2^62.
  absl::Status Restore(uint64_t millis, uint32_t counter);

 private:
  void Set(uint64_t millis, uint64_t counter);
  // remote.millis - physical > max_drift_ms (the drift bound, whatever the mode).
  bool BeyondDrift(const Timestamp& remote, uint64_t physical) const;

  Clock& clock_;
  HlcOptions options_;
  Timestamp last_;
  uint64_t restored_millis_ = 0;  // the millis Restore() raised the clock to (coverage probe only)
  uint64_t drift_violations_ = 0;
};

// The HLC's durable form (a storage page's contents): "<millis> <counter>" of last(). Nodes store
// it with every sync so that a restarted node never reissues a timestamp.
std::string SaveHlcState(const Hlc& hlc);
// Restores `hlc` from SaveHlcState's text: DataLoss quoting the text when it does not parse,
// Restore()'s error when the values are out of range.
absl::Status RestoreHlcState(Hlc& hlc, std::string_view text);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_HLC_HLC_H_
