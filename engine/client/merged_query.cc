#include "engine/client/merged_query.h"

#include <limits>
#include <utility>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/cluster/partition.h"

namespace seedgrid {

namespace {
constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();
}  // namespace

MergedQuery::MergedQuery(Clock& clock, std::string map, Query query,
                         QueryEngine::DeltaCallback callback, std::string cursor, bool or_rows)
    : map_(std::move(map)),
      query_(std::move(query)),
      cursor_(std::move(cursor)),
      or_rows_(or_rows),
      engine_(clock, /*instance_id=*/0),
      chosen_(kPartitionCount, nullptr) {
  // A page shows only rows after its cursor, whatever a server sends.
  absl::StatusOr<CursorState> start = DecodeCursor(cursor_);
  absl::StatusOr<QueryEngine::Subscription> s =
      cursor_.empty() ? engine_.Subscribe(query_, std::move(callback))
                      : engine_.SubscribeAfter(query_, *start, std::move(callback));
  SG_ASSERT(s.ok());  // GridClient::Subscribe validated the query and the cursor.
  engine_id_ = s->id;
}

Coverage MergedQuery::Choose(const Coverage& which) {
  Coverage moved;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (!which[p]) continue;
    const Source* best = nullptr;
    for (const auto& [server, source] : sources_) {  // Server id order: the first wins ties.
      if (!source.covered[p]) continue;
      if (best == nullptr || source.table_version > best->table_version) best = &source;
    }
    // The partition's rows now come from another server (its owner changed).
    if (chosen_[p] != nullptr && best != nullptr && best != chosen_[p]) {
      SG_PROBE("query.partition_moved_between_servers");
    }
    moved[p] = best != chosen_[p];
    chosen_[p] = best;
  }
  return moved;
}

void MergedQuery::Show(const RowId& id) {
  const Source* source = Chosen(PartitionOf(id.first));
  const Document* doc = nullptr;
  if (source != nullptr) {
    auto r = source->rows.find(id);
    if (r != source->rows.end()) doc = &r->second;
  }
  auto it = shown_.find(id);
  const auto tag_of = [](const auto& entry) {
    return entry.first.second ? &*entry.first.second : nullptr;
  };
  if (doc == nullptr) {
    if (it == shown_.end()) return;
    engine_.RemoveRow(it->second.handle, it->first.first, tag_of(*it), it->second.doc);
    shown_.erase(it);
    return;
  }
  if (it == shown_.end()) {
    it = shown_.emplace(id, Row{*doc, 0}).first;
    it->second.handle =
        engine_.InsertRow(it->first.first, tag_of(*it), &it->second.doc, kNoDeadline);
    return;
  }
  if (it->second.doc == *doc) return;
  Document old = std::exchange(it->second.doc, *doc);
  engine_.UpdateRow(it->second.handle, old, &it->second.doc, kNoDeadline);
}

std::vector<MergedQuery::RowId> MergedQuery::Differences(const std::map<RowId, Document>& before,
                                                         const std::map<RowId, Document>& after) {
  std::vector<RowId> changed;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      changed.push_back((b++)->first);  // gone
    } else if (b == before.end() || a->first < b->first) {
      changed.push_back((a++)->first);  // new
    } else {
      if (!(b->second == a->second)) changed.push_back(a->first);  // updated
      ++a;
      ++b;
    }
  }
  return changed;
}

std::vector<MergedQuery::RowId> MergedQuery::Take(const msg::MapRecords& rows,
                                                  Source& source) const {
  // Records in an OR subscription's update, or OR items in another's, are not this query's rows.
  if (or_rows_ ? !rows.lww.empty() : !rows.or_keys.empty()) {
    SG_PROBE("query.rows_of_another_kind_ignored");
  }
  std::vector<RowId> touched;
  if (!or_rows_) {
    for (const msg::LwwEntry& e : rows.lww) {
      if (!source.covered[PartitionOf(e.key)]) continue;
      RowId id{e.key, std::nullopt};
      if (e.record.tombstone()) {
        source.rows.erase(id);
      } else {
        source.rows[id] = *e.record.value;
      }
      touched.push_back(std::move(id));
    }
    return touched;
  }
  for (const msg::OrKeyState& k : rows.or_keys) {
    if (!source.covered[PartitionOf(k.key)]) continue;
    for (const Timestamp& tag : k.tombstones) {
      source.rows.erase(RowId{k.key, tag});
      touched.emplace_back(k.key, tag);
    }
    for (const OrRecord& item : k.items) {
      source.rows[RowId{k.key, item.tag}] = item.value;
      touched.emplace_back(k.key, item.tag);
    }
  }
  return touched;
}

bool MergedQuery::Apply(const NodeId& server, const msg::QueryUpdate& u) {
  Source& source = sources_[server];
  if (u.seq == 0) {
    if (source.epoch != 0 && u.epoch <= source.epoch) {
      SG_PROBE("query.stale_snapshot_ignored");
      return false;  // Old or duplicate.
    }
    const Coverage old_covered = source.covered;
    const std::map<RowId, Document> old_rows = std::exchange(source.rows, {});
    source = Source{u.epoch, 0, u.table_version, {}, {}};
    for (uint32_t p : u.partitions) source.covered.set(p);
    (void)Take(u.rows, source);
    // Only this source changed, so only partitions it covered before or covers now may change
    // hands. Its rows that came, went or changed may show differently, and every row of a
    // partition that changed hands; no other row can.
    const Coverage moved = Choose(old_covered | source.covered);
    std::vector<RowId> ids = Differences(old_rows, source.rows);
    if (moved.any()) {
      absl::btree_set<RowId> all(ids.begin(), ids.end());
      const auto add_moved = [&](const RowId& id) {
        if (moved[PartitionOf(id.first)]) all.insert(id);
      };
      for (const auto& [id, row] : shown_) add_moved(id);
      for (const auto& [name, s] : sources_) {
        for (const auto& [id, doc] : s.rows) add_moved(id);
      }
      ids.assign(all.begin(), all.end());
    }
    for (const RowId& id : ids) Show(id);
    return true;
  }
  if (u.epoch != source.epoch || u.seq != source.seq + 1) {
    SG_PROBE("query.delta_out_of_order_ignored");  // The next refresh resyncs.
    return false;
  }
  source.seq = u.seq;
  for (const RowId& id : Take(u.rows, source)) Show(id);
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
