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

// Appends a log entry and its event (about `job_id`, or none when empty) to the transaction.
absl::Status AddLog(storage::WriteTxn& txn, absl::string_view job_id, absl::string_view kind,
                    absl::Time time, const nlohmann::ordered_json& fields);

// Fields of a request body; errors are kInvalidArgument "request body: …".
absl::Status CheckBodyKeys(const nlohmann::json& body, std::initializer_list<const char*> allowed);
absl::StatusOr<std::string> BodyString(const nlohmann::json& body, const char* key);
absl::StatusOr<uint64_t> BodyUint(const nlohmann::json& body, const char* key);
absl::StatusOr<double> BodyNumber(const nlohmann::json& body, const char* key);

// A storage::StoredRequest for a verified request; `keep` stores its envelope.
storage::StoredRequest ToStored(const VerifiedRequest& v, bool keep);

// "sha256:" and 64 lower-case hex digits.
bool IsSha256Id(absl::string_view id);

// The age header at the start of a stored artifact.
absl::StatusOr<crypto::age::Header> ReadArtifactHeader(storage::BlobStore& blobs,
                                                       const std::string& artifact_id);

// The first bytes of an upload, kept up to the largest age header so that the upload's Finish can
// check the header (ciphertext framing, never secret).
class HeaderPrefix {
 public:
  void Take(absl::string_view chunk);
  absl::string_view bytes() const { return bytes_; }
  // The age header they start with; kInvalidArgument "WHAT is not an age v1 file: …" otherwise.
  absl::StatusOr<crypto::age::Header> Parse(absl::string_view what) const;

 private:
  std::string bytes_;
};

// The contract slot (model_owner, data_owner, compute_provider) whose key is `key_id`, if any.
std::optional<contracts::Role> SlotOfKey(const contracts::Contract& c, absl::string_view key_id);

}  // namespace internal
}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_INTERNAL_COMMON_H_
