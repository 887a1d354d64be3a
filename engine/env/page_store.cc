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

absl::Status PageStore::Rewrite() {
  // What a failure may have dropped is written again in page order, a chunk at a time, and each
  // chunk is synced before the next: its pages are durable then and leave pending_. So a disk that
  // fails one write in a hundred still recovers a node with thousands of pending pages, where
  // one all-or-nothing rewrite would almost never get through (and would cost O(pages) per try).
  std::vector<const decltype(pending_)::value_type*> in_order;
  in_order.reserve(pending_.size());
  for (const auto& entry : pending_) in_order.push_back(&entry);
  std::sort(in_order.begin(), in_order.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (size_t begin = 0; begin < in_order.size();) {
    const size_t end = std::min(in_order.size(), begin + rewrite_chunk_pages_);
    for (size_t i = begin; i < end; ++i) {
      const auto& [page, bytes] = *in_order[i];
      ++stats_.pages_rewritten;
      const absl::Status s = bytes ? storage_.Write(page, *bytes) : storage_.Delete(page);
      if (!s.ok() && !absl::IsNotFound(s)) {
        Failed(stats_.write_errors, s, bytes ? "write" : "delete", page);
        return ChunkFailed(end - begin);
      }
    }
    if (!SyncStorage().ok()) return ChunkFailed(end - begin);
    // Durable now. Erasing leaves the other entries where they are (the pointers stay valid).
    for (size_t i = begin; i < end; ++i) pending_.erase(pending_.find(in_order[i]->first));
    rewrite_chunk_pages_ = std::min(kMaxRewriteChunkPages, 2 * rewrite_chunk_pages_);
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status PageStore::SyncStorage() {
  // Mid-flush: every page is written, none is durable yet (a crash here may tear the last one).
  SG_CRASH_POINT("storage.before_sync");
  absl::Status s = storage_.Sync();
  if (!s.ok()) {
    SG_PROBE("storage.sync_failed");
    Failed(stats_.sync_errors, s, "sync", "");
  }
  return s;
}

absl::Status PageStore::ChunkFailed(size_t tried_pages) {
  rewrite_chunk_pages_ = std::max<size_t>(1, std::min(rewrite_chunk_pages_, tried_pages) / 2);
  return absl::UnavailableError(stats_.last_error);
}

absl::Status PageStore::Sync() {
  if (!dirty()) return absl::OkStatus();
  const bool recovering = failed_;
  if (failed_ && !pending_.empty()) {
    if (absl::Status s = Rewrite(); !s.ok()) return s;  // OK: every pending page is durable.
  } else if (!SyncStorage().ok()) {
    return absl::UnavailableError(stats_.last_error);
  }
  // After a failure: everything it may have dropped was written again and is durable now.
  if (recovering) SG_PROBE("storage.recovered_after_failure");
  // A sync that needed no recovery: the disk looks healthy again, so the next recovery starts
  // with one whole chunk.
  if (!recovering) rewrite_chunk_pages_ = kMaxRewriteChunkPages;
  ++stats_.syncs;
  pending_.clear();
  failed_ = false;
  return absl::OkStatus();
}

}  // namespace seedgrid
