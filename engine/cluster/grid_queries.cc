#include "engine/cluster/grid_queries.h"

#include <algorithm>
#include <limits>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/cluster/grid_query_views.h"

namespace seedgrid {

namespace {
constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();
}  // namespace

GridQueryHost::GridQueryHost(Clock& clock, const PartitionSlots& partitions)
    : clock_(clock), partitions_(partitions) {}

GridQueryHost::~GridQueryHost() = default;

void GridQueryHost::AddRow(View& v, std::string_view key, const LwwRecord& r) {
  auto [it, inserted] = v.handles.emplace(std::string(key), RowHandle{});
  SG_ASSERT(inserted);
  it->second = v.engine.InsertRow(it->first, nullptr, &*r.value, kNoDeadline);
}

void GridQueryHost::RemoveRow(View& v, std::string_view key, const LwwRecord& old) {
  auto it = v.handles.find(key);
  SG_ASSERT(it != v.handles.end());
  v.engine.RemoveRow(it->second, it->first, nullptr, *old.value);
  v.handles.erase(it);
}

void GridQueryHost::AddPartitionRows(View& v, const std::string& map, uint32_t p) {
  if (partitions_[p] == nullptr) return;
  auto m = partitions_[p]->maps.find(map);
  if (m == partitions_[p]->maps.end()) return;
  for (const auto& [key, record] : m->second->records()) {
    if (!record.tombstone()) AddRow(v, key, record);
  }
}

GridQueryHost::View& GridQueryHost::ViewOf(const std::string& map) {
  auto it = views_.find(map);
  if (it != views_.end()) return *it->second;
  auto view = std::make_unique<View>(clock_);
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (covered_[p]) AddPartitionRows(*view, map, p);
  }
  return *views_.emplace(map, std::move(view)).first->second;
}

QueryEngine& GridQueryHost::AcquireView(const Sub& sub) {
  if (sub.or_rows) {
    OrView& v = OrViewOf(sub.map);
    ++v.subs;
    return v.engine;
  }
  View& v = ViewOf(sub.map);
  ++v.subs;
  return v.engine;
}

void GridQueryHost::ReleaseView(const Sub& sub) {
  if (sub.or_rows) {
    auto v = or_views_.find(sub.map);
    SG_ASSERT(v != or_views_.end());
    if (--v->second->subs == 0) or_views_.erase(v);
    return;
  }
  auto v = views_.find(sub.map);
  SG_ASSERT(v != views_.end());
  if (--v->second->subs == 0) views_.erase(v);
}

void GridQueryHost::OnChange(uint32_t p, const std::string& map, const LwwChange& c) {
  if (!covered_[p]) return;
  auto v = views_.find(map);
  if (v == views_.end()) return;
  View& view = *v->second;
  const bool live = c.new_record != nullptr && !c.new_record->tombstone();
  auto it = view.handles.find(c.key);
  if (it == view.handles.end()) {
    if (live) AddRow(view, c.key, *c.new_record);
    return;
  }
  SG_ASSERT(c.old_record != nullptr && !c.old_record->tombstone());
  if (live) {
    view.engine.UpdateRow(it->second, *c.old_record->value, &*c.new_record->value, kNoDeadline);
  } else {
    RemoveRow(view, c.key, *c.old_record);
  }
}

void GridQueryHost::SetCoverage(const Coverage& covered) {
  if (covered == covered_) return;
  if (!subs_.empty()) SG_PROBE("query.coverage_moved_under_subscriptions");
  for (auto& [name, view] : views_) {
    // Rows of partitions leaving coverage go first (their documents are still alive).
    for (auto it = view->handles.begin(); it != view->handles.end();) {
      if (covered[PartitionOf(it->first)]) {
        ++it;
        continue;
      }
      view->engine.RemoveRow(it->second, it->first, nullptr, *view->engine.Row(it->second).value);
      it = view->handles.erase(it);
    }
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      if (covered[p] && !covered_[p]) AddPartitionRows(*view, name, p);
    }
  }
  for (auto& [name, view] : or_views_) {
    DropUncoveredOrRows(*view, covered);
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      if (covered[p] && !covered_[p]) AddPartitionOrRows(*view, name, p);
    }
  }
  covered_ = covered;
  for (auto& [key, sub] : subs_) {
    sub.needs_snapshot = true;
    MarkDue(key, sub);
  }
}

