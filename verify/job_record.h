// Job records (issue 7): an in-toto Statement v1 about a finished job, whose subject is the
// encrypted adapter, in a DSSE envelope (payloadType kInTotoPayloadType) signed by the worker's
// attested ephemeral Ed25519 key; the coordinator signs the same payload in a second envelope.
//
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": "<job id>.adapter.tar.age", "digest": {"sha256": "<hex>"}}],
//    "predicateType": "https://triad.dev/job-record/v1",
//    "predicate": {"job_id", "contract_id", "contract_digest",
//                  "inputs": [{"role": "base_model", "id"}, {"role": "dataset", "id"}],
//                  "worker": {"tee", "evidence_digest", "claims": {…}, "simulated",
//                             "ed25519_public_key": base64, "age_recipient"},
//                  "training": {"steps", "tokens", "wall_seconds", "final_loss"?},
//                  "recipients": ["age1…", …]}}
//
// final_loss appears only when the contract lets metrics leave the TEE (per_step_loss, or any
// metrics recipient). Other predicate fields are refused, so that every field an auditor reads is
// one the coordinator checked.
#ifndef TRIAD_VERIFY_JOB_RECORD_H_
#define TRIAD_VERIFY_JOB_RECORD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::verify {

inline constexpr char kInTotoPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kJobRecordPredicateType[] = "https://triad.dev/job-record/v1";
inline constexpr size_t kMaxJobRecordSize = 256 * 1024;

// What the coordinator knows about the job; the record must say the same.
struct ExpectedJobRecord {
  std::string job_id;
  std::string contract_id;
  std::string contract_digest;
  std::string base_model_id;
  std::string dataset_id;
  std::string tee;
  std::string evidence_digest;
  nlohmann::json claims;
  bool simulated = false;
  std::string age_recipient;            // the attested ephemeral recipient
  std::vector<std::string> recipients;  // the adapter recipients' age recipients, any order
  bool metrics_allowed = false;
};

struct CheckedJobRecord {
  crypto::DsseEnvelope envelope;
  std::string subject_name;
  std::string subject_id;  // "sha256:<hex>": the encrypted adapter's artifact id
};

// Parses a job record envelope and checks it: exactly one signature, by `worker_key` (the attested
// ephemeral key, which the predicate must name too); the
// Statement's form; and every predicate field against `expected`. Failures: kPermissionDenied for
// the signature, kInvalidArgument otherwise, each "job record: <what>" ("job record:
// predicate.worker.evidence_digest is sha256:…, the admitted evidence is sha256:…").
absl::StatusOr<CheckedJobRecord> CheckJobRecord(absl::string_view envelope_json,
                                                const crypto::Ed25519PublicKey& worker_key,
                                                const ExpectedJobRecord& expected);

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_JOB_RECORD_H_
