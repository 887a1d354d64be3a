// SqliteStorage: the durable Storage, one SQLite database file per node (Debian's libsqlite3),
// the role TopGun's cold-storage adapter plays.
//
// Contract (engine/env/env.h): pages written before the last successful Sync() survive a crash;
// later writes may be lost. Reads see the node's own unsynced writes. List() is in byte-wise name
// order. Closing without Sync() loses the unsynced writes, exactly what a crash does.
//
// Layout (format 2, `PRAGMA user_version = 2`): an append-only log, `log(id INTEGER PRIMARY KEY,
// name BLOB, bytes BLOB)`. A write appends a row; a delete appends a row with NULL bytes; a page is
// its newest row. Why not one row per page (format 1, `pages(name PRIMARY KEY, bytes)`): a grid
// server writes one page per applied record under names that are random to the B-tree, so every
// write dirtied its own 4 KiB leaf and each commit wrote (and each WAL checkpoint copied) about a
// leaf per op — 75 % of a server's time in the loopback bench (docs/performance.md). Appends dirty
// only the rightmost leaves: a few hundred bytes per op.
// The index (name -> newest row id) lives in memory, rebuilt by one scan on Open(); superseded rows
// and delete markers are "dead" and removed by compaction, which runs inside Sync()'s transaction,
// in ascending id order, a bounded slice per Sync() (so a crash between slices leaves a log that
// still reads correctly: a delete marker outlives every older row of its name). Compaction starts
// when dead rows outnumber live pages (and there are at least Options::compact_min_dead), so the
// file stays under about twice the live data. Row ids are assigned here, increasing for the
// object's lifetime, never reused after a rollback. A transaction that SQLite rolled back by itself
// (a full disk, an I/O error) is detected and the index rebuilt from the file. Format-1 databases
// are converted on Open(), in one transaction.
//
// Durability: journal in WAL mode, synchronous=FULL, so a committed Sync survives power loss.
// Errors are absl::Status naming the file and SQLite's message: a file that is not a database, a
// database with a different schema or a newer format, a full disk. Memory: the index holds every
// live page name (~90 bytes per page) and 8 bytes per dead row. Not thread-safe (one node, one
// thread).
#ifndef SEEDGRID_ENGINE_ENV_REAL_SQLITE_STORAGE_H_
#define SEEDGRID_ENGINE_ENV_REAL_SQLITE_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/env/env.h"

struct sqlite3;
struct sqlite3_stmt;

namespace seedgrid {

class SqliteStorage final : public Storage {
 public:
  struct Options {
    // Compaction starts when dead rows outnumber live pages and are at least this many.
    uint64_t compact_min_dead = 4096;
    // Each Sync() removes at most max(this, 2 x the rows it appended) dead rows.
    uint64_t compact_slice_min = 4096;
  };

  struct Stats {
    uint64_t live_pages = 0;
    uint64_t dead_rows = 0;            // superseded rows and delete markers still in the file
    uint64_t compacted_rows = 0;       // removed since Open()
    uint64_t rebuilds = 0;             // index rebuilt after SQLite rolled a transaction back
    uint64_t compaction_failures = 0;  // slices undone (their savepoint), writes committed
  };

  // Opens (creating if needed) the database at `path`.
  static absl::StatusOr<std::unique_ptr<SqliteStorage>> Open(const std::string& path,
                                                             Options options);
  static absl::StatusOr<std::unique_ptr<SqliteStorage>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~SqliteStorage() override;
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  absl::Status Write(std::string_view page, std::string_view bytes) override;
  absl::StatusOr<std::string> Read(std::string_view page) override;
  absl::Status Delete(std::string_view page) override;
  std::vector<std::string> List() override;  // byte-wise ascending, from the index
  absl::Status Sync() override;

  // Runs compaction to the end now, in its own commit (tests, and a node about to stop).
  absl::Status CompactAll();

  const std::string& path() const { return path_; }
  Stats stats() const;

 private:
  SqliteStorage(std::string path, Options options) : path_(std::move(path)), options_(options) {}
  absl::Status Error(std::string_view what) const;
  absl::Status Exec(const char* sql);
  absl::Status Prepare();
  absl::Status UpgradeFormat();
  absl::Status LoadIndex();
  absl::Status BeginIfNeeded();
  absl::Status Append(std::string_view page, std::string_view bytes, bool erased, int64_t& id);
  absl::Status CompactSlice(uint64_t budget);
  absl::Status CommitTransaction();  // REQUIRES: in_transaction_
  // After a failed statement: if SQLite rolled the open transaction back, rebuild the index.
  absl::Status Failed(absl::Status error);
  // OK unless a rebuild failed and retrying it fails again.
  absl::Status Usable();
  static constexpr uint32_t kCompactionPauseSyncs = 64;  // after a failed slice

  std::string path_;
  Options options_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* append_ = nullptr;
  sqlite3_stmt* read_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  bool in_transaction_ = false;

  absl::flat_hash_map<std::string, int64_t> live_;  // page -> id of its newest row
  std::vector<int64_t> dead_;                       // rows to remove, in no order
  std::vector<int64_t> compacting_;                 // the running pass, descending (pop_back)
  int64_t next_id_ = 1;
  uint64_t appended_since_sync_ = 0;
  uint64_t compacted_rows_ = 0;
  uint64_t rebuilds_ = 0;
  uint64_t compaction_failures_ = 0;
  uint32_t compaction_paused_syncs_ = 0;
  absl::Status broken_;  // a failed rebuild: the index is partial
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_SQLITE_STORAGE_H_
