#include "storage/internal/sqlite.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace triad::storage::internal {

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  const char* detail = (db != nullptr && sqlite3_errcode(db) == rc) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string msg = absl::StrCat(what, ": ", detail);
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(msg);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(msg);
      }
      return absl::FailedPreconditionError(msg);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(msg);
    default:
      return absl::InternalError(msg);
  }
}

Stmt& Stmt::Bind(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int i, absl::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindBlob(int i, absl::string_view bytes) {
  // A zero-length blob must still be a BLOB, not NULL: give SQLite a non-null pointer.
  static const char kEmpty = 0;
  const char* p = bytes.empty() ? &kEmpty : bytes.data();
  int rc = sqlite3_bind_blob64(stmt_, i, p, bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  int rc = sqlite3_bind_null(stmt_, i);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindDouble(int i, double v) {
  int rc = sqlite3_bind_double(stmt_, i, v);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_rc_ = rc;
  return *this;
}

absl::StatusOr<bool> Stmt::Step() {
  if (bind_failed_) return SqliteStatus(db_, bind_rc_, absl::StrCat("binding ", sqlite3_sql(stmt_)));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, sqlite3_extended_errcode(db_), sqlite3_sql(stmt_));
}

absl::Status Stmt::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::string Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return std::string();
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_failed_ = false;
  bind_rc_ = SQLITE_OK;
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; it must be closed either way.
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, absl::StrCat("opening database ", path));
  return db;
}

Db::~Db() {
  cache_.clear();  // finalize statements before closing
  sqlite3_close_v2(db_);
}

absl::Status Db::Exec(absl::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    absl::Status st = SqliteStatus(nullptr, sqlite3_extended_errcode(db_), "executing SQL");
    return absl::Status(st.code(), absl::StrCat("executing SQL: ", what));
  }
  return absl::OkStatus();
}

absl::StatusOr<StmtRef> Db::Prepare(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return SqliteStatus(db_, rc, absl::StrCat("preparing ", sql));
    }
    it = cache_.emplace(std::string(sql), std::make_unique<Stmt>(db_, raw)).first;
  }
  return StmtRef(it->second.get());
}

absl::StatusOr<std::optional<int64_t>> Db::QueryInt(absl::string_view sql) {
  absl::StatusOr<StmtRef> s = Prepare(sql);
  if (!s.ok()) return s.status();
  absl::StatusOr<bool> row = (*s)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>((*s)->Int(0));
}

absl::StatusOr<Transaction> Transaction::Begin(Db& db, Mode mode) {
  absl::Status st = db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  if (!st.ok()) return st;
  return Transaction(&db);
}

Transaction::~Transaction() { Rollback(); }

absl::Status Transaction::Commit() {
  if (db_ == nullptr) return absl::FailedPreconditionError("transaction already finished");
  Db* db = db_;
  absl::Status st = db->Exec("COMMIT");
  if (!st.ok()) {
    // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); never leave it so.
    if (db->InTransaction()) db->Exec("ROLLBACK").IgnoreError();
  }
  db_ = nullptr;
  return st;
}

void Transaction::Rollback() {
  if (db_ == nullptr) return;
  if (db_->InTransaction()) db_->Exec("ROLLBACK").IgnoreError();
  db_ = nullptr;
}

}  // namespace triad::storage::internal
