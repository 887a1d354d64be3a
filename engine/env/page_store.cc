#include "engine/env/page_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "engine/base/crash_point.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"

namespace seedgrid {

void PageStore::Failed(uint64_t& counter, const absl::Status& s, std::string_view what,
                       std::string_view page) {
  ++counter;
  failed_ = true;
  stats_.last_error =
      page.empty()
          ? fmt::format("storage {} failed: {}", what, std::string(s.message()))
          : fmt::format("storage {} of page '{}' failed: {}", what, page, std::string(s.message()));
}

void PageStore::Put(std::string_view page, std::string_view bytes) {
  auto [it, inserted] = pending_.try_emplace(ToAbsl(page));
  it->second.emplace(bytes);
  if (absl::Status s = storage_.Write(page, bytes); !s.ok()) {
    SG_PROBE("storage.write_failed");
    Failed(stats_.write_errors, s, "write", page);
  }
}

void PageStore::Erase(std::string_view page) {
  auto [it, inserted] = pending_.try_emplace(ToAbsl(page));
  it->second.reset();
  if (absl::Status s = storage_.Delete(page); !s.ok() && !absl::IsNotFound(s)) {
    Failed(stats_.write_errors, s, "delete", page);
  }
}

absl::Status PageStore::Sync() {
  if (!dirty()) return absl::OkStatus();
  if (failed_) {
    // What a failed write or sync may have dropped is written again, in page order.
    std::vector<const decltype(pending_)::value_type*> in_order;
    in_order.reserve(pending_.size());
    for (const auto& entry : pending_) in_order.push_back(&entry);
    std::sort(in_order.begin(), in_order.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* entry : in_order) {
      const auto& [page, bytes] = *entry;
      ++stats_.pages_rewritten;
      const absl::Status s = bytes ? storage_.Write(page, *bytes) : storage_.Delete(page);
      if (!s.ok() && !absl::IsNotFound(s)) {
        Failed(stats_.write_errors, s, bytes ? "write" : "delete", page);
        return absl::UnavailableError(stats_.last_error);
      }
    }
  }
  // Mid-flush: every page is written, none is durable yet (a crash here may tear the last one).
  SG_CRASH_POINT("storage.before_sync");
  if (absl::Status s = storage_.Sync(); !s.ok()) {
    SG_PROBE("storage.sync_failed");
    Failed(stats_.sync_errors, s, "sync", "");
    return absl::UnavailableError(stats_.last_error);
  }
  // After a failure: everything it may have dropped was written again and is durable now.
  if (failed_) SG_PROBE("storage.recovered_after_failure");
  ++stats_.syncs;
  pending_.clear();
  failed_ = false;
  return absl::OkStatus();
}

}  // namespace seedgrid
