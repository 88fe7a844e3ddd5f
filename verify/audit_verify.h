// The auditor's side of issue 7: verifying an audit bundle (bundle.h) and a coordinator's view of
// its log, offline, trusting only the coordinator card and the auditor's own pinned roots. This is
// separate from the writer (bundle.cc, the server): it reads nothing but its arguments.
//
// VerifyBundle runs every check below and reports each one, in this order; a check whose input is
// missing or unusable fails with the reason, it is never skipped. Times come from the signed log
// entries (the time the coordinator logged each decision), never from the auditor's clock.
//
//   bundle                       strict JSON (bounded, no duplicate keys), the v1 form, no unknown
//                                fields, every log entry a triad.log/v1 object
//   checkpoint signature         the checkpoint is a C2SP signed note by the card's key under the
//                                card's log origin; log_origin and tree_size agree with it
//   log inclusion                every entry's RFC 6962 inclusion proof leads to the signed root
//   contract signatures          the envelope holds one valid signature by each of the contract's
//                                three parties and no other
//   contract digest              SHA-256 of the payload = contract.digest = the digest in the
//                                contract.signature, contract.activated and job.submitted entries;
//                                the logged signatures and terms are the envelope's
//   contract terms               the contract was active (CheckContract) at the time of its
//                                contract.activated entry and at that of the job.submitted entry
//   registrations                the three parties' party.registered and the two inputs'
//                                artifact.registered entries name the contract's cards and owners
//   job submission               the submission is a submit-job request for this contract, signed
//                                by its model or data owner, issued within 5 minutes of the
//                                job.submitted entry, which names the same submitter
//   admission N evidence digest  (per admission, N = attempt) SHA-256 of the evidence document =
//                                evidence_digest = the job.admission entry's
//   admission N evidence         the evidence re-verified against the auditor's roots at the time
//                                of the job.admission entry; valid, or invalid with the recorded
//                                reasons for a rejected admission
//   admission N claims           the re-derived claims = the recorded ones (bundle and entry)
//   admission N report data binding  report data = SHA-512(context ‖ nonce ‖ job id ‖ Ed25519 key
//                                ‖ age recipient) with the values the job.admission entry records
//   admission N policy decision  the contract's policy re-evaluated on the claims, with the
//                                binding, gives the recorded decision and reasons
//   job history                  the job's entries form one hash chain ("prev") from job.submitted
//                                to the terminal entry: none left out
//   contract history             the contract's own entries chain the same way; the job's first and
//                                terminal entries name that chain's head (a revocation cannot be
//                                left out)
//   job state                    the job is done: state, output_id, job.output and job.done entries
//   job record worker signature  the worker's envelope is signed once, by the Ed25519 key of the
//                                admitted attempt (the key the evidence binds)
//   job record coordinator signature  the coordinator's envelope is signed by the card's key, over
//                                the same payload
//   job record statement         the in-toto Statement says what the bundle says (CheckJobRecord:
//                                contract, inputs, evidence digest, claims, recipients, …)
//   adapter digest               the record's subject = job.output_id = the adapter_id of the
//                                job.output and job.done entries; record_digest = the payload's
//   key releases                 every release (bundle and key.released entries, which agree) went
//                                to the age recipient of an admitted attempt, for a contract input,
//                                before any revocation and expiry, each with its owner's signed
//                                receipt (verify/receipt.h) naming those keys, that evidence and
//                                that header, and counting the job within max_jobs
//   key refusals                 every refusal carries its owner's signed receipt
//   adapter file                 only when given: SHA-256 of the delivered file = the subject
//                                digest
//   saved view                   only with a saved checkpoint: it and the bundle's are one log
//   witnesses                    only with min_witnesses: enough of the given witnesses cosigned
//                                the bundle's checkpoint (or a later one proven to extend it)
//   admission times              only with min_witnesses: each job.admission entry's time lies
//                                between the witnesses' cosignatures of a checkpoint before it
//                                and of one that holds it
//
// Thread-safe; pure.
#ifndef TRIAD_VERIFY_AUDIT_VERIFY_H_
#define TRIAD_VERIFY_AUDIT_VERIFY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attestation/verifier.h"
#include "coordinator/card.h"
#include "crypto/note.h"
#include "nlohmann/json.hpp"

