// The RAII wrapper over SQLite that storage/ is built on (storage/internal/sqlite.h: Db, Stmt,
// StmtRef, Transaction, SqliteStatus), public for other components that keep a small database of
// their own (the keyholder's journal), so that every SQLite handle in Triad has one owner type.
#ifndef TRIAD_STORAGE_SQLITE_H_
#define TRIAD_STORAGE_SQLITE_H_

#include "storage/internal/sqlite.h"

namespace triad::storage::sqlite {

using ::triad::storage::internal::Db;
using ::triad::storage::internal::SqliteStatus;
using ::triad::storage::internal::Stmt;
using ::triad::storage::internal::StmtRef;
using ::triad::storage::internal::Transaction;

}  // namespace triad::storage::sqlite

#endif  // TRIAD_STORAGE_SQLITE_H_
