// PartitionStore: a grid server's pages — every page name made and parsed here — written
// through the PageStore (engine/env/page_store.h), the storage-error policy shared by every node.
//
// Pages: "H.1" and "H.2" the HLC (a twin page, engine/env/twin_page.h; "H" before 2026-12);
// "R/<p>/<len>/<map>/<key>" one record (a record page, engine/wire/packed_record.h; an encoded
// PartitionState before 2026-12-03, still read); "C/<p>/<len>/<map>/<key>" one
// PN-Counter, every writer's totals (an encoded PartitionState); "OI/<p>/<len>/<map>/<len>/<key>/
// <tag>" one OR-Map item and "OT/<p>/<len>/<map>/<len>/<key>/<tag>" one OR tombstone (each an
// encoded PartitionState of one OR entry holding just it); "A/<p>/<client>" an applied mark;
// "W/<p>" a partition's GC watermark. Length-prefixed parts, so no map name or key can collide.
// OR entries are stored item by item, never whole: only an unsynced write can tear, and a page
// holding a whole entry would take its old, acknowledged items with it. The whole-entry pages
// "OR/<p>/<len>/<map>/<key>" of builds before 2026-12-02 are restored, rewritten item by item and
// erased.
//
// Contract. Writes are remembered until Sync() succeeds (PageStore). Sync() writes the HLC page
// and syncs when anything is pending; it returns OK only when everything written so far is
// durable. A caller acknowledges nothing it wrote until a Sync() after the write returned OK.
// Restore() reads storage directly, in page order; a page that does not decode (a torn, i.e.
// unsynced, write) is erased and counted.
#ifndef SEEDGRID_ENGINE_CLUSTER_PARTITION_STORE_H_
#define SEEDGRID_ENGINE_CLUSTER_PARTITION_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/cluster/grid_partition.h"
#include "engine/crdt/lww_map.h"
#include "engine/env/page_store.h"
#include "engine/env/twin_page.h"
#include "engine/hlc/hlc.h"

namespace seedgrid {

class PartitionStore {
 public:
  PartitionStore(Storage& storage, NodeId self) : pages_(storage), self_(std::move(self)) {}

  void PutRecord(uint32_t p, std::string_view map, std::string_view key, const LwwRecord& record);
  void EraseRecord(uint32_t p, std::string_view map, std::string_view key);
  void PutCounter(uint32_t p, std::string_view map, std::string_view key, const PnState& state);
  // The pages of OR entry map/key that changed from `old_entry` to `new_entry` (null: none).
  void PutOrChange(uint32_t p, std::string_view map, std::string_view key, const OrEntry* old_entry,
                   const OrEntry* new_entry);
  void PutMark(uint32_t p, std::string_view client, uint64_t seq);
  void PutWatermark(uint32_t p, uint64_t w);
  // Erases the record, counter, OR and watermark pages of a held partition; its applied marks stay
  // (PartitionSet::Drop).
  void ErasePartition(uint32_t p, const GridPartition& part);
  // OK when everything written so far is durable (no storage call when nothing is pending).
  absl::Status Sync(const Hlc& hlc);

  // What Restore() found: the HLC first, then page by page in page order (A, C, OI, OR, OT, R, W);
  // `record` gets the state of one record, one counter or one OR entry.
  struct RestoreSink {
    std::function<void(uint32_t p, const std::string& client, uint64_t seq)> mark;
    std::function<bool(std::string_view hlc_bytes)> hlc;  // false: the page does not decode
    std::function<void(const msg::PartitionState& record)> record;
    std::function<void(uint32_t p, uint64_t w)> watermark;
  };
  // Reads every page; returns how many torn pages were erased, or a read error.
  absl::StatusOr<uint64_t> Restore(const RestoreSink& sink);

  bool dirty() const { return pages_.dirty(); }
  // A write or sync failed and no Sync() has succeeded since (PageStore::failed()).
  bool failed() const { return pages_.failed(); }
  const StorageStats& stats() const { return pages_.stats(); }

 private:
  bool RestorePage(const std::string& page, const std::string& bytes, const RestoreSink& sink);
  void PutOrPart(uint32_t p, std::string_view map, std::string_view key, const Timestamp& tag,
                 const OrItem* item);  // null: a tombstone
  void RewriteLegacyOrPage(const std::string& page, const msg::PartitionState& state);

  PageStore pages_;
  TwinPage hlc_page_{"H"};  // twin_page.h: no torn write rolls the clock back
  NodeId self_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_PARTITION_STORE_H_
