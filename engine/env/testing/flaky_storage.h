// FlakyStorage: a MemStorage whose writes and syncs fail on demand (a test double, LevelDB-style:
// forwards everything, overrides failure). A failed Sync() drops every write since the last good
// one, as a failed fsync may (Linux marks the pages clean); a failed Write() writes nothing.
// Counts every call, so tests can assert that a clean PageStore makes none. `fates` scripts
// failures call by call: while it is not empty, each Write, Delete and Sync pops its fate from the
// front (true: the call fails, as with the flags above).
#ifndef SEEDGRID_ENGINE_ENV_TESTING_FLAKY_STORAGE_H_
#define SEEDGRID_ENGINE_ENV_TESTING_FLAKY_STORAGE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "engine/env/mem_storage.h"

namespace seedgrid {

class FlakyStorage final : public Storage {
 public:
  absl::Status Write(std::string_view page, std::string_view bytes) override {
    ++writes;
    if (NextFails() || fail_writes || page == fail_writes_to)
      return absl::UnavailableError("injected write failure");
    last_written.assign(page);
    last_write_unsynced = true;
    return mem.Write(page, bytes);
  }
  absl::StatusOr<std::string> Read(std::string_view page) override { return mem.Read(page); }
  absl::Status Delete(std::string_view page) override {
    ++deletes;
    if (NextFails() || fail_writes) return absl::UnavailableError("injected delete failure");
    return mem.Delete(page);
  }
  std::vector<std::string> List() override { return mem.List(); }
  absl::Status Sync() override {
    ++syncs;
    if (!tear_at_sync) last_write_unsynced = false;  // Durable, or dropped by a failed sync.
    if (tear_at_sync) {                              // Power lost before the sync.
      tear_at_sync = false;
      CrashTearingLastWrite();
      return absl::UnavailableError("power lost");
    }
    if (NextFails() || fail_syncs) {
      mem.Crash();  // What was written since the last good sync is gone.
      return absl::UnavailableError("injected sync failure");
    }
    return mem.Sync();
  }
  // Power loss: back to the last good sync.
  void Crash() { mem.Crash(); }
  // Power loss that tears: every unsynced write is lost but the last, whose page holds the first
  // byte of its new bytes (as SimStorage's torn writes do).
  void CrashTearingLastWrite() { CrashTearingLastWrite(1); }
  // The same, keeping the first `keep` bytes (all of them when `keep` is larger). Only an unsynced
  // write tears: without one, this is a plain crash.
  void CrashTearingLastWrite(size_t keep) {
    const absl::StatusOr<std::string> bytes = mem.Read(last_written);
    mem.Crash();
    if (bytes.ok() && std::exchange(last_write_unsynced, false)) {
      (void)mem.Write(last_written, std::string_view(*bytes).substr(0, keep));
      (void)mem.Sync();
    }
  }
  uint64_t calls() const { return writes + deletes + syncs; }
  bool NextFails() {
    if (fates.empty()) return false;
    const bool fails = fates.front();
    fates.pop_front();
    return fails;
  }

  MemStorage mem;
  bool fail_writes = false;
  bool fail_syncs = false;
  // The next Sync() loses every unsynced write but the last, which it leaves torn: its page holds
  // the first byte of its new bytes (as SimStorage's torn writes do). The node must be restarted.
  bool tear_at_sync = false;
  std::string fail_writes_to;  // writes to this one page fail
  std::deque<bool> fates;      // scripted failures, one per call (see the header comment)
  std::string last_written;    // the last successful write
  bool last_write_unsynced = false;
  uint64_t writes = 0;
  uint64_t deletes = 0;
  uint64_t syncs = 0;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_TESTING_FLAKY_STORAGE_H_
