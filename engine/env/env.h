// The seam between the engine and the world, in the style of LevelDB's Env.
//
// Every engine component receives an `Env&` (or one of its parts) through its constructor; there
// are no globals. The same engine code runs under the deterministic simulator (sim/) and with the
// real implementations in engine/env/real/, which is the only folder allowed to touch the wall
// clock, OS entropy or threads (enforced by ci/check_determinism.py).
//
// Determinism contract for implementers used in simulation: every method must be a pure function
// of the implementation's own state and its arguments; callbacks run on the caller's (single)
// thread, never re-entrantly from inside the call that scheduled them.
#ifndef SEEDGRID_ENGINE_ENV_ENV_H_
#define SEEDGRID_ENGINE_ENV_ENV_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedgrid {

// A node's physical clock in milliseconds since the Unix epoch. It may be skewed relative to other
// nodes, drift, or step backwards (NTP-like); the HLC is what makes the engine survive that.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowMs() = 0;
};

// A stream of uniformly distributed 64-bit values. Engine code draws only through this interface
// and the bounded helpers below (never std::*_distribution, which differs between libraries).
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next64() = 0;

  // Uniform in [0, bound). REQUIRES: bound > 0. Unbiased (Lemire's method with rejection).
  uint64_t Uniform(uint64_t bound);
  // True with probability ppm / 1'000'000. REQUIRES: ppm <= 1'000'000.
  bool ChancePpm(uint32_t ppm);
};

using NodeId = std::string;

// Message transport between nodes. Delivery is asynchronous: a message sent now is handed to the
// receiver's handler later (or never, if the network loses it). No ordering is promised.
class Network {
 public:
  using Handler = std::function<void(const NodeId& from, std::string_view bytes)>;
  virtual ~Network() = default;
  // Queues `bytes` for delivery to `to`. An unknown destination is an error, not an abort.
  virtual absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes) = 0;
  // Installs the receive handler for `node`, replacing any earlier one. An empty handler
  // uninstalls it: messages for the node are then dropped.
  virtual void SetHandler(const NodeId& node, Handler handler) = 0;
};

// One-shot timers measured on the node's own clock. Callbacks run later, never inside Schedule.
class Timers {
 public:
  using TimerId = uint64_t;
  virtual ~Timers() = default;
  // REQUIRES: delay_ms <= 365 days (a bound that catches unit mistakes).
  virtual TimerId Schedule(uint64_t delay_ms, std::function<void()> callback) = 0;
  // Returns true when the timer was pending and is now cancelled.
  virtual bool Cancel(TimerId id) = 0;
};

// Durable pages for one node: named byte blobs that survive a crash once Sync() returned OK.
// Writes before the last successful Sync() are durable; later ones may be lost by a crash.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual absl::Status Write(std::string_view page, std::string_view bytes) = 0;
  // NotFound when the page does not exist.
  virtual absl::StatusOr<std::string> Read(std::string_view page) = 0;
  virtual absl::Status Delete(std::string_view page) = 0;
  // Page names in byte-wise ascending order.
  virtual std::vector<std::string> List() = 0;
  virtual absl::Status Sync() = 0;
};

// The bundle passed through constructors. Non-owning: the creator keeps the parts alive for the
// lifetime of everything constructed with this Env.
struct Env {
  Clock& clock;
  Random& random;
  Network& network;
  Timers& timers;
  Storage& storage;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_ENV_H_
