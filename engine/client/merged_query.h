// MergedQuery: a grid client's view of one live query, merged from every server's stream.
//
// Each server streams its part of the result (the rows of the partitions it covers; with a
// limit, its own top N) as QueryUpdates: a snapshot (seq 0) under a new epoch, then deltas of
// that epoch in seq order (grid_queries.h). For every partition the client takes the rows of
// the server covering it under the newest partition table (ties: the smallest server id), so a
// failed or former owner's rows give way to the new owner's. The merged rows feed a QueryEngine
// running the same query, whose live deltas (ENTER / UPDATE / LEAVE, in result order with the
// global limit) are the subscriber's stream: a resync shows up as the deltas between the old
// and the new result, never as a silent gap.
//
// A delta that does not follow its epoch (lost, reordered) marks the server's stream stale: its
// later deltas are ignored until a new snapshot, which the client's next refresh asks for by
// reporting Known() marks the server does not match. Duplicates and older snapshots are ignored.
#ifndef SEEDGRID_ENGINE_CLIENT_MERGED_QUERY_H_
#define SEEDGRID_ENGINE_CLIENT_MERGED_QUERY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/cluster/grid_queries.h"
#include "engine/query/query_engine.h"
#include "engine/wire/messages.h"

namespace seedgrid {

// The instance id of every grid cursor (GridClient::NextCursor): a grid cursor is bound to its
// query and position, not to a server or engine instance ("gridcurs").
inline constexpr uint64_t kGridCursorInstance = 0x6772696463757273;

class MergedQuery {
 public:
  // `callback` receives the merged result's deltas; `clock` must outlive this. `cursor`: a page
  // after it (the servers send only rows after its position; validated by the caller).
  // `or_rows`: the rows are the map's OR items, one per (key, tag).
  MergedQuery(Clock& clock, std::string map, Query query, QueryEngine::DeltaCallback callback,
              std::string cursor = {}, bool or_rows = false);
  MergedQuery(const MergedQuery&) = delete;
  MergedQuery& operator=(const MergedQuery&) = delete;

  const std::string& map() const { return map_; }
  const Query& query() const { return query_; }
  const std::string& cursor() const { return cursor_; }
  bool or_rows() const { return or_rows_; }
  // Applies one server's update; returns false when it was ignored (older epoch, duplicate, or
  // out of sequence: the server's stream is then stale until its next snapshot).
  bool Apply(const NodeId& server, const msg::QueryUpdate& u);
  // (server, epoch, seq) of every stream followed so far, for the refresh.
  std::vector<msg::QueryMark> Known() const;
  // Every partition is covered by some server's stream: Result() is the whole answer.
  bool Complete() const;
  // The merged result in result order (global sort and limit).
  std::vector<RowRef> Result() const;

 private:
  // A row: its key, and its tag for an OR row (nullopt for an LWW record).
  using RowId = std::pair<std::string, std::optional<Timestamp>>;
  struct Source {
    uint64_t epoch = 0;
    uint64_t seq = 0;
    uint64_t table_version = 0;
    Coverage covered;
    std::map<RowId, Document> rows;
  };
  struct Row {
    Document doc;
    RowHandle handle = 0;
  };
  // The source whose rows count for partition p (nullptr: none covers it).
  const Source* Chosen(uint32_t p) const { return chosen_[p]; }
  // Re-decides the chosen source of the partitions in `which` (the others' sources did not
  // change); returns the partitions whose chosen source changed.
  Coverage Choose(const Coverage& which);
  void Show(const RowId& id);
  // The rows whose presence or document differs between `before` and `after` (one source's rows
  // before and after its snapshot), in RowId order.
  static std::vector<RowId> Differences(const std::map<RowId, Document>& before,
                                        const std::map<RowId, Document>& after);
  // Applies one server's rows of an update to `source` (tombstones: rows that left); returns the
  // rows touched.
  std::vector<RowId> Take(const msg::MapRecords& rows, Source& source) const;

  std::string map_;
  Query query_;
  std::string cursor_;
  bool or_rows_ = false;
  QueryEngine engine_;
  SubscriptionId engine_id_ = 0;
  std::map<NodeId, Source> sources_;  // std::map: chosen_ points at the values
  std::vector<const Source*> chosen_;
  std::map<RowId, Row> shown_;  // the merged rows (pointer-stable for the engine)
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLIENT_MERGED_QUERY_H_
