#include "storage/log.h"

#include <utility>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/merkle.h"
#include "storage/internal/log_tree.h"
#include "storage/internal/sqlite.h"

namespace triad::storage {
namespace internal {
namespace {

namespace merkle = crypto::merkle;

constexpr int kIndexBits = 40;  // log_nodes key: (level << 40) | index; kMaxLogSize = 2^40

// The largest power of two smaller than n (n >= 2): RFC 6962's split point.
uint64_t SplitPoint(uint64_t n) { return uint64_t{1} << (63 - absl::countl_zero(n - 1)); }

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

absl::Status InclusionPath(Db& db, uint64_t m, uint64_t begin, uint64_t end,
                           std::vector<std::string>* out) {
  // RFC 6962 section 2.1.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k,
  //                                        PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise.
  uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  uint64_t k = SplitPoint(n);
  if (m < begin + k) {
    TRIAD_RETURN_IF_ERROR(InclusionPath(db, m, begin, begin + k, out));
    TRIAD_ASSIGN_OR_RETURN(std::string h, LogSubtreeHash(db, begin + k, end));
    out->push_back(std::move(h));
  } else {
    TRIAD_RETURN_IF_ERROR(InclusionPath(db, m, begin + k, end, out));
    TRIAD_ASSIGN_OR_RETURN(std::string h, LogSubtreeHash(db, begin, begin + k));
    out->push_back(std::move(h));
  }
  return absl::OkStatus();
}

absl::Status SubProof(Db& db, uint64_t m, uint64_t begin, uint64_t end, bool whole,
                      std::vector<std::string>* out) {
  // RFC 6962 section 2.1.2: SUBPROOF(m, D[n], b), with m counted from `begin`.
  uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      TRIAD_ASSIGN_OR_RETURN(std::string h, LogSubtreeHash(db, begin, end));
      out->push_back(std::move(h));
    }
    return absl::OkStatus();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    TRIAD_RETURN_IF_ERROR(SubProof(db, m, begin, begin + k, whole, out));
    TRIAD_ASSIGN_OR_RETURN(std::string h, LogSubtreeHash(db, begin + k, end));
    out->push_back(std::move(h));
  } else {
    TRIAD_RETURN_IF_ERROR(SubProof(db, m - k, begin + k, end, false, out));
    TRIAD_ASSIGN_OR_RETURN(std::string h, LogSubtreeHash(db, begin, begin + k));
    out->push_back(std::move(h));
  }
  return absl::OkStatus();
}

absl::StatusOr<LogCheckpoint> ReadCheckpoint(StmtRef& s) {
  LogCheckpoint cp;
  cp.size = static_cast<uint64_t>(s->Int(0));
  cp.root_hash = s->Blob(1);
  cp.signed_note = s->Text(2);
  cp.created_at = absl::FromUnixMicros(s->Int(3));
  return cp;
}

}  // namespace

int64_t LogNodeKey(int level, uint64_t index) {
  return static_cast<int64_t>((static_cast<uint64_t>(level) << kIndexBits) | index);
}

absl::StatusOr<uint64_t> LogSize(Db& db) {
  TRIAD_ASSIGN_OR_RETURN(std::optional<int64_t> last,
                         db.QueryInt("SELECT idx FROM log_entries ORDER BY idx DESC LIMIT 1"));
  return last ? static_cast<uint64_t>(*last) + 1 : 0;
}

absl::StatusOr<std::string> ReadLogNode(Db& db, int level, uint64_t index) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db.Prepare("SELECT hash FROM log_nodes WHERE id = ?"));
  s->Bind(1, LogNodeKey(level, index));
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) {
    return absl::DataLossError(
        absl::StrCat("transparency log: subtree hash at level ", level, " index ", index, " is missing"));
  }
  std::string hash = s->Blob(0);
  // The schema's CHECK keeps this so; a file edited behind SQLite's back must not crash the hashing.
  if (hash.size() != merkle::kHashSize) {
    return absl::DataLossError(absl::StrCat("transparency log: subtree hash at level ", level, " index ", index,
                                            " is ", hash.size(), " bytes"));
  }
  return hash;
}

absl::StatusOr<std::string> LogSubtreeHash(Db& db, uint64_t begin, uint64_t end) {
  uint64_t n = end - begin;
  if (IsPowerOfTwo(n) && begin % n == 0) {
    return ReadLogNode(db, absl::countr_zero(n), begin / n);
  }
  uint64_t k = SplitPoint(n);
  TRIAD_ASSIGN_OR_RETURN(std::string left, LogSubtreeHash(db, begin, begin + k));
  TRIAD_ASSIGN_OR_RETURN(std::string right, LogSubtreeHash(db, begin + k, end));
  return merkle::NodeHash(left, right);
}

