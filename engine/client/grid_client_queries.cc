// GridClient's live queries (grid_client.h, "Live queries" and "Paging"): subscriptions, pages and
// their cursors, refreshes, and the servers' updates.
#include <fmt/format.h>

#include <algorithm>

#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/client/grid_client.h"
#include "engine/wire/codec.h"

namespace seedgrid {

absl::Status GridClient::CheckCursor(const Query& query, std::string_view cursor) const {
  absl::StatusOr<CursorState> state = DecodeCursor(cursor);
  if (!state.ok()) return state.status();
  if (absl::Status s = QueryEngine::CursorBelongsTo(query, *state); !s.ok()) return s;
  if (state->instance_id != kGridCursorInstance) {
    return absl::FailedPreconditionError(
        "cursor was not issued by a grid client (a single-node engine's?); start paging again");
  }
  const uint64_t now = env_.clock.NowMs();
  if (state->expires_at_ms < now) {
    SG_PROBE("client.cursor_expired");
    return absl::FailedPreconditionError(fmt::format(
        "cursor expired at {} ms, now is {} ms; start paging again", state->expires_at_ms, now));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> GridClient::Subscribe(const std::string& map, Query query,
                                               QueryEngine::DeltaCallback callback,
                                               SubscribeOptions options) {
  if (absl::Status s = Validate(query); !s.ok()) return s;
  if (options_.transport == ClientTransport::kHttp) {
    return absl::FailedPreconditionError(
        "grid client: live queries need the WebSocket transport, not HTTP sync");
  }
  if (callback == nullptr)
    return absl::InvalidArgumentError("grid client: subscribe needs a callback");
  if (!IsWireMapName(map)) {
    return absl::InvalidArgumentError(
        fmt::format("grid client: map name must be 1..{} bytes", kMapNameBytesMax));
  }
  if (!options.cursor.empty()) {
    if (absl::Status s = CheckCursor(query, options.cursor); !s.ok()) {
      return absl::Status(s.code(), fmt::format("grid client: {}", ToStd(s.message())));
    }
  }
  (void)MapOf(map);
  const uint64_t id = next_subscription_++;
  auto sub = std::make_unique<MergedQuery>(env_.clock, map, std::move(query), std::move(callback),
                                           std::move(options.cursor), options.or_rows);
  if (online_) Send(SubscribeMessage(id, *sub, /*cancel=*/false));
  subscriptions_.emplace(id, std::move(sub));
  return id;
}

absl::StatusOr<std::string> GridClient::NextCursor(uint64_t id) const {
  auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) {
    return absl::NotFoundError(fmt::format("grid client: no subscription {}", id));
  }
  const MergedQuery& sub = *it->second;
  if (!sub.query().limit) {
    return absl::FailedPreconditionError(
        "grid client: a query without a limit has one page, and no cursor");
  }
  if (!sub.Complete()) {
    return absl::FailedPreconditionError(
        "grid client: the page is not complete yet (some partition has no server's rows)");
  }
  const std::vector<RowRef> rows = sub.Result();
  if (rows.size() < *sub.query().limit) return std::string();  // The last page.
  CursorState state = QueryEngine::CursorAfter(sub.query(), rows.back());
  state.instance_id = kGridCursorInstance;
  const uint64_t now = env_.clock.NowMs();
  state.expires_at_ms = now + std::min(options_.cursor_ttl_ms, UINT64_MAX - now);
  return EncodeCursor(state);
}

msg::QuerySubscribe GridClient::SubscribeMessage(uint64_t id, const MergedQuery& sub,
                                                 bool cancel) const {
  msg::QuerySubscribe m{id, sub.map(), sub.query(), "", {}, cancel};
  if (!cancel) m.known = sub.Known();
  m.cursor = sub.cursor();
  m.or_rows = sub.or_rows();
  return m;
}

bool GridClient::Unsubscribe(uint64_t id) {
  auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) return false;
  // Best effort: a lost cancel lets the servers' lease run out instead.
  if (online_) Send(SubscribeMessage(id, *it->second, /*cancel=*/true));
  subscriptions_.erase(it);
  return true;
}

void GridClient::RefreshSubscriptions() {
  for (const auto& [id, sub] : subscriptions_) Send(SubscribeMessage(id, *sub, /*cancel=*/false));
}

void GridClient::OnQueryUpdate(const NodeId& from, const msg::QueryUpdate& u) {
  auto it = subscriptions_.find(u.subscription_id);
  if (it == subscriptions_.end() || u.rows.map_name != it->second->map()) {
    ++stats_.query_updates_ignored;  // Unsubscribed; the servers' lease runs out.
    return;
  }
  ++stats_.query_updates;
  if (!it->second->Apply(from, u)) ++stats_.query_updates_ignored;
}

}  // namespace seedgrid
