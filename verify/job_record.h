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
//                  "training": {"steps", "tokens", "wall_seconds"},
//                  "recipients": ["age1…", …],
//                  "metrics": {"recipients": ["age1…", …], "sealed": "<base64 age file>"}}}
//
// The record is read by every party of the contract and its auditors, so it carries no metric value
// in the clear: "metrics" (present exactly when the contract names metrics recipients) holds the
// training report (final loss; per-step losses with per_step_loss) age-encrypted to the metrics
// recipients alone. Other predicate fields are refused, so that every field an auditor reads is one
// the coordinator checked.
#ifndef TRIAD_VERIFY_JOB_RECORD_H_
#define TRIAD_VERIFY_JOB_RECORD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/contract.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::verify {

inline constexpr char kInTotoPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kJobRecordPredicateType[] = "https://triad.dev/job-record/v1";
inline constexpr size_t kMaxJobRecordSize = 256 * 1024;
inline constexpr size_t kMaxSealedMetricsSize = 64 * 1024;

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
  // The metrics recipients' age recipients, any order; empty: the record carries no metrics.
  std::vector<std::string> metrics_recipients;
};

// Fills e->recipients and e->metrics_recipients with the age recipients of `contract`'s adapter
// and metrics recipients (each once).
void SetContractRecipients(const contracts::Contract& contract, ExpectedJobRecord* e);

struct CheckedJobRecord {
  crypto::DsseEnvelope envelope;
  std::string subject_name;
  std::string subject_id;  // "sha256:<hex>": the encrypted adapter's artifact id
  std::string sealed_metrics;  // the age file of predicate.metrics.sealed (empty when none)
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