absl::StatusOr<std::string> LogRoot(Db& db, uint64_t size) {
  if (size == 0) return merkle::EmptyRoot();
  return LogSubtreeHash(db, 0, size);
}

absl::StatusOr<std::vector<std::string>> LogInclusionProof(Db& db, uint64_t index, uint64_t size) {
  std::vector<std::string> proof;
  TRIAD_RETURN_IF_ERROR(InclusionPath(db, index, 0, size, &proof));
  return proof;
}

absl::StatusOr<std::vector<std::string>> LogConsistencyProof(Db& db, uint64_t size1, uint64_t size2) {
  std::vector<std::string> proof;
  if (size1 == 0 || size1 == size2) return proof;
  TRIAD_RETURN_IF_ERROR(SubProof(db, size1, 0, size2, true, &proof));
  return proof;
}

absl::StatusOr<LogCheckpoint> LatestLogCheckpoint(Db& db) {
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db.Prepare("SELECT size, root, note, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1"));
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return absl::NotFoundError("transparency log has no checkpoint");
  return ReadCheckpoint(s);
}

absl::StatusOr<LogAppender> LogAppender::Load(Db& db) {
  LogAppender a;
  TRIAD_ASSIGN_OR_RETURN(a.size_, LogSize(db));
  // One perfect subtree per set bit of the size, largest (leftmost) first.
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    uint64_t width = uint64_t{1} << level;
    if ((a.size_ & width) == 0) continue;
    TRIAD_ASSIGN_OR_RETURN(std::string h, ReadLogNode(db, level, start >> level));
    a.frontier_.emplace_back(level, std::move(h));
    start += width;
  }
  return a;
}

absl::StatusOr<uint64_t> LogAppender::Append(Db& db, absl::string_view entry, absl::Time now) {
  if (entry.size() > kMaxLogEntryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("log entry is ", entry.size(),
                                                   " bytes, more than the limit of ", kMaxLogEntryBytes));
  }
  if (size_ >= kMaxLogSize) return absl::ResourceExhaustedError("transparency log is full (2^40 entries)");
  uint64_t index = size_;
  {
    TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                           db.Prepare("INSERT INTO log_entries (idx, entry, appended_at) VALUES (?, ?, ?)"));
    s->Bind(1, static_cast<int64_t>(index)).BindBlob(2, entry).Bind(3, absl::ToUnixMicros(now));
    TRIAD_RETURN_IF_ERROR(s->Run());
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef node, db.Prepare("INSERT INTO log_nodes (id, hash) VALUES (?, ?)"));
  std::string leaf = merkle::LeafHash(entry);
  node->Bind(1, LogNodeKey(0, index)).BindBlob(2, leaf);
  TRIAD_RETURN_IF_ERROR(node->Run());
  node->Reset();
  frontier_.emplace_back(0, std::move(leaf));
  // Each pair of equal subtrees on the right edge merges into one a level up, which is complete now.
  while (frontier_.size() >= 2 && frontier_[frontier_.size() - 1].first == frontier_[frontier_.size() - 2].first) {
    std::string right = std::move(frontier_.back().second);
    frontier_.pop_back();
    auto& left = frontier_.back();
    left.second = merkle::NodeHash(left.second, right);
    ++left.first;
    node->Bind(1, LogNodeKey(left.first, index >> left.first)).BindBlob(2, left.second);
    TRIAD_RETURN_IF_ERROR(node->Run());
    node->Reset();
  }
  ++size_;
  return index;
}

std::string LogAppender::Root() const {
  if (frontier_.empty()) return merkle::EmptyRoot();
  std::string root = frontier_.back().second;
  for (size_t i = frontier_.size() - 1; i-- > 0;) root = merkle::NodeHash(frontier_[i].second, root);
  return root;
}

absl::StatusOr<LogCheckpoint> WriteLogCheckpoint(Db& db, const crypto::NoteSigner& signer, uint64_t size,
                                                 const std::string& root, absl::Time now) {
  crypto::Checkpoint cp;
  cp.origin = signer.name();
  cp.size = size;
  cp.root_hash = root;
  TRIAD_ASSIGN_OR_RETURN(std::string note, signer.Sign(cp.ToText()));
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db.Prepare("INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)"));
  s->Bind(1, static_cast<int64_t>(size)).BindBlob(2, root).Bind(3, note).Bind(4, absl::ToUnixMicros(now));
  TRIAD_RETURN_IF_ERROR(base::Annotate(s->Run(), absl::StrCat("storing checkpoint at size ", size)));
  LogCheckpoint out;
  out.size = size;
  out.root_hash = root;
  out.signed_note = std::move(note);
  out.created_at = absl::FromUnixMicros(absl::ToUnixMicros(now));
  return out;
}

}  // namespace internal

