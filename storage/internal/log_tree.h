// The transparency log's tree on SQLite: node reads, subtree hashes, proofs, and the appender that
// a write transaction uses. Private to storage/; the public face is storage/log.h.
//
// log_nodes holds the hash of every perfect subtree: the node at `level` covering leaves
// [index << level, (index + 1) << level) has key (level << 40) | index. A subtree is written once,
// when its last leaf is appended, and never changes, so any historical root or proof can be
// assembled from it with O(log n) reads.
#ifndef TRIAD_STORAGE_INTERNAL_LOG_TREE_H_
#define TRIAD_STORAGE_INTERNAL_LOG_TREE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/note.h"
#include "storage/internal/sqlite.h"
#include "storage/log.h"

namespace triad::storage::internal {

int64_t LogNodeKey(int level, uint64_t index);

absl::StatusOr<uint64_t> LogSize(Db& db);
// The hash of the perfect subtree at (level, index); kDataLoss when it is missing.
absl::StatusOr<std::string> ReadLogNode(Db& db, int level, uint64_t index);
// The RFC 6962 hash of leaves [begin, end) (end > begin), assembled from stored perfect subtrees.
absl::StatusOr<std::string> LogSubtreeHash(Db& db, uint64_t begin, uint64_t end);
// As in storage::Log, without the bounds checks against the log's size.
absl::StatusOr<std::string> LogRoot(Db& db, uint64_t size);
absl::StatusOr<std::vector<std::string>> LogInclusionProof(Db& db, uint64_t index, uint64_t size);
absl::StatusOr<std::vector<std::string>> LogConsistencyProof(Db& db, uint64_t size1, uint64_t size2);

absl::StatusOr<LogCheckpoint> LatestLogCheckpoint(Db& db);

// Appends entries inside a write transaction; holds the right edge of the tree (one perfect subtree
// per set bit of the size) in memory. Valid only within the transaction it was loaded in.
class LogAppender {
 public:
  static absl::StatusOr<LogAppender> Load(Db& db);
  // Writes the entry, its leaf hash and every subtree it completes; returns its index.
  absl::StatusOr<uint64_t> Append(Db& db, absl::string_view entry, absl::Time now);
  uint64_t size() const { return size_; }
  // The root of the tree as appended so far.
  std::string Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<std::pair<int, std::string>> frontier_;  // (level, hash), largest subtree first
};

// Signs "<origin>\n<size>\n<root>\n" with `signer` (origin = the signer's key name) and stores it.
absl::StatusOr<LogCheckpoint> WriteLogCheckpoint(Db& db, const crypto::NoteSigner& signer,
                                                 uint64_t size, const std::string& root,
                                                 absl::Time now);

}  // namespace triad::storage::internal

#endif  // TRIAD_STORAGE_INTERNAL_LOG_TREE_H_
