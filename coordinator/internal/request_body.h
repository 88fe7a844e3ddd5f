// Private to coordinator/ (and its tests and fuzz targets): how the coordinator decodes the JSON
// body of each signed request (coordinator/request.h), apart from the state the handler then reads.
// Every function here is pure: it reads its arguments only, and fails with kInvalidArgument
// "request body: …" naming the field. The handlers call them right after verifying the envelope,
// so tests/fuzz/request_fuzzer.cc fuzzes exactly what a party's bytes reach.
//
// Bodies of one or two plain fields (a job_id, a contract_id and a reason, …) are decoded in their
// handler with the field helpers below.
#ifndef TRIAD_COORDINATOR_INTERNAL_REQUEST_BODY_H_
#define TRIAD_COORDINATOR_INTERNAL_REQUEST_BODY_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/card.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::coordinator::internal {

// Fields of a request body; errors are kInvalidArgument "request body: …".
absl::Status CheckBodyKeys(const nlohmann::json& body, std::initializer_list<const char*> allowed);
absl::StatusOr<std::string> BodyString(const nlohmann::json& body, const char* key);
absl::StatusOr<uint64_t> BodyUint(const nlohmann::json& body, const char* key);
absl::StatusOr<double> BodyNumber(const nlohmann::json& body, const char* key);

// A reason given in a request (failure, revocation): 1 to 1024 bytes, no control characters.
absl::Status CheckReason(absl::string_view reason);

// "sha256:" and 64 lower-case hex digits.
bool IsSha256Id(absl::string_view id);

// register-party: {"card": <party card>}. The card is the signer's: the caller verifies the
// envelope with its key.
absl::StatusOr<contracts::PartyCard> DecodeRegisterPartyBody(const nlohmann::json& body);

// register-artifact: {"kind": "model"|"dataset", "name", "id": "sha256:…", "size" >= 1}. The
// caller bounds the size by its own limit.
struct RegisterArtifactBody {
  contracts::Role owner_role;  // kModelOwner for a model, kDataOwner for a dataset
  std::string name;
  std::string id;
  uint64_t size = 0;
};
absl::StatusOr<RegisterArtifactBody> DecodeRegisterArtifactBody(const nlohmann::json& body);

// poll: {"worker_id": <name>, "tee": "sev-snp"|"tdx"|"sim"}.
struct PollBody {
  std::string worker_id;
  std::string tee;
};
absl::StatusOr<PollBody> DecodePollBody(const nlohmann::json& body);

// attest: {"job_id", "worker_id", "nonce": 64 hex digits, "ed25519_public_key": base64 of 32
// bytes, "age_recipient": "age1…"}.
struct AttestBody {
  std::string job_id;
  std::string worker_id;
  std::string nonce;  // raw, attestation::kBindingNonceSize bytes
  crypto::Ed25519PublicKey ed25519_public_key;
  crypto::age::X25519Recipient age_recipient;
};
absl::StatusOr<AttestBody> DecodeAttestBody(const nlohmann::json& body);

// report-progress: {"job_id", "step", "total_steps" (1 to 2^40, step at most it),
// "tokens_per_second" >= 0, "loss"}. "loss" is allowed here and decoded by the caller, which first
// checks that the contract lets per-step loss out.
struct ProgressBody {
  uint64_t step = 0;
  uint64_t total_steps = 0;
  double tokens_per_second = 0;
};
absl::StatusOr<ProgressBody> DecodeProgressBody(const nlohmann::json& body);

// keyholder-answer: {"release_id", "receipt": <DSSE JSON>, "header": base64 (a release only)}.
struct KeyholderAnswerBody {
  std::string release_id;
  std::string receipt_json;
  std::string header;  // raw bytes; empty when absent
};
absl::StatusOr<KeyholderAnswerBody> DecodeKeyholderAnswerBody(const nlohmann::json& body);

// export-bundle of `job_id`: {"job_id": the same, "consistency_from": [at most 16 sizes],
// "witnessed": 1 to 16}.
struct ExportBundleBody {
  std::vector<uint64_t> consistency_from;
  int witnessed = 0;  // 0: not asked
};
absl::StatusOr<ExportBundleBody> DecodeExportBundleBody(const nlohmann::json& body,
                                                        absl::string_view job_id);

// deliver-output: {"job_id", "record": <the worker's job record, DSSE JSON>}; returns the record.
absl::StatusOr<std::string> DecodeDeliverOutputBody(const nlohmann::json& body);

}  // namespace triad::coordinator::internal

#endif  // TRIAD_COORDINATOR_INTERNAL_REQUEST_BODY_H_