using internal::Db;
using internal::StmtRef;

absl::StatusOr<std::unique_lock<std::mutex>> Log::Lock() const {
  if (db_ == nullptr) return absl::FailedPreconditionError("write transaction is finished");
  return mu_ != nullptr ? std::unique_lock<std::mutex>(*mu_) : std::unique_lock<std::mutex>();
}

absl::StatusOr<uint64_t> Log::Size() const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return internal::LogSize(*db_);
}

absl::StatusOr<std::string> Log::Entry(uint64_t index) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("SELECT entry FROM log_entries WHERE idx = ?"));
  if (index >= kMaxLogSize) return absl::OutOfRangeError(absl::StrCat("log has no entry ", index));
  s->Bind(1, static_cast<int64_t>(index));
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return absl::OutOfRangeError(absl::StrCat("log has no entry ", index));
  return s->Blob(0);
}

absl::StatusOr<std::vector<std::string>> Log::Entries(uint64_t begin, uint64_t end) const {
  TRIAD_ASSIGN_OR_RETURN(std::vector<ScopedEntry> scoped, ScopedEntries(begin, end));
  std::vector<std::string> out;
  out.reserve(scoped.size());
  for (ScopedEntry& e : scoped) out.push_back(std::move(e.entry));
  return out;
}

absl::StatusOr<std::vector<ScopedEntry>> Log::ScopedEntries(uint64_t begin, uint64_t end) const {
  if (begin > end)
    return absl::InvalidArgumentError(absl::StrCat("log range ", begin, "..", end, " is reversed"));
  if (end - begin > kMaxLogEntriesPerRead) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxLogEntriesPerRead, " log entries are read at once"));
  }
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(uint64_t size, internal::LogSize(*db_));
  if (end > size) {
    return absl::OutOfRangeError(absl::StrCat("log has ", size, " entries; asked for up to ", end));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("SELECT idx, entry, contract_id, party FROM log_entries "
                                      "WHERE idx >= ? AND idx < ? ORDER BY idx"));
  s->Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
  std::vector<ScopedEntry> out;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    ScopedEntry e;
    e.index = static_cast<uint64_t>(s->Int(0));
    e.entry = s->Blob(1);
    e.scope.contract_id = s->IsNull(2) ? "" : s->Text(2);
    e.scope.party = s->IsNull(3) ? "" : s->Text(3);
    out.push_back(std::move(e));
  }
  if (out.size() != end - begin)
    return absl::DataLossError("transparency log has a gap in its entries");
  return out;
}

absl::StatusOr<std::vector<uint64_t>> Log::ContractEntryIndexes(
    absl::string_view contract_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("SELECT idx FROM log_entries WHERE contract_id = ? ORDER BY idx"));
  s->Bind(1, contract_id);
  std::vector<uint64_t> out;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back(static_cast<uint64_t>(s->Int(0)));
  }
  return out;
}

absl::StatusOr<std::string> Log::Root(uint64_t size) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(uint64_t n, internal::LogSize(*db_));
  if (size > n) return absl::OutOfRangeError(absl::StrCat("tree size ", size, " is larger than the log (", n, ")"));
  return internal::LogRoot(*db_, size);
}

absl::StatusOr<std::vector<std::string>> Log::InclusionProof(uint64_t index, uint64_t size) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(uint64_t n, internal::LogSize(*db_));
  if (size > n) return absl::OutOfRangeError(absl::StrCat("tree size ", size, " is larger than the log (", n, ")"));
  if (index >= size) {
    return absl::OutOfRangeError(absl::StrCat("leaf index ", index, " is not less than tree size ", size));
  }
  return internal::LogInclusionProof(*db_, index, size);
}

absl::StatusOr<std::vector<std::string>> Log::ConsistencyProof(uint64_t size1, uint64_t size2) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(uint64_t n, internal::LogSize(*db_));
  if (size2 > n) return absl::OutOfRangeError(absl::StrCat("tree size ", size2, " is larger than the log (", n, ")"));
  if (size1 > size2) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", size1, " is larger than tree size ", size2));
  }
  return internal::LogConsistencyProof(*db_, size1, size2);
}

