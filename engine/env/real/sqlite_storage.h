// SqliteStorage: the durable Storage, one SQLite database file per node (Debian's libsqlite3),
// the role TopGun's cold-storage adapter plays.
//
// Contract (engine/env/env.h): pages written before the last successful Sync() survive a crash;
// later writes may be lost. Implementation: one table `pages(name BLOB PRIMARY KEY, bytes BLOB)`;
// writes and deletes go into an open transaction that Sync() commits (journal in WAL mode,
// synchronous=FULL, so a committed Sync survives power loss). Closing without Sync() rolls the
// open transaction back, exactly what a crash does. Reads see the node's own unsynced writes.
// List() is in byte-wise name order (BLOB comparison is memcmp).
//
// Errors are absl::Status naming the file and SQLite's message: a file that is not a database, a
// database with a different schema, a full disk. Not thread-safe (one node, one thread).
#ifndef SEEDGRID_ENGINE_ENV_REAL_SQLITE_STORAGE_H_
#define SEEDGRID_ENGINE_ENV_REAL_SQLITE_STORAGE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/env/env.h"

struct sqlite3;
struct sqlite3_stmt;

namespace seedgrid {

class SqliteStorage final : public Storage {
 public:
  // Opens (creating if needed) the database at `path`.
  static absl::StatusOr<std::unique_ptr<SqliteStorage>> Open(const std::string& path);
  ~SqliteStorage() override;
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  absl::Status Write(std::string_view page, std::string_view bytes) override;
  absl::StatusOr<std::string> Read(std::string_view page) override;
  absl::Status Delete(std::string_view page) override;
  // Byte-wise ascending. An SQLite error here (rare: I/O) yields the pages read so far; the error
  // is kept in last_error().
  std::vector<std::string> List() override;
  absl::Status Sync() override;

  const std::string& path() const { return path_; }
  const std::string& last_error() const { return last_error_; }

 private:
  explicit SqliteStorage(std::string path) : path_(std::move(path)) {}
  absl::Status Error(std::string_view what) const;
  absl::Status Exec(const char* sql);
  absl::Status BeginIfNeeded();

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* write_ = nullptr;
  sqlite3_stmt* read_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* list_ = nullptr;
  bool in_transaction_ = false;
  std::string last_error_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_SQLITE_STORAGE_H_
