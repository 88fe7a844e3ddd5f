// Thin RAII over the SQLite C API: a connection owner (Db), prepared statement owner (Stmt), a
// per-connection statement cache, and a Transaction guard that rolls back unless committed.
//
// Not thread-safe: a Db and everything prepared on it are used by one thread at a time (the Store
// holds a mutex per connection). Connections are opened with SQLITE_OPEN_NOMUTEX for that reason.
#ifndef TRIAD_STORAGE_INTERNAL_SQLITE_H_
#define TRIAD_STORAGE_INTERNAL_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::storage::internal {

// An SQLite result code as a Status: SQLITE_BUSY/LOCKED -> kUnavailable, SQLITE_CONSTRAINT ->
// kAlreadyExists for UNIQUE/PRIMARY KEY and kFailedPrecondition otherwise, SQLITE_FULL ->
// kResourceExhausted, SQLITE_CORRUPT/NOTADB -> kDataLoss, anything else kInternal.
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

// Owns one sqlite3_stmt. Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, absl::string_view text);  // TEXT
  Stmt& BindBlob(int i, absl::string_view bytes);
  Stmt& BindNull(int i);
  Stmt& Bind(int i, std::optional<int64_t> v) { return v ? Bind(i, *v) : BindNull(i); }
  Stmt& BindDouble(int i, double v);

  // Steps once: true when a row is ready, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  absl::Status Run();

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  std::string Blob(int col) const;

  // Resets the statement and clears its bindings, ready for reuse.
  void Reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool bind_failed_ = false;
  int bind_rc_ = SQLITE_OK;
};

// A cached statement borrowed for one use; resets it when it goes out of scope.
class StmtRef {
 public:
  explicit StmtRef(Stmt* s) : s_(s) {}
  ~StmtRef() {
    if (s_ != nullptr) s_->Reset();
  }
  StmtRef(StmtRef&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StmtRef(const StmtRef&) = delete;
  StmtRef& operator=(const StmtRef&) = delete;
  StmtRef& operator=(StmtRef&&) = delete;
  Stmt* operator->() const { return s_; }
  Stmt& operator*() const { return *s_; }

 private:
  Stmt* s_;
};

// Owns one sqlite3 connection and its statement cache.
class Db {
 public:
  // Opens (creating when `create`) the database file. Does not set any pragma.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements that return no rows of interest.
  absl::Status Exec(absl::string_view sql);
  // Returns the cached statement for `sql`, prepared on first use. The statement is reset when the
  // StmtRef goes; it lives as long as the Db. One StmtRef per SQL text at a time.
  absl::StatusOr<StmtRef> Prepare(absl::string_view sql);

  // A single integer from a query ("PRAGMA user_version"); nullopt when it returns no row.
  absl::StatusOr<std::optional<int64_t>> QueryInt(absl::string_view sql);

  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* get() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Stmt>, std::less<>> cache_;
};

// BEGIN on construction (by Begin), ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  // IMMEDIATE takes the write lock at once, so a write transaction never fails half-way with
  // SQLITE_BUSY on its first write; DEFERRED is for read snapshots.
  static absl::StatusOr<Transaction> Begin(Db& db, Mode mode = Mode::kImmediate);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // COMMIT. On failure the transaction is rolled back (SQLite may have done so already) and the
  // guard is spent either way.
  absl::Status Commit();
  // ROLLBACK now; the guard is spent.
  void Rollback();
  bool active() const { return db_ != nullptr; }

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_;
};

}  // namespace triad::storage::internal

#endif  // TRIAD_STORAGE_INTERNAL_SQLITE_H_
