#include "engine/env/real/sqlite_storage.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>

#include "engine/base/strings.h"

namespace seedgrid {

namespace {

constexpr int kFormat = 2;  // PRAGMA user_version: 0 new or format 1 (`pages`), 2 the log

// Resets a prepared statement on every exit path.
struct Reset {
  sqlite3_stmt* stmt;
  ~Reset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

void BindBlob(sqlite3_stmt* stmt, int column, std::string_view bytes) {
  // A zero-length BLOB must not bind as NULL (NULL bytes mean "erased").
  sqlite3_bind_blob64(stmt, column, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_STATIC);
}

std::string_view ColumnBlob(sqlite3_stmt* stmt, int column) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  return {data ? data : "", static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

}  // namespace

absl::Status SqliteStorage::Error(std::string_view what) const {
  return absl::InternalError(
      fmt::format("storage {}: {}: {}", path_, what, db_ ? sqlite3_errmsg(db_) : "not open"));
}

absl::Status SqliteStorage::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return absl::InternalError(fmt::format("storage {}: '{}': {}", path_, sql, text));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const std::string& path,
                                                                   Options options) {
  std::unique_ptr<SqliteStorage> s(new SqliteStorage(path, options));
  if (sqlite3_open_v2(path.c_str(), &s->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    return s->Error("cannot open");
  }
  // 64 MiB of page cache: compaction walks the whole file in id order once per pass.
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA cache_size=-65536"}) {
    if (absl::Status st = s->Exec(sql); !st.ok()) return st;
  }
  if (absl::Status st = s->UpgradeFormat(); !st.ok()) return st;
  if (absl::Status st = s->Prepare(); !st.ok()) return st;
  if (absl::Status st = s->LoadIndex(); !st.ok()) return st;
  return s;
}

// Creates the log, or converts a format-1 `pages` table into it, in one transaction.
absl::Status SqliteStorage::UpgradeFormat() {
  sqlite3_stmt* version = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &version, nullptr) != SQLITE_OK) {
    return Error("reading the format");
  }
  int format = 0;
  if (sqlite3_step(version) == SQLITE_ROW) format = sqlite3_column_int(version, 0);
  sqlite3_finalize(version);
  if (format == kFormat) return absl::OkStatus();
  if (format > kFormat) {
    return absl::FailedPreconditionError(fmt::format(
        "storage {}: format {} was written by a newer seedgrid (this one reads format {})", path_,
        format, kFormat));
  }
  if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
  absl::Status s = Exec(
      "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, name BLOB NOT NULL, bytes BLOB)");
  sqlite3_stmt* find = nullptr;
  bool has_pages = false;
  if (s.ok() && sqlite3_prepare_v2(db_,
                                   "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                   "name = 'pages'",
                                   -1, &find, nullptr) == SQLITE_OK) {
    has_pages = sqlite3_step(find) == SQLITE_ROW;
  }
  sqlite3_finalize(find);
  if (s.ok() && has_pages) {
    s = Exec("INSERT INTO log (name, bytes) SELECT name, bytes FROM pages ORDER BY name");
    if (s.ok()) s = Exec("DROP TABLE pages");
  }
  // A build before format 2 would create an empty `pages` table beside the log and serve an empty
  // store; a view of that name makes it refuse the file instead ("unexpected schema").
  if (s.ok()) {
    s = Exec(
        "CREATE VIEW pages AS SELECT CAST('format 2: use a newer seedgrid' AS BLOB) AS name, "
        "NULL AS bytes");
  }
  if (s.ok()) s = Exec("PRAGMA user_version = 2");
  if (s.ok()) return Exec("COMMIT");
  (void)Exec("ROLLBACK");
  return s;
}

absl::Status SqliteStorage::Prepare() {
  const auto prepare = [&](const char* sql, sqlite3_stmt** out) {
    return sqlite3_prepare_v2(db_, sql, -1, out, nullptr) == SQLITE_OK;
  };
  if (!prepare("INSERT INTO log (id, name, bytes) VALUES (?1, ?2, ?3)", &append_) ||
      !prepare("SELECT bytes FROM log WHERE id = ?1", &read_) ||
      !prepare("DELETE FROM log WHERE id = ?1", &remove_)) {
    return Error("the log table has an unexpected schema");
  }
  return absl::OkStatus();
}

