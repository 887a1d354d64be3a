#include "engine/env/real/sqlite_storage.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace seedgrid {

namespace {
// Resets a prepared statement on every exit path.
struct Reset {
  sqlite3_stmt* stmt;
  ~Reset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};
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

absl::StatusOr<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const std::string& path) {
  std::unique_ptr<SqliteStorage> s(new SqliteStorage(path));
  if (sqlite3_open_v2(path.c_str(), &s->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    return s->Error("cannot open");
  }
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "CREATE TABLE IF NOT EXISTS pages (name BLOB PRIMARY KEY, bytes BLOB NOT NULL) "
        "WITHOUT ROWID"}) {
    if (absl::Status st = s->Exec(sql); !st.ok()) return st;
  }
  const auto prepare = [&](const char* sql, sqlite3_stmt** out) {
    return sqlite3_prepare_v2(s->db_, sql, -1, out, nullptr) == SQLITE_OK;
  };
  if (!prepare("INSERT OR REPLACE INTO pages (name, bytes) VALUES (?1, ?2)", &s->write_) ||
      !prepare("SELECT bytes FROM pages WHERE name = ?1", &s->read_) ||
      !prepare("DELETE FROM pages WHERE name = ?1", &s->delete_) ||
      !prepare("SELECT name FROM pages ORDER BY name", &s->list_)) {
    return s->Error("the pages table has an unexpected schema");
  }
  return s;
}

SqliteStorage::~SqliteStorage() {
  if (in_transaction_) (void)Exec("ROLLBACK");  // Unsynced writes are lost, as in a crash.
  for (sqlite3_stmt* stmt : {write_, read_, delete_, list_}) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status SqliteStorage::BeginIfNeeded() {
  if (in_transaction_) return absl::OkStatus();
  if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
  in_transaction_ = true;
  return absl::OkStatus();
}

absl::Status SqliteStorage::Write(std::string_view page, std::string_view bytes) {
  if (page.empty()) return absl::InvalidArgumentError("storage: page name must not be empty");
  if (absl::Status s = BeginIfNeeded(); !s.ok()) return s;
  Reset reset{write_};
  sqlite3_bind_blob64(write_, 1, page.data(), page.size(), SQLITE_STATIC);
  // A zero-length BLOB must not bind as NULL (the column is NOT NULL).
  sqlite3_bind_blob64(write_, 2, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_STATIC);
  if (sqlite3_step(write_) != SQLITE_DONE) return Error(fmt::format("write of '{}'", page));
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteStorage::Read(std::string_view page) {
  Reset reset{read_};
  sqlite3_bind_blob64(read_, 1, page.data(), page.size(), SQLITE_STATIC);
  const int rc = sqlite3_step(read_);
  if (rc == SQLITE_DONE) return absl::NotFoundError(fmt::format("storage: no page '{}'", page));
  if (rc != SQLITE_ROW) return Error(fmt::format("read of '{}'", page));
  const auto* data = static_cast<const char*>(sqlite3_column_blob(read_, 0));
  return std::string(data ? data : "", static_cast<size_t>(sqlite3_column_bytes(read_, 0)));
}

absl::Status SqliteStorage::Delete(std::string_view page) {
  if (absl::Status s = BeginIfNeeded(); !s.ok()) return s;
  Reset reset{delete_};
  sqlite3_bind_blob64(delete_, 1, page.data(), page.size(), SQLITE_STATIC);
  if (sqlite3_step(delete_) != SQLITE_DONE) return Error(fmt::format("delete of '{}'", page));
  return absl::OkStatus();
}

std::vector<std::string> SqliteStorage::List() {
  std::vector<std::string> names;
  Reset reset{list_};
  int rc;
  while ((rc = sqlite3_step(list_)) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(list_, 0));
    names.emplace_back(data ? data : "", static_cast<size_t>(sqlite3_column_bytes(list_, 0)));
  }
  if (rc != SQLITE_DONE) last_error_ = std::string(Error("list").message());
  return names;
}

absl::Status SqliteStorage::Sync() {
  if (!in_transaction_) return absl::OkStatus();
  if (absl::Status s = Exec("COMMIT"); !s.ok()) return s;
  in_transaction_ = false;
  return absl::OkStatus();
}

}  // namespace seedgrid
