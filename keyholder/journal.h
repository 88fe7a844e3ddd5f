// The keyholder's journal (STATE/journal.db, SQLite, WAL, synchronous=FULL): what its owner may
// read back about every decision (`triad keyholder log`), and what the keyholder needs to decide
// on its own: the artifacts it knows (id and age header, learned by hashing the whole ciphertext),
// the nonces it has seen, the distinct jobs of each contract it released a key for, the checkpoint
// it saw last and any fork it was shown, and its own revocation list.
//
// A decision is journaled (durably) before its answer leaves, and an answer is sent again from the
// journal, byte for byte, when the coordinator asks again: a crash between the two never re-wraps a
// key twice. Not thread-safe: one keyholder uses it from one thread.
#ifndef TRIAD_KEYHOLDER_JOURNAL_H_
#define TRIAD_KEYHOLDER_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/sqlite.h"

namespace triad::keyholder {

inline constexpr char kJournalFile[] = "journal.db";

struct Decision {
  std::string release_id;
  std::string job_id;
  std::string contract_id;
  uint64_t attempt = 0;
  std::string artifact_id;
  bool release = false;
  bool final = false;
  std::vector<std::string> reasons;  // refusals
  std::string recipient;             // the worker's ephemeral recipient (when known)
  std::string nonce;                 // the admission's nonce (when known), raw 32 bytes
  std::string header;        // releases: the re-wrapped header (it opens only for the worker)
  std::string receipt_json;  // the signed receipt sent with the answer
  absl::Time decided_at;
  // Releases: the digest of the job's submit-job request, which makes this job and no other.
  std::string submission_digest;
};

class Journal {
 public:
  // Opens or creates DIR/journal.db (DIR is created 0700 when missing; the file is 0600).
  static absl::StatusOr<std::unique_ptr<Journal>> Open(const std::string& dir);
  // Opens DIR/journal.db only when it exists: kNotFound otherwise ("no keyholder journal in DIR
  // …"), so that a mistyped --state is not a new, empty journal (`keyholder log`, `revoke`).
  static absl::StatusOr<std::unique_ptr<Journal>> OpenExisting(const std::string& dir);

  // ---- artifacts this owner pushed, as their ciphertext hashed: id -> age header ----
  absl::StatusOr<std::optional<std::string>> ArtifactHeader(absl::string_view artifact_id);
  absl::Status RecordArtifact(absl::string_view artifact_id, absl::string_view header,
                              absl::Time now);

  // ---- decisions ----
  absl::StatusOr<std::optional<Decision>> GetDecision(absl::string_view release_id);
  // Records a decision, durably. A release also records its job among the contract's released
  // jobs. kAlreadyExists when the release id was decided already.
  absl::Status RecordDecision(const Decision& decision);
  // Oldest first.
  absl::StatusOr<std::vector<Decision>> ListDecisions();
  // The distinct jobs of `contract_id` this keyholder released a key for, oldest first.
  absl::StatusOr<std::vector<std::string>> ReleasedJobs(absl::string_view contract_id);
  // The release that spent `nonce`, if any.
  absl::StatusOr<std::optional<std::string>> NonceSpentBy(absl::string_view nonce);
  // The job a release recorded `submission_digest` for, if any.
  absl::StatusOr<std::optional<std::string>> JobOfSubmission(absl::string_view submission_digest);

  // ---- the coordinator's log as this keyholder saw it ----
  absl::StatusOr<std::optional<std::string>> LastCheckpoint();
  absl::Status RecordCheckpoint(absl::string_view signed_note, uint64_t size, absl::Time now);
  // Two signed checkpoints that cannot both be true of one log: evidence, kept.
  absl::Status RecordFork(absl::string_view older_note, absl::string_view newer_note,
                          absl::string_view why, absl::Time now);
  absl::StatusOr<int64_t> CountForks();

  // ---- the owner's own revocations (they hold whatever the coordinator says) ----
  absl::Status Revoke(absl::string_view contract_id, absl::string_view reason, absl::Time now);
  absl::StatusOr<std::optional<std::string>> RevocationReason(absl::string_view contract_id);

 private:
  explicit Journal(std::unique_ptr<storage::sqlite::Db> db) : db_(std::move(db)) {}
  std::unique_ptr<storage::sqlite::Db> db_;
};

}  // namespace triad::keyholder

#endif  // TRIAD_KEYHOLDER_JOURNAL_H_