namespace triad::verify {

// The largest bundle VerifyBundle reads (evidence with TDX collateral is the bulk of it).
inline constexpr size_t kMaxAuditBundleSize = 64 << 20;

struct AuditCheck {
  std::string name;  // one of the names above
  bool ok = false;
  std::string detail;  // what held, or why it failed
};

struct AuditReport {
  std::string job_id;  // empty when the bundle did not parse
  std::vector<AuditCheck> checks;
  // An admitted attempt ran on `sim`: every rendering says contracts::kSimulatedNotice.
  bool simulated = false;
  bool adapter_checked = false;  // an adapter digest was given

  // True when there is at least one check and every check holds.
  bool ok() const;
  // One line per check ("ok   name: detail" / "FAIL name: reason"), the SIMULATED notice when
  // simulated, then the verdict line ("verdict: OK, all 21 checks hold for job J" /
  // "verdict: FAIL, 2 of 21 checks failed for job J").
  std::string ToText() const;
  // {"job_id", "ok", "simulated", "notice" (the SIMULATED line, only when simulated),
  //  "adapter_checked", "checks": [{"name", "ok", "detail"}, …]}
  nlohmann::ordered_json ToJson() const;
};

struct AuditOptions {
  // "sha256:<hex>" of the delivered adapter file, to check against the record's subject.
  std::optional<std::string> adapter_digest;
  // A checkpoint note the reader saved earlier (`audit watch --state`): check "saved view" holds
  // when the bundle's checkpoint and it are one log (a consistency proof in bundle.log.consistency
  // either way, or the same size and root).
  std::optional<std::string> saved_checkpoint;
  // Witnesses the reader trusts, and how many of them must have cosigned (C2SP tlog-cosignature)
  // the bundle's checkpoint or a later one it is proven consistent with: check "witnesses". With
  // min_witnesses > 0, check "admission times" also holds each admission's logged time, at which
  // its evidence is verified, between the witnesses' cosignature times of the largest checkpoint
  // before it (bundle.log.witnessed_before) and of one that holds it, within kWitnessSkew.
  std::vector<crypto::Cosigner> witnesses;
  size_t min_witnesses = 0;
};

// The clock difference allowed between the coordinator and the witnesses.
inline constexpr absl::Duration kWitnessSkew = absl::Minutes(5);

// Verifies `bundle_json` against the pinned `card` and `anchors` (vendor roots, and the simulation
// keys the auditor trusts as the coordinator did). Never fails as a call: every problem is a failed
// check in the report.
AuditReport VerifyBundle(absl::string_view bundle_json, const coordinator::CoordinatorCard& card,
                         const attestation::TrustAnchors& anchors,
                         const AuditOptions& options = {});

// What a party fetching a job's output needs from a bundle that VerifyBundle accepted.
struct VerifiedJob {
  std::string job_id;
  std::string adapter_id;      // "sha256:<hex>": the subject of the worker's signed record
  std::string sealed_metrics;  // the record's metrics, age-encrypted to the metrics recipients
};
// Reads those facts; the bundle must have passed VerifyBundle first (nothing is re-checked here).
absl::StatusOr<VerifiedJob> VerifiedJobOf(absl::string_view bundle_json);

// A checkpoint note the card's key signed under the card's log origin (crypto::OpenCheckpoint).
absl::StatusOr<crypto::Checkpoint> OpenCardCheckpoint(const coordinator::CoordinatorCard& card,
                                                      absl::string_view signed_note);

// What `triad audit watch` decides before it replaces its saved checkpoint: OK when `newer`
// extends `older` (both already opened with OpenCardCheckpoint), with `consistency_proof` from
// older.size to newer.size. Fails with kFailedPrecondition, saying "not an extension", when the
// newer tree is smaller ("the coordinator shows tree size 5, smaller than the saved 9"), has the
// same size and another root, or the proof does not verify (the merkle error follows).
absl::Status CheckCheckpointExtends(const crypto::Checkpoint& older,
                                    const crypto::Checkpoint& newer,
                                    absl::Span<const std::string> consistency_proof);

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_AUDIT_VERIFY_H_
