// The job record (issue 7): what the worker attests it did, as an in-toto Statement v1 whose
// subject is the encrypted adapter it delivered, signed in a DSSE envelope by the ephemeral Ed25519
// key that its attestation evidence binds (attestation/binding.h). The coordinator signs the same
// payload in a second envelope.
//
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": "<job id>.adapter.tar.age", "digest": {"sha256": "<hex>"}}],
//    "predicateType": "https://triad.dev/job-record/v1",
//    "predicate": {"job_id", "contract_id", "contract_digest",
//                  "inputs": [{"role": "base_model", "id"}, {"role": "dataset", "id"}],
//                  "worker": {"tee", "evidence_digest", "claims": {…}, "simulated",
//                             "ed25519_public_key": "<base64 raw>", "age_recipient": "age1…"},
//                  "training": {"steps", "tokens", "wall_seconds"}, "metrics"? (sealed;
//                  verify/job_record.h), "recipients": ["age1…", …]}}
#ifndef TRIAD_WORKER_JOB_RECORD_H_
#define TRIAD_WORKER_JOB_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::worker {

inline constexpr char kInTotoPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kInTotoStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kJobRecordPredicateType[] = "https://triad.dev/job-record/v1";

struct JobRecord {
  std::string job_id;
  std::string contract_id;
  std::string
      contract_digest;         // "sha256:<hex>" of the contract payload (contracts::ContractDigest)
  std::string base_model_id;   // "sha256:<hex>" of the model ciphertext
  std::string dataset_id;      // "sha256:<hex>" of the dataset ciphertext
  std::string adapter_sha256;  // lower-case hex SHA-256 of the delivered adapter ciphertext

  std::string tee;                // "sev-snp", "tdx", "sim"
  std::string evidence_digest;    // "sha256:<hex>", as the coordinator recorded the admission
  nlohmann::ordered_json claims;  // the claims JSON the coordinator returned from Attest
  bool simulated = false;
  std::string ed25519_public_key;  // raw 32 bytes of the ephemeral key
  std::string age_recipient;       // "age1…" of the ephemeral identity

  int64_t steps = 0;
  int64_t tokens = 0;
  double wall_seconds = 0;

  std::vector<std::string> recipients;  // "age1…" the adapter is encrypted to, in contract order
  // The training report age-encrypted to the metrics recipients (their "age1…" in
  // metrics_recipients); both empty when the contract names none.
  std::vector<std::string> metrics_recipients;
  std::string sealed_metrics;

  // "<job id>.adapter.tar.age"
  std::string SubjectName() const;
  // The Statement, compact JSON with keys in the order above.
  std::string ToPayload() const;
};

// A DSSE envelope (payloadType kInTotoPayloadType) of record.ToPayload(), signed by `key`.
crypto::DsseEnvelope SignJobRecord(const JobRecord& record, const crypto::Ed25519PrivateKey& key);

}  // namespace triad::worker

#endif  // TRIAD_WORKER_JOB_RECORD_H_
