#include "sim/sim_storage.h"

#include <fmt/format.h>

namespace seedgrid::sim {

bool SimStorage::DrawError() {
  return error_ppm_ > 0 && error_random_.Uniform(1'000'000) < error_ppm_;
}

void SimStorage::Recovered(std::string_view page) {
  if (!dropped_.empty()) dropped_.erase(std::string(page));
}

absl::Status SimStorage::Write(std::string_view page, std::string_view bytes) {
  if (DrawError()) {
    ++write_errors_;
    failed_ = true;
    dropped_.insert(std::string(page));
    return absl::UnavailableError(fmt::format("injected write error on page '{}'", page));
  }
  absl::Status s = mem_.Write(page, bytes);
  if (s.ok()) {
    last_write_.assign(page.data(), page.size());  // Its bytes are the page's until overwritten.
    Recovered(page);
  }
  return s;
}

absl::Status SimStorage::Delete(std::string_view page) {
  last_write_.clear();  // A delete is not torn: it leaves the page or removes it.
  Recovered(page);
  return mem_.Delete(page);
}

absl::Status SimStorage::Sync() {
  if (DrawError()) {
    ++sync_errors_;
    failed_ = true;
    for (std::string& page : mem_.UnsyncedPages()) dropped_.insert(std::move(page));
    mem_.Crash();
    last_write_.clear();
    return absl::UnavailableError("injected sync error: unsynced writes dropped");
  }
  last_write_.clear();
  absl::Status s = mem_.Sync();
  if (s.ok() && dropped_.empty()) {
    failed_ = false;
    ++clean_syncs_;
  }
  return s;
}

bool SimStorage::Crash(bool tear, Random& random) {
  // The last unsynced write's bytes, read before the crash rolls the page back.
  std::string last_bytes;
  if (tear && !last_write_.empty()) {
    absl::StatusOr<std::string> bytes = mem_.Read(last_write_);
    if (bytes.ok()) last_bytes = *std::move(bytes);
  }
  mem_.Crash();
  bool torn = false;
  if (!last_bytes.empty()) {
    const size_t keep = random.Uniform(last_bytes.size());
    (void)mem_.Write(last_write_, std::string_view(last_bytes).substr(0, keep));
    (void)mem_.Sync();
    ++torn_pages_;
    torn = true;
  }
  last_write_.clear();
  failed_ = false;  // What the errors dropped is gone with the crash; the node restarts from disk.
  dropped_.clear();
  return torn;
}

void SimStorage::Wipe() {
  mem_ = MemStorage();
  last_write_.clear();
  failed_ = false;
  dropped_.clear();
}

void SimStorage::InjectErrors(uint32_t error_ppm, Xoshiro256 random) {
  error_ppm_ = error_ppm;
  error_random_ = random;
}

}  // namespace seedgrid::sim