absl::StatusOr<LogCheckpoint> Log::LatestCheckpoint() const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return internal::LatestLogCheckpoint(*db_);
}

absl::StatusOr<LogCheckpoint> Log::CheckpointAt(uint64_t size) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("SELECT size, root, note, created_at FROM log_checkpoints WHERE size = ?"));
  if (size >= kMaxLogSize) return absl::NotFoundError(absl::StrCat("no checkpoint at tree size ", size));
  s->Bind(1, static_cast<int64_t>(size));
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no checkpoint at tree size ", size));
  return internal::ReadCheckpoint(s);
}

absl::Status Log::VerifyIntegrity(const crypto::NoteVerifier& verifier) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  namespace merkle = crypto::merkle;
  // A read transaction gives one consistent snapshot for the whole scan (unless one is open).
  std::optional<internal::Transaction> snapshot;
  if (!db_->InTransaction()) {
    TRIAD_ASSIGN_OR_RETURN(internal::Transaction t,
                           internal::Transaction::Begin(*db_, internal::Transaction::Mode::kDeferred));
    snapshot.emplace(std::move(t));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef entries, db_->Prepare("SELECT idx, entry FROM log_entries ORDER BY idx"));
  std::vector<std::pair<int, std::string>> frontier;
  uint64_t size = 0;
  auto check_node = [&](int level, uint64_t index, const std::string& want) -> absl::Status {
    TRIAD_ASSIGN_OR_RETURN(std::string got, internal::ReadLogNode(*db_, level, index));
    if (got != want) {
      return absl::DataLossError(absl::StrCat("transparency log: stored subtree hash at level ", level,
                                              " index ", index, " is ", base::HexEncode(got),
                                              "; the entries give ", base::HexEncode(want)));
    }
    return absl::OkStatus();
  };
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(bool row, entries->Step());
    if (!row) break;
    if (static_cast<uint64_t>(entries->Int(0)) != size) {
      return absl::DataLossError(absl::StrCat("transparency log: entry ", size, " is missing"));
    }
    std::string leaf = merkle::LeafHash(entries->Blob(1));
    TRIAD_RETURN_IF_ERROR(check_node(0, size, leaf));
    frontier.emplace_back(0, std::move(leaf));
    while (frontier.size() >= 2 && frontier[frontier.size() - 1].first == frontier[frontier.size() - 2].first) {
      std::string right = std::move(frontier.back().second);
      frontier.pop_back();
      frontier.back().second = merkle::NodeHash(frontier.back().second, right);
      ++frontier.back().first;
      TRIAD_RETURN_IF_ERROR(check_node(frontier.back().first, size >> frontier.back().first, frontier.back().second));
    }
    ++size;
  }
  TRIAD_ASSIGN_OR_RETURN(std::optional<int64_t> nodes, db_->QueryInt("SELECT count(*) FROM log_nodes"));
  // A tree of n leaves has 2n - popcount(n) perfect subtrees.
  uint64_t want_nodes = 2 * size - static_cast<uint64_t>(absl::popcount(size));
  if (!nodes || static_cast<uint64_t>(*nodes) != want_nodes) {
    return absl::DataLossError(absl::StrCat("transparency log: ", nodes.value_or(0),
                                            " subtree hashes stored; ", size, " entries make ", want_nodes));
  }
  std::string root = merkle::EmptyRoot();
  if (!frontier.empty()) {
    root = frontier.back().second;
    for (size_t i = frontier.size() - 1; i-- > 0;) root = merkle::NodeHash(frontier[i].second, root);
  }
  TRIAD_ASSIGN_OR_RETURN(LogCheckpoint latest, internal::LatestLogCheckpoint(*db_));
  absl::StatusOr<crypto::Checkpoint> cp = crypto::OpenCheckpoint(latest.signed_note, verifier, verifier.name());
  if (!cp.ok()) return base::Annotate(cp.status(), "transparency log: newest checkpoint");
  if (latest.size != size || cp->size != size) {
    return absl::DataLossError(absl::StrCat("transparency log: newest checkpoint is at size ", cp->size,
                                            " but the log has ", size, " entries"));
  }
  if (latest.root_hash != root || cp->root_hash != root) {
    return absl::DataLossError(absl::StrCat("transparency log: newest checkpoint's root ",
                                            base::HexEncode(cp->root_hash), " is not the entries' root ",
                                            base::HexEncode(root)));
  }
  return absl::OkStatus();
}

}  // namespace triad::storage
