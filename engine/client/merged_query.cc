#include "engine/client/merged_query.h"

#include <limits>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/cluster/partition.h"

namespace seedgrid {

namespace {
constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();
}  // namespace

MergedQuery::MergedQuery(Clock& clock, std::string map, Query query,
                         QueryEngine::DeltaCallback callback, std::string cursor)
    : map_(std::move(map)),
      query_(std::move(query)),
      cursor_(std::move(cursor)),
      engine_(clock, /*instance_id=*/0),
      chosen_(kPartitionCount, nullptr) {
  absl::StatusOr<QueryEngine::Subscription> s = engine_.Subscribe(query_, std::move(callback));
  SG_ASSERT(s.ok());  // GridClient::Subscribe validated the query.
  engine_id_ = s->id;
}

void MergedQuery::Choose() {
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const Source* best = nullptr;
    for (const auto& [server, source] : sources_) {  // Server id order: the first wins ties.
      if (!source.covered[p]) continue;
      if (best == nullptr || source.table_version > best->table_version) best = &source;
    }
    // The partition's rows now come from another server (its owner changed).
    if (chosen_[p] != nullptr && best != nullptr && best != chosen_[p]) {
      SG_PROBE("query.partition_moved_between_servers");
    }
    chosen_[p] = best;
  }
}

void MergedQuery::Show(const std::string& key) {
  const Source* source = Chosen(PartitionOf(key));
  const Document* doc = nullptr;
  if (source != nullptr) {
    auto r = source->rows.find(key);
    if (r != source->rows.end()) doc = &r->second;
  }
  auto it = shown_.find(key);
  if (doc == nullptr) {
    if (it == shown_.end()) return;
    engine_.RemoveRow(it->second.handle, it->first, nullptr, it->second.doc);
    shown_.erase(it);
    return;
  }
  if (it == shown_.end()) {
    it = shown_.emplace(key, Row{*doc, 0}).first;
    it->second.handle = engine_.InsertRow(it->first, nullptr, &it->second.doc, kNoDeadline);
    return;
  }
  if (it->second.doc == *doc) return;
  Document old = std::exchange(it->second.doc, *doc);
  engine_.UpdateRow(it->second.handle, old, &it->second.doc, kNoDeadline);
}

bool MergedQuery::Apply(const NodeId& server, const msg::QueryUpdate& u) {
  Source& source = sources_[server];
  if (u.seq == 0) {
    if (source.epoch != 0 && u.epoch <= source.epoch) {
      SG_PROBE("query.stale_snapshot_ignored");
      return false;  // Old or duplicate.
    }
    source = Source{u.epoch, 0, u.table_version, {}, {}};
    for (uint32_t p : u.partitions) source.covered.set(p);
    for (const msg::LwwEntry& e : u.rows.lww) {
      if (e.record.tombstone() || !source.covered[PartitionOf(e.key)]) continue;
      source.rows[e.key] = *e.record.value;
    }
    // Coverage may have moved between servers: every shown row (this server's old rows among
    // them) and every source's row is re-decided.
    Choose();
    absl::btree_set<std::string> keys;
    for (const auto& [key, row] : shown_) keys.insert(key);
    for (const auto& [name, s] : sources_) {
      for (const auto& [key, doc] : s.rows) keys.insert(key);
    }
    for (const std::string& key : keys) Show(key);
    return true;
  }
  if (u.epoch != source.epoch || u.seq != source.seq + 1) {
    SG_PROBE("query.delta_out_of_order_ignored");  // The next refresh resyncs.
    return false;
  }
  source.seq = u.seq;
  for (const msg::LwwEntry& e : u.rows.lww) {
    if (!source.covered[PartitionOf(e.key)]) continue;
    if (e.record.tombstone()) {
      source.rows.erase(e.key);
    } else {
      source.rows[e.key] = *e.record.value;
    }
    Show(e.key);
  }
  return true;
}

std::vector<msg::QueryMark> MergedQuery::Known() const {
  std::vector<msg::QueryMark> known;
  for (const auto& [server, source] : sources_) {
    if (source.epoch != 0) known.push_back({server, source.epoch, source.seq});
  }
  return known;
}

bool MergedQuery::Complete() const {
  for (const Source* s : chosen_) {
    if (s == nullptr) return false;
  }
  return true;
}

std::vector<RowRef> MergedQuery::Result() const {
  absl::StatusOr<std::vector<RowRef>> rows = engine_.LiveResult(engine_id_);
  SG_ASSERT(rows.ok());
  return *std::move(rows);
}

}  // namespace seedgrid
