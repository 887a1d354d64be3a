#include "sim/sim_storage.h"

namespace seedgrid::sim {

absl::Status SimStorage::Write(std::string_view page, std::string_view bytes) {
  absl::Status s = mem_.Write(page, bytes);
  if (s.ok()) last_write_.emplace(std::string(page), std::string(bytes));
  return s;
}

absl::Status SimStorage::Delete(std::string_view page) {
  last_write_.reset();  // A delete is not torn: it leaves the page or removes it.
  return mem_.Delete(page);
}

absl::Status SimStorage::Sync() {
  last_write_.reset();
  return mem_.Sync();
}

bool SimStorage::Crash(bool tear, Random& random) {
  mem_.Crash();
  bool torn = false;
  if (tear && last_write_ && !last_write_->second.empty()) {
    const size_t keep = random.Uniform(last_write_->second.size());
    (void)mem_.Write(last_write_->first, std::string_view(last_write_->second).substr(0, keep));
    (void)mem_.Sync();
    ++torn_pages_;
    torn = true;
  }
  last_write_.reset();
  return torn;
}

void SimStorage::Wipe() {
  mem_ = MemStorage();
  last_write_.reset();
}

}  // namespace seedgrid::sim
