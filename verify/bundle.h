// The audit bundle (issue 7): one self-contained JSON file an auditor verifies offline, made by
// Coordinator::ExportBundle (Audit.ExportBundle, `triad audit export`).
//
//   {"type": "triad.audit-bundle/v1",
//    "job_id": "j-…", "exported_at": RFC 3339, "log_origin": "<checkpoint origin>",
//    "contract": {"id", "digest": "sha256:… of the payload", "envelope": <DSSE envelope object>},
//    "job": {"state", "attempt", "output_id" (done only), "failure_reason" (failed only),
//            "submission": <the submit-job request's DSSE envelope object>},
//    "job_record": {"worker": <DSSE envelope object>, "coordinator": <DSSE envelope object>}
//                  or null until the job is done (job_record.h: the same in-toto Statement,
//                  signed by the attested ephemeral key and by the coordinator),
//    "admissions": [{"attempt", "worker_id", "decided_at", "admitted", "reasons": [...],
//                    "simulated", "evidence_digest",
//                    "evidence_document": "<the exact evidence document text>",
//                    "claims": {…} (as the coordinator derived them; {} when invalid)}, …],
//    "key_releases": [{"release_id", "attempt", "artifact_id", "owner", "recipient", "released_at",
//                      "receipt": <the owner's signed receipt, a DSSE envelope object>}, …],
//    "key_refusals": [{"release_id", "attempt", "artifact_id", "owner", "final", "reasons": [...],
//                      "receipt": <the owner's signed refusal, a DSSE envelope object>}, …],
//    "log": {"checkpoint": "<C2SP signed note, with the witnesses' cosignature lines>",
//            "tree_size": N,
//            "entries": [{"index", "entry": "<the exact entry text>",
//                         "inclusion_proof": ["<base64 hash>", …]}, …],
//            "consistency": [{"from", "to", "checkpoint": null or "<signed note at `to`>",
//                             "proof": ["<base64 hash>", …]}, …] (optional; one per size the
//                             export request asked for, at most 16),
//            "witnessed_before": [{"index": <a job.admission entry>,
//                                  "checkpoint": "<the largest cosigned checkpoint not holding
//                                  it>", "proof": [... consistency proof to tree_size]}, …]}}
//
// With "witnessed": N in the export request, the checkpoint is the largest one N witnesses
// cosigned that holds every entry of the job (FAILED_PRECONDITION until there is one).
//
// The evidence document is EvidenceDocument() (coordinator.h): {"tee", "report", "certs",
// "collateral"} with base64 values; evidence_digest is "sha256:" + hex SHA-256 of its exact text,
// so an auditor hashes the string as it stands and decodes the parts to re-verify them (the
// certificates and collateral used at admission are in it; the vendor roots come from the
// auditor's own pinned copy, never from the bundle). Entries are the log entries, byte for byte,
// as hashed into the tree (leaf hash SHA-256(0x00 ‖ entry)); each inclusion proof leads from that
// leaf at "index" to the root of the checkpoint's tree of "tree_size" entries (RFC 6962). The
// checkpoint is signed with the coordinator card's key under its log_origin.
//
// Entries included: every entry about the job (job.submitted, job.assigned, job.admission,
// key.released, key.refused, job.running, job.progress, job.requeued, job.output, job.done,
// job.failed; a hash chain by their "prev" fields, docs/custody.md), the contract's
// contract.signature (one per signer), contract.activated and contract.revoked, the inputs'
// artifact.registered, and the three parties' party.registered; in log order. Each entry is
// compact JSON {"type": "triad.log/v1", "kind", "time", …} (coordinator/README.md lists the fields
// of each kind).
#ifndef TRIAD_VERIFY_BUNDLE_H_
#define TRIAD_VERIFY_BUNDLE_H_

namespace triad::verify {

inline constexpr char kAuditBundleType[] = "triad.audit-bundle/v1";

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_BUNDLE_H_