// One scan in id order: a page is its newest row; older rows and delete markers are dead.
absl::Status SqliteStorage::LoadIndex() {
  live_.clear();
  dead_.clear();
  compacting_.clear();
  sqlite3_stmt* scan = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT id, name, bytes IS NULL FROM log ORDER BY id", -1, &scan,
                         nullptr) != SQLITE_OK) {
    return Error("scanning the log");
  }
  int rc;
  while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
    const int64_t id = sqlite3_column_int64(scan, 0);
    const std::string_view name = ColumnBlob(scan, 1);
    const bool erased = sqlite3_column_int(scan, 2) != 0;
    next_id_ = std::max(next_id_, id + 1);
    auto it = live_.find(ToAbsl(name));
    if (it != live_.end()) {
      dead_.push_back(it->second);
      if (erased) {
        live_.erase(it);
      } else {
        it->second = id;
      }
    } else if (!erased) {
      live_.emplace(std::string(name), id);
    }
    if (erased) dead_.push_back(id);
  }
  sqlite3_finalize(scan);
  if (rc != SQLITE_DONE) return Error("scanning the log");
  return absl::OkStatus();
}

SqliteStorage::~SqliteStorage() {
  if (in_transaction_) (void)Exec("ROLLBACK");  // Unsynced writes are lost, as in a crash.
  for (sqlite3_stmt* stmt : {append_, read_, remove_}) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status SqliteStorage::BeginIfNeeded() {
  if (in_transaction_) return absl::OkStatus();
  if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
  in_transaction_ = true;
  return absl::OkStatus();
}

absl::Status SqliteStorage::Failed(absl::Status error) {
  if (in_transaction_ && sqlite3_get_autocommit(db_)) {  // SQLite rolled the transaction back
    in_transaction_ = false;
    ++rebuilds_;
    // A partial index would take a missing page for an erased one: until a rebuild succeeds,
    // every call fails (Usable() retries it).
    broken_ = LoadIndex();
    if (!broken_.ok()) return broken_;
  }
  return error;
}

absl::Status SqliteStorage::Usable() {
  if (broken_.ok()) return absl::OkStatus();
  broken_ = LoadIndex();
  return broken_;
}

absl::Status SqliteStorage::Append(std::string_view page, std::string_view bytes, bool erased,
                                   int64_t& id) {
  if (absl::Status s = BeginIfNeeded(); !s.ok()) return s;
  Reset reset{append_};
  id = next_id_++;
  sqlite3_bind_int64(append_, 1, id);
  sqlite3_bind_blob64(append_, 2, page.data(), page.size(), SQLITE_STATIC);
  if (erased) {
    sqlite3_bind_null(append_, 3);
  } else {
    BindBlob(append_, 3, bytes);
  }
  if (sqlite3_step(append_) != SQLITE_DONE) {
    return Failed(Error(fmt::format("{} of '{}'", erased ? "delete" : "write", page)));
  }
  ++appended_since_sync_;
  return absl::OkStatus();
}

absl::Status SqliteStorage::Write(std::string_view page, std::string_view bytes) {
  if (page.empty()) return absl::InvalidArgumentError("storage: page name must not be empty");
  if (absl::Status s = Usable(); !s.ok()) return s;
  int64_t id = 0;
  if (absl::Status s = Append(page, bytes, /*erased=*/false, id); !s.ok()) return s;
  auto [it, inserted] = live_.try_emplace(ToAbsl(page), id);
  if (!inserted) {
    dead_.push_back(it->second);
    it->second = id;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteStorage::Read(std::string_view page) {
  if (absl::Status s = Usable(); !s.ok()) return s;
  auto it = live_.find(ToAbsl(page));
  if (it == live_.end()) return absl::NotFoundError(fmt::format("storage: no page '{}'", page));
  Reset reset{read_};
  sqlite3_bind_int64(read_, 1, it->second);
  if (sqlite3_step(read_) != SQLITE_ROW) return Failed(Error(fmt::format("read of '{}'", page)));
  return std::string(ColumnBlob(read_, 0));
}

absl::Status SqliteStorage::Delete(std::string_view page) {
  if (absl::Status s = Usable(); !s.ok()) return s;
  auto it = live_.find(ToAbsl(page));
  if (it == live_.end()) return absl::OkStatus();  // Nothing to erase.
  int64_t id = 0;
  if (absl::Status s = Append(page, "", /*erased=*/true, id); !s.ok()) return s;
  // `it` is still valid: a successful Append does not touch the index.
  dead_.push_back(it->second);
  dead_.push_back(id);
  live_.erase(it);
  return absl::OkStatus();
}

std::vector<std::string> SqliteStorage::List() {
  std::vector<std::string> names;
  names.reserve(live_.size());
  for (const auto& [name, id] : live_) names.push_back(name);
  std::sort(names.begin(), names.end());  // std::string compares as unsigned bytes
  return names;
}

// Removes up to `budget` dead rows in ascending id order, starting a pass when enough are dead.
// Inside the open transaction. Order matters: a delete marker goes only after (or with) every
// older row of its name, so a crash after any committed slice still reads correctly.
absl::Status SqliteStorage::CompactSlice(uint64_t budget) {
  if (compacting_.empty()) {
    if (dead_.size() < options_.compact_min_dead || dead_.size() <= live_.size())
      return absl::OkStatus();
    compacting_.swap(dead_);
    std::sort(compacting_.begin(), compacting_.end(), std::greater<>());
  }
  if (absl::Status s = BeginIfNeeded(); !s.ok()) return s;
  // In a savepoint: a slice that fails is undone alone, and the writes still commit.
  if (absl::Status s = Exec("SAVEPOINT compaction"); !s.ok()) return Failed(s);
  size_t done = 0;
  for (; done < budget && done < compacting_.size(); ++done) {
    Reset reset{remove_};
    sqlite3_bind_int64(remove_, 1, compacting_[compacting_.size() - 1 - done]);
    if (sqlite3_step(remove_) != SQLITE_DONE) break;
  }
  if (done < budget && done < compacting_.size()) {
    const absl::Status error = Error("compaction");
    if (sqlite3_get_autocommit(db_)) return Failed(error);  // SQLite undid the transaction too.
    (void)Exec("ROLLBACK TO compaction");
    (void)Exec("RELEASE compaction");
    ++compaction_failures_;
    compaction_paused_syncs_ = kCompactionPauseSyncs;  // Not again at once: the writes go first.
    return absl::OkStatus();
  }
  if (absl::Status s = Exec("RELEASE compaction"); !s.ok()) return Failed(s);
  compacting_.resize(compacting_.size() - done);
  compacted_rows_ += done;
  return absl::OkStatus();
}

absl::Status SqliteStorage::Sync() {
  if (absl::Status s = Usable(); !s.ok()) return s;
  if (!in_transaction_) return absl::OkStatus();
  const uint64_t budget = std::max(options_.compact_slice_min, 2 * appended_since_sync_);
  if (compaction_paused_syncs_ > 0) {
    --compaction_paused_syncs_;
  } else if (absl::Status s = CompactSlice(budget); !s.ok()) {
    compaction_paused_syncs_ = kCompactionPauseSyncs;  // The rewrite after it must get through.
    return s;
  }
  return CommitTransaction();
}

absl::Status SqliteStorage::CommitTransaction() {
  if (absl::Status s = Exec("COMMIT"); !s.ok()) return Failed(s);
  in_transaction_ = false;
  appended_since_sync_ = 0;
  return absl::OkStatus();
}

absl::Status SqliteStorage::CompactAll() {
  if (compacting_.empty() && dead_.empty()) return Sync();
  compacting_.insert(compacting_.end(), dead_.begin(), dead_.end());
  dead_.clear();
  std::sort(compacting_.begin(), compacting_.end(), std::greater<>());
  if (absl::Status s = CompactSlice(compacting_.size()); !s.ok()) return s;
  return in_transaction_ ? CommitTransaction() : absl::OkStatus();
}

SqliteStorage::Stats SqliteStorage::stats() const {
  return Stats{live_.size(), dead_.size() + compacting_.size(), compacted_rows_, rebuilds_,
               compaction_failures_};
}

}  // namespace seedgrid
