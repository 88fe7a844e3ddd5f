// The transparency log's read side: entries, roots, proofs and signed checkpoints.
//
// The log is an append-only RFC 6962 Merkle tree kept in the coordinator's SQLite database (format in
// docs/storage.md): one row per entry, one row per perfect subtree hash, one row per signed
// checkpoint. Appends happen inside a WriteTxn (store.h), so an event and its log entry commit
// together, and every committed batch of appends gets a new checkpoint, signed as a C2SP signed note,
// in the same transaction. Proofs are verified by crypto/merkle.h, which does not depend on this.
//
// A Log is obtained from Store::log() (the committed log; thread-safe) or WriteTxn::log() (the log
// including the transaction's own appends; same thread as the transaction; every call fails with
// "write transaction is finished" after the transaction ends). Roots and proofs cost O(log n) point
// reads.
#ifndef TRIAD_STORAGE_LOG_H_
#define TRIAD_STORAGE_LOG_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/note.h"

namespace triad::storage {

namespace internal {
class Db;
}  // namespace internal

// The largest log (2^40 entries) and entry (256 KiB) the store accepts.
inline constexpr uint64_t kMaxLogSize = uint64_t{1} << 40;
inline constexpr size_t kMaxLogEntryBytes = 256 * 1024;
// The most entries one Entries() call returns.
inline constexpr uint64_t kMaxLogEntriesPerRead = 4096;

// Who may read an entry's text (the tree itself, sizes, roots and consistency proofs, is public):
// the parties and auditors of `contract_id` when it is set; else the party named `party` when set;
// else only the operator. Kept beside the entry, not in it.
struct LogScope {
  std::string contract_id;
  std::string party;
};

struct ScopedEntry {
  uint64_t index = 0;
  std::string entry;
  LogScope scope;
};

struct LogCheckpoint {
  uint64_t size = 0;
  std::string root_hash;    // raw 32 bytes
  std::string signed_note;  // c2sp.org/tlog-checkpoint text signed as a c2sp.org/signed-note
  absl::Time created_at;
};

class Log {
 public:
  // The number of entries.
  absl::StatusOr<uint64_t> Size() const;
  // Entry `index`; kOutOfRange when index >= Size().
  absl::StatusOr<std::string> Entry(uint64_t index) const;
  // Entries [begin, end); kOutOfRange past the end, kInvalidArgument for more than
  // kMaxLogEntriesPerRead.
  absl::StatusOr<std::vector<std::string>> Entries(uint64_t begin, uint64_t end) const;
  // The same with each entry's scope.
  absl::StatusOr<std::vector<ScopedEntry>> ScopedEntries(uint64_t begin, uint64_t end) const;
  // The indexes of the entries scoped to `contract_id`, ascending.
  absl::StatusOr<std::vector<uint64_t>> ContractEntryIndexes(absl::string_view contract_id) const;

  // The root hash of the tree of the first `size` entries (crypto::merkle::EmptyRoot() for 0).
  // kOutOfRange when size > Size().
  absl::StatusOr<std::string> Root(uint64_t size) const;
  // The RFC 6962 audit path of leaf `index` in the tree of `size` entries, leaf to root.
  // kOutOfRange unless index < size <= Size().
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t size) const;
  // The RFC 6962 consistency proof from the tree of `size1` entries to that of `size2`; empty when
  // size1 is 0 or equal to size2. kOutOfRange unless size1 <= size2 <= Size().
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

  // The newest checkpoint; there is one from the moment the store is created (size 0).
  absl::StatusOr<LogCheckpoint> LatestCheckpoint() const;
  // The checkpoint signed at exactly `size`; kNotFound when none was (sizes inside a batch).
  absl::StatusOr<LogCheckpoint> CheckpointAt(uint64_t size) const;

  // Rebuilds the whole tree from the entries and checks it against every stored node, and checks the
  // newest checkpoint's size, root and signature (with `verifier`). O(n); for `triad coordinator
  // fsck` and tests. kDataLoss naming the first difference.
  absl::Status VerifyIntegrity(const crypto::NoteVerifier& verifier) const;

 private:
  friend class Reader;
  friend class WriteTxn;
  friend class Store;
  Log(internal::Db* db, std::mutex* mu) : db_(db), mu_(mu) {}
  absl::StatusOr<std::unique_lock<std::mutex>> Lock() const;

  internal::Db* db_;  // null once the WriteTxn it came from is finished
  std::mutex* mu_;  // null inside a WriteTxn, which holds the writer lock already
};

}  // namespace triad::storage

#endif  // TRIAD_STORAGE_LOG_H_
