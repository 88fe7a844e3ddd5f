// The coordinator database's schema and its forward-only migrations.
//
// The schema version lives in the one-row table schema_version. Migration N takes a database at
// version N-1 to version N in one transaction, so a crash during a migration leaves the database at
// N-1 and the next open applies N again. Migrations are never edited once released; a change is a
// new migration at the end of the list.
#ifndef TRIAD_STORAGE_INTERNAL_SCHEMA_H_
#define TRIAD_STORAGE_INTERNAL_SCHEMA_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/internal/sqlite.h"

namespace triad::storage::internal {

// Sets the per-connection settings every Triad connection uses: WAL, synchronous=FULL (see the
// comment in the implementation and docs/storage.md, "Durability", for why not NORMAL), foreign
// keys, trusted_schema off, the busy timeout, and query_only for read-only connections.
absl::Status ConfigureConnection(Db& db, absl::Duration busy_timeout, bool read_only);

// The version this build creates and understands.
int LatestSchemaVersion();

// The database's schema version; 0 for a database without Triad's tables.
absl::StatusOr<int> SchemaVersion(Db& db);

// Applies migrations until the database is at `target` (tests stop early to build old databases).
// Fails with kFailedPrecondition when the database is newer than this build, and leaves the database
// at the last version that committed when a migration fails.
absl::Status Migrate(Db& db, int target);

}  // namespace triad::storage::internal

#endif  // TRIAD_STORAGE_INTERNAL_SCHEMA_H_