bool GridQueryHost::Resubscribe(const SubKey& key, Sub& sub) {
  // The engine subscription ends (Unsubscribe) before `sub` is erased: the pointer is live here.
  const auto on_delta = [this, key, s = &sub](const LiveDelta& d) {
    const bool present = d.kind != DeltaKind::kLeave;
    if (d.row.tag != nullptr) {
      s->or_pending[{std::string(d.row.key), *d.row.tag}] = present;
    } else {
      s->pending[std::string(d.row.key)] = present;
    }
    MarkDue(key, *s);
  };
  std::optional<CursorState> start;
  if (!sub.cursor.empty()) {
    // The wire decoder checked the cursor against the query; an in-process caller may not have.
    absl::StatusOr<CursorState> state = DecodeCursor(sub.cursor);
    if (!state.ok() || !QueryEngine::CursorBelongsTo(sub.query, *state).ok()) return false;
    start = std::move(*state);
  }
  QueryEngine& engine = AcquireView(sub);
  absl::StatusOr<QueryEngine::Subscription> s =
      start ? engine.SubscribeAfter(sub.query, *start, on_delta)
            : engine.Subscribe(sub.query, on_delta);
  // The wire decoder validated the query, so the engine accepts it.
  SG_ASSERT(s.ok());
  sub.engine_id = s->id;
  sub.needs_snapshot = true;
  MarkDue(key, sub);
  sub.pending.clear();
  sub.or_pending.clear();
  return true;
}

void GridQueryHost::Unsubscribe(const SubKey& key) {
  auto it = subs_.find(key);
  if (it == subs_.end()) return;
  EngineOf(it->second).Unsubscribe(it->second.engine_id);
  ReleaseView(it->second);
  subs_.erase(it);
  due_.erase(key);
}

void GridQueryHost::OnSubscribe(const NodeId& client, const NodeId& self,
                                const msg::QuerySubscribe& m, uint64_t now_ms) {
  const SubKey key{client, m.subscription_id};
  auto it = subs_.find(key);
  if (m.cancel) {
    Unsubscribe(key);
    return;
  }
  if (it != subs_.end() && (it->second.map != m.map_name || !(it->second.query == m.query) ||
                            it->second.cursor != m.cursor || it->second.or_rows != m.or_rows)) {
    SG_PROBE("query.subscription_id_reused");
    Unsubscribe(key);  // The client reused the id for another query (a restarted client).
    it = subs_.end();
  }
  if (it == subs_.end()) {
    if (subs_.size() >= kSubscriptionsMax) {
      SG_PROBE("query.subscription_refused");
      ++stats_.subscriptions_refused;
      return;
    }
    it = subs_.emplace(key, Sub{m.map_name, m.query, m.cursor, m.or_rows}).first;
    if (!Resubscribe(key, it->second)) {
      SG_PROBE("query.page_cursor_refused");
      ++stats_.subscriptions_refused;
      subs_.erase(it);
      return;
    }
  } else {
    // A refresh: resync when the client is on another epoch, or still lacks an update this
    // server had sent by the previous refresh (one refresh interval is the bound on "in flight";
    // anything later may still be on its way).
    Sub& sub = it->second;
    const auto mark = std::find_if(m.known.begin(), m.known.end(),
                                   [&](const msg::QueryMark& k) { return k.server == self; });
    if (mark == m.known.end() || mark->epoch != sub.epoch || mark->seq > sub.seq ||
        mark->seq < sub.seq_at_refresh) {
      SG_PROBE("query.live_resync");  // The client missed an update or has another epoch.
      sub.needs_snapshot = true;
      MarkDue(key, sub);
    }
  }
  it->second.refreshed_ms = now_ms;
  it->second.seq_at_refresh = it->second.seq;
}

void GridQueryHost::Expire(uint64_t now_ms, uint64_t lease_ms) {
  std::vector<SubKey> expired;
  for (const auto& [key, sub] : subs_) {
    if (now_ms - std::min(now_ms, sub.refreshed_ms) > lease_ms) expired.push_back(key);
  }
  for (const SubKey& key : expired) {
    SG_PROBE("query.subscription_lease_expired");
    Unsubscribe(key);
    ++stats_.expired;
  }
}

