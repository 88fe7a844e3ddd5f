// Private to coordinator/: the definitions shared by the Coordinator's source files.
#ifndef TRIAD_COORDINATOR_INTERNAL_COMMON_H_
#define TRIAD_COORDINATOR_INTERNAL_COMMON_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contracts/contract.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/request_body.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "nlohmann/json.hpp"
#include "storage/store.h"

namespace triad::coordinator {

// A request verified against a registered party's key.
struct Coordinator::PartyRequest {
  VerifiedRequest verified;
  storage::Party party;
  contracts::PartyCard card;
  const Request& request() const { return verified.request; }
  const nlohmann::json& body() const { return verified.request.body; }
};

// A contract as stored, parsed and checked once (signatures and terms); only its time window needs
// checking again.
struct Coordinator::CachedContract {
  storage::Contract stored;
  crypto::DsseEnvelope envelope;
  contracts::Contract contract;
  // Reasons it is not active at `now` (empty when it is).
  std::vector<std::string> InactiveReasons(absl::Time now) const;
};

// A signed read about a contract, by one of its parties or one of the auditors it names.
struct Coordinator::ReadRequest {
  VerifiedRequest verified;
  std::string reader;                   // party or auditor name
  std::optional<contracts::Role> slot;  // the party's slot; nullopt for an auditor
  std::shared_ptr<const CachedContract> contract;
  const nlohmann::json& body() const { return verified.request.body; }
};

// The signer of a log read: a registered party (name set) and/or the auditor of some contracts.
struct Coordinator::LogReader {
  VerifiedRequest verified;
  std::string party;  // registered party name, or empty
  std::string key_id;
  const nlohmann::json& body() const { return verified.request.body; }
};

// A request verified against the ephemeral key a job's current attempt attested with.
struct Coordinator::EphemeralRequest {
  VerifiedRequest verified;
  storage::Job job;
  storage::JobKeys keys;
  std::shared_ptr<const CachedContract> contract;
  const nlohmann::json& body() const { return verified.request.body; }
};

// Marks a job as having a transfer in flight while it lives.
class Coordinator::Transfer {
 public:
  Transfer(Coordinator* c, std::string job_id) : c_(c), job_id_(std::move(job_id)) {}
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

 private:
  Coordinator* c_;
  std::string job_id_;
};

namespace internal {

inline constexpr char kLogEntryType[] = "triad.log/v1";

// A log entry: compact JSON {"type": "triad.log/v1", "kind", "time", …fields}.
std::string LogEntry(absl::string_view kind, absl::Time time, const nlohmann::ordered_json& fields);

// Appends a log entry and its event (about `job_id`, or none when empty) to the transaction, in
// its hash chain (docs/custody.md, "What the log holds"): an entry about a job gets "prev" (the hex
// SHA-256 of the job's previous entry; none for the first) and, for job.submitted, job.done and
// job.failed, "contract_head" (the newest entry of the contract's chain); a contract.* entry (its
// fields name "contract_id") gets "prev" in the contract's chain. The entry's read scope is the
// job's or the contract's contract, the registered party, or the artifact's owner.
absl::Status AddLog(storage::WriteTxn& txn, absl::string_view job_id, absl::string_view kind,
                    absl::Time time, const nlohmann::ordered_json& fields);

// The result of recording an upload whose blob `id` was just committed. When recording failed (the
// database locked or full, the job moved on meanwhile) the blob is removed again, unless it was
// stored before this upload (`existed`: the same bytes registered earlier, or a retried delivery):
// a refused upload leaves no orphaned ciphertext in the blob store. A crash between the two still
// can; the chaos run (tests/chaos) counts orphans.
absl::StatusOr<ArtifactInfo> DiscardBlobUnlessRecorded(storage::BlobStore& blobs,
                                                       absl::string_view id, bool existed,
                                                       absl::StatusOr<ArtifactInfo> recorded);

// Hex SHA-256 of a log entry's text: how chains name entries.
std::string EntryHash(absl::string_view entry);

// A storage::StoredRequest for a verified request; `keep` stores its envelope.
storage::StoredRequest ToStored(const VerifiedRequest& v, bool keep);

// The age header at the start of a stored artifact.
absl::StatusOr<crypto::age::Header> ReadArtifactHeader(storage::BlobStore& blobs,
                                                       const std::string& artifact_id);

// An artifact's header: one X25519 stanza makes about 200 bytes; anything longer is refused.
inline constexpr size_t kMaxArtifactHeaderSize = 4096;

// The first bytes of an upload, kept up to the largest age header so that the upload can check the
// header as soon as it has arrived (ciphertext framing, never secret).
class HeaderPrefix {
 public:
  void Take(absl::string_view chunk);
  absl::string_view bytes() const { return bytes_; }
  // An artifact's header: binary age v1 with exactly one X25519 stanza (its owner's release
  // recipient; the coordinator cannot tell whose, only that there is no other). false: not all of
  // it has arrived yet (`complete` says the upload ended). Errors: kInvalidArgument (armored, not
  // age, header too long), kFailedPrecondition (other stanzas).
  absl::StatusOr<bool> CheckOwnerHeader(bool complete) const;
  // The age header they start with; kInvalidArgument "WHAT is not an age v1 file: …" otherwise.
  absl::StatusOr<crypto::age::Header> Parse(absl::string_view what) const;

 private:
  std::string bytes_;
};

// The contract slot (model_owner, data_owner, compute_provider) whose key is `key_id`, if any.
std::optional<contracts::Role> SlotOfKey(const contracts::Contract& c, absl::string_view key_id);

// Whether `s` is one of `states`.
inline bool IsOneOf(storage::JobState s, std::initializer_list<storage::JobState> states) {
  for (storage::JobState x : states) {
    if (x == s) return true;
  }
  return false;
}

}  // namespace internal
}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_INTERNAL_COMMON_H_