std::vector<std::pair<NodeId, msg::QueryUpdate>> GridQueryHost::TakeUpdates(
    uint64_t table_version, const std::function<uint64_t()>& next_epoch,
    const Timestamp& leave_stamp) {
  std::vector<std::pair<NodeId, msg::QueryUpdate>> out;
  for (const SubKey& key : due_) {
    auto found = subs_.find(key);
    SG_ASSERT(found != subs_.end());
    Sub& sub = found->second;
    SG_ASSERT(sub.due);  // MarkDue is the only way in
    sub.due = false;
    if (!sub.needs_snapshot && sub.pending.empty() && sub.or_pending.empty()) continue;
    msg::QueryUpdate u;
    u.subscription_id = key.second;
    u.table_version = table_version;
    u.rows.map_name = sub.map;
    const auto record_of = [&](std::string_view k) -> const LwwRecord* {
      const GridPartition* part = partitions_[PartitionOf(k)].get();
      if (part == nullptr) return nullptr;
      auto m = part->maps.find(sub.map);
      return m == part->maps.end() ? nullptr : m->second->GetRecord(k);
    };
    if (sub.needs_snapshot) {
      sub.epoch = next_epoch();
      sub.seq = 0;
      sub.seq_at_refresh = 0;
      for (uint32_t p = 0; p < kPartitionCount; ++p) {
        if (covered_[p]) u.partitions.push_back(p);
      }
      if (sub.or_rows) {
        FillOrRows(sub, /*snapshot=*/true, u.rows);
      } else {
        absl::StatusOr<std::vector<RowRef>> rows = EngineOf(sub).LiveResult(sub.engine_id);
        SG_ASSERT(rows.ok());
        for (const RowRef& r : *rows) {
          const LwwRecord* record = record_of(r.key);
          SG_ASSERT(record != nullptr);
          u.rows.lww.push_back({std::string(r.key), *record});
        }
      }
      ++stats_.snapshots_sent;
    } else {
      ++sub.seq;
      if (sub.or_rows) FillOrRows(sub, /*snapshot=*/false, u.rows);
      for (const auto& [k, present] : sub.pending) {
        const LwwRecord* record = present ? record_of(k) : nullptr;
        if (record != nullptr && !record->tombstone()) {
          u.rows.lww.push_back({k, *record});
        } else {
          u.rows.lww.push_back({k, LwwRecord{std::nullopt, leave_stamp, std::nullopt}});
        }
      }
      ++stats_.deltas_sent;
    }
    u.epoch = sub.epoch;
    u.seq = sub.seq;
    sub.needs_snapshot = false;
    sub.pending.clear();
    sub.or_pending.clear();
    out.emplace_back(key.first, std::move(u));
  }
  due_.clear();
  return out;
}

Effects GridQueryHost::Route(const NodeId& from, const msg::QuerySubscribe& m,
                             const Membership& membership, uint64_t now_ms) {
  Effects out;
  const PartitionTable& table = membership.table();
  if (table.empty()) return out;
  NodeId client = m.requester;
  if (client.empty()) {
    // From the client: this server is its gateway; every other member serves it too.
    client = from;
    msg::QuerySubscribe forward = m;
    forward.requester = from;
    for (const NodeId& member : table.members()) {
      if (member != membership.self()) out.Send(member, forward);
    }
  }
  FollowCoverage(membership, /*readiness_due=*/false);
  OnSubscribe(client, membership.self(), m, now_ms);
  return out;
}

void GridQueryHost::FollowCoverage(const Membership& membership, bool readiness_due) {
  const PartitionTable& table = membership.table();
  auto signature = std::make_tuple(table.version(), table.author(), membership.not_ready_count());
  if (signature == coverage_signature_) return;
  const bool same_table = std::get<0>(signature) == std::get<0>(coverage_signature_) &&
                          std::get<1>(signature) == std::get<1>(coverage_signature_);
  if (same_table && std::get<2>(signature) != 0 && !readiness_due) {
    SG_PROBE("query.coverage_change_deferred");  // Until the tick or the last pull.
    return;
  }
  coverage_signature_ = std::move(signature);
  Coverage covered;
  for (uint32_t p = 0; p < kPartitionCount && !table.empty(); ++p) {
    covered[p] = membership.owns(p) && membership.ready(p);
  }
  SetCoverage(covered);
}

Effects GridQueryHost::Flush(const Membership& membership, Hlc& hlc, bool readiness_due) {
  Effects out;
  if (subscriptions() == 0) return out;
  FollowCoverage(membership, readiness_due);
  auto updates = TakeUpdates(
      membership.table().version(),
      [&hlc] {
        const Timestamp t = hlc.Now();
        return (t.millis << 16) | (t.counter & 0xffff);
      },
      hlc.last());
  for (auto& [client, update] : updates) out.Send(client, std::move(update));
  return out;
}

}  // namespace seedgrid
