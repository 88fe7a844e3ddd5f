#include "keyholder/keyholder.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/status.h"
#include "contracts/contract.h"
#include "crypto/age.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "verify/audit_verify.h"
#include "verify/receipt.h"

namespace triad::keyholder {
namespace {

// An artifact's header holds one X25519 stanza (about 200 bytes); only its start is kept.
constexpr size_t kHeaderPrefixBytes = 4096;

// Hashes a whole ciphertext and keeps its first bytes.
class Hashing {
 public:
  absl::Status Take(absl::string_view chunk) {
    hasher_.Update(chunk);
    if (prefix_.size() < kHeaderPrefixBytes) {
      absl::string_view head = chunk.substr(0, kHeaderPrefixBytes - prefix_.size());
      prefix_.append(head.data(), head.size());
    }
    return absl::OkStatus();
  }
  std::string Id() { return absl::StrCat("sha256:", base::HexEncode(hasher_.Finish())); }
  const std::string& prefix() const { return prefix_; }

 private:
  crypto::Hasher hasher_{crypto::HashAlg::kSha256};
  std::string prefix_;
};

}  // namespace

Keyholder::Keyholder(Journal& journal, Owner owner, coordinator::CoordinatorCard coordinator,
                     attestation::TrustAnchors anchors, const base::Clock& clock,
                     ArtifactReader read_artifact)
    : journal_(journal),
      owner_(std::move(owner)),
      coordinator_(std::move(coordinator)),
      anchors_(std::move(anchors)),
      clock_(clock),
      read_artifact_(std::move(read_artifact)) {}

namespace {

// The owner's header: binary age with exactly one X25519 stanza, and that stanza opens (MAC
// included) with the owner's identity: the file is encrypted to the owner alone.
absl::StatusOr<std::string> CheckOwnHeader(absl::string_view prefix, const Owner& owner,
                                           absl::string_view what) {
  TRIAD_ASSIGN_OR_RETURN(crypto::age::Header h,
                         base::Annotate(crypto::age::Header::Parse(prefix), what));
  if (h.stanzas().size() != 1 || h.stanzas()[0].args.empty() ||
      h.stanzas()[0].args[0] != "X25519") {
    return absl::FailedPreconditionError(absl::StrCat(what, " is encrypted to ", h.stanzas().size(),
                                                      " recipient(s), not to this owner alone"));
  }
  absl::StatusOr<crypto::SecretBytes> key = crypto::age::UnwrapFileKey(h, *owner.identities);
  if (!key.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(what, " does not open with ", owner.card.name,
                                                      "'s identity: ", key.status().message()));
  }
  return h.encoded();
}

}  // namespace

absl::StatusOr<std::string> Keyholder::KnownHeader(const std::string& artifact_id) {
  TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> known, journal_.ArtifactHeader(artifact_id));
  if (known) return *known;
  if (!read_artifact_) {
    return absl::FailedPreconditionError(
        absl::StrCat("artifact ", artifact_id, " is not known to this keyholder"));
  }
  Hashing h;
  TRIAD_RETURN_IF_ERROR(base::Annotate(
      read_artifact_(artifact_id, [&h](absl::string_view chunk) { return h.Take(chunk); }),
      absl::StrCat("reading artifact ", artifact_id)));
  std::string got = h.Id();
  if (got != artifact_id) {
    // The coordinator served other bytes under this id: nothing of them is trusted.
    return absl::DataLossError(
        absl::StrCat("the coordinator served ", got, " for artifact ", artifact_id));
  }
  TRIAD_ASSIGN_OR_RETURN(
      std::string header,
      CheckOwnHeader(h.prefix(), owner_, absl::StrCat("artifact ", artifact_id)));
  TRIAD_RETURN_IF_ERROR(journal_.RecordArtifact(artifact_id, header, clock_.Now()));
  return header;
}

absl::StatusOr<std::string> ImportArtifact(
    Journal& journal, const Owner& owner, absl::Time now,
    const std::function<absl::Status(const std::function<absl::Status(absl::string_view)>&)>&
        read_all) {
  Hashing h;
  TRIAD_RETURN_IF_ERROR(read_all([&h](absl::string_view chunk) { return h.Take(chunk); }));
  std::string id = h.Id();
  TRIAD_ASSIGN_OR_RETURN(std::string header, CheckOwnHeader(h.prefix(), owner, "the file"));
  TRIAD_RETURN_IF_ERROR(journal.RecordArtifact(id, header, now));
  return id;
}

Answer Keyholder::Refuse(const verify::ReleaseContext& r, std::vector<std::string> reasons,
                         bool final, const std::optional<verify::VerifiedAdmission>& a,
                         const std::optional<crypto::Checkpoint>& cp) {
  verify::ReleaseReceipt rc;
  rc.release = false;
  rc.final = final;
  rc.release_id = r.release_id.substr(0, 512);
  rc.job_id = r.job_id.substr(0, 256);
  rc.attempt = r.attempt;
  rc.artifact_id = r.artifact_id.substr(0, 128);
  if (!a) {
    // What can be read of the contract, for the record.
    absl::StatusOr<crypto::DsseEnvelope> env =
        crypto::DsseEnvelope::FromJson(r.contract_envelope_json);
    if (env.ok() && contracts::Contract::FromPayload(env->payload).ok()) {
      rc.contract_id = contracts::Contract::FromPayload(env->payload)->id;
      rc.contract_digest = contracts::ContractDigest(*env);
    }
  }
  if (a) {
    rc.contract_id = a->contract.id;
    rc.contract_digest = a->contract_digest;
    rc.recipient = a->age_recipient;
    rc.ed25519_public_key = a->ed25519_public_key;
    rc.evidence_digest = a->evidence_digest;
    rc.admission_index = a->admission_index;
  }
  if (cp) {
    rc.checkpoint_size = cp->size;
    rc.checkpoint_root = cp->root_hash;
  }
  for (std::string& why : reasons) {
    if (why.size() > 1024) why = absl::StrCat(why.substr(0, 1000), "…");
  }
  if (reasons.size() > 64) reasons.resize(64);
  rc.reasons = reasons;
  rc.time = clock_.Now();
  Answer out;
  out.release_id = r.release_id;
  out.release = false;
  out.final = final;
  out.reasons = std::move(reasons);
  out.receipt_json = verify::SignReceipt(rc, *owner_.signing_key).ToJson();
  return out;
}

absl::StatusOr<Answer> Keyholder::Decide(const verify::ReleaseContext& r) {
  // Asked again (our answer was lost, or we crashed after journaling it): the same answer.
  TRIAD_ASSIGN_OR_RETURN(std::optional<Decision> before, journal_.GetDecision(r.release_id));
  if (before) {
    Answer out;
    out.release_id = before->release_id;
    out.release = before->release;
    out.header = before->header;
    out.receipt_json = before->receipt_json;
    out.final = before->final;
    out.reasons = before->reasons;
    out.replayed = true;
    return out;
  }
  const absl::Time now = clock_.Now();

  // What this keyholder saw of the log last; a checkpoint that does not extend it is a fork, kept.
  std::optional<crypto::Checkpoint> last_seen;
  TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> last_note, journal_.LastCheckpoint());
  if (last_note) {
    absl::StatusOr<crypto::Checkpoint> cp = verify::OpenCardCheckpoint(coordinator_, *last_note);
    if (!cp.ok()) return base::Annotate(cp.status(), "the journal's last checkpoint");
    last_seen = *cp;
  }
  // Forks shown before this request: a coordinator caught with two views of its log gets nothing
  // more (see below).
  TRIAD_ASSIGN_OR_RETURN(int64_t forks_before, journal_.CountForks());
  absl::StatusOr<crypto::Checkpoint> shown = verify::OpenCardCheckpoint(coordinator_, r.checkpoint);
  bool fork = false;
  // Only a checkpoint proven to extend the last one seen (or the first one) becomes the last one
  // seen; one shown without a proof would let the coordinator move this keyholder onto a fork
  // unnoticed.
  bool extends_seen = !last_seen.has_value();
  if (shown.ok() && last_seen) {
    std::vector<std::string> proof;
    if (r.consistency_from == last_seen->size) proof = r.consistency_proof;
    absl::Status extends = verify::CheckCheckpointExtends(*last_seen, *shown, proof);
    extends_seen = extends.ok();
    if (!extends.ok() && shown->size <= last_seen->size) fork = true;
    if (!extends.ok() && shown->size > last_seen->size && r.consistency_from == last_seen->size)
      fork = true;
    if (fork)
      TRIAD_RETURN_IF_ERROR(journal_.RecordFork(*last_note, r.checkpoint, extends.message(), now));
  }

  verify::AdmissionVerdict v =
      verify::VerifyAdmission(r, coordinator_, owner_.card, anchors_, now, last_seen);
  std::optional<crypto::Checkpoint> good_cp = extends_seen ? v.checkpoint : std::nullopt;
  auto finish = [&](Answer a, const std::string& nonce, const std::string& contract_id,
                    const std::string& recipient) -> absl::StatusOr<Answer> {
    Decision d;
    d.release_id = r.release_id;
    d.job_id = r.job_id;
    d.contract_id = contract_id;
    d.attempt = r.attempt;
    d.artifact_id = r.artifact_id;
    d.release = a.release;
    d.final = a.final;
    d.reasons = a.reasons;
    d.recipient = recipient;
    d.nonce = nonce;
    d.header = a.header;
    d.receipt_json = a.receipt_json;
    d.decided_at = now;
    if (a.release && v.admission) d.submission_digest = v.admission->submission_digest;
    TRIAD_RETURN_IF_ERROR(journal_.RecordDecision(d));
    if (good_cp) TRIAD_RETURN_IF_ERROR(journal_.RecordCheckpoint(r.checkpoint, good_cp->size, now));
    return a;
  };

  // The owner's own revocations hold whatever the coordinator says.
  std::string contract_id = v.admission ? v.admission->contract.id : "";
  if (contract_id.empty()) {
    absl::StatusOr<crypto::DsseEnvelope> env =
        crypto::DsseEnvelope::FromJson(r.contract_envelope_json);
    absl::StatusOr<contracts::Contract> c =
        env.ok() ? contracts::Contract::FromPayload(env->payload) : env.status();
    if (c.ok()) contract_id = c->id;
  }
  if (!contract_id.empty()) {
    TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> revoked,
                           journal_.RevocationReason(contract_id));
    if (revoked) {
      return finish(Refuse(r,
                           {absl::StrCat("contract ", contract_id,
                                         " is revoked on this keyholder: ", *revoked)},
                           true, v.admission, good_cp),
                    "", contract_id, "");
    }
  }
  if (fork) {
    std::vector<std::string> reasons = v.reasons;
    reasons.insert(
        reasons.begin(),
        "the coordinator shows a log that does not extend the one this keyholder saw (a fork; "
        "both checkpoints are kept in the journal)");
    return finish(Refuse(r, reasons, false, v.admission, std::nullopt), "", contract_id, "");
  }
  if (forks_before > 0) {
    // Whatever it shows now may be the branch that no auditor or witness sees; no other worker
    // can change that, so the refusal is final.
    return finish(Refuse(r,
                         {absl::StrCat("this keyholder holds ", forks_before,
                                       " fork(s) of the coordinator's log in its journal (signed "
                                       "checkpoints that contradict each other): it releases "
                                       "nothing more")},
                         true, v.admission, good_cp),
                  "", contract_id, "");
  }
  if (!v.admission)
    return finish(Refuse(r, v.reasons, v.final, std::nullopt, good_cp), "", contract_id, "");
  const verify::VerifiedAdmission& a = *v.admission;

  // The nonce, once: a replayed admission (even a logged one) gets nothing.
  TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> spent, journal_.NonceSpentBy(a.nonce));
  if (spent && *spent != r.release_id) {
    return finish(Refuse(r,
                         {absl::StrCat("the admission's nonce was already used (release ", *spent,
                                       "): a replayed admission")},
                         false, a, good_cp),
                  "", contract_id, a.age_recipient);
  }
  // One signed submit-job request makes one job: the coordinator cannot log a second job (which
  // max_jobs would count) from a request an owner made once.
  TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> submitted_for,
                         journal_.JobOfSubmission(a.submission_digest));
  if (submitted_for && *submitted_for != r.job_id) {
    return finish(Refuse(r,
                         {absl::StrCat("submission: it was the submission of job ", *submitted_for,
                                       " already (one signed submit-job request, one job)")},
                         true, a, good_cp),
                  "", contract_id, a.age_recipient);
  }
  // max_jobs: distinct jobs; the retries of one job count once.
  TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> jobs, journal_.ReleasedJobs(a.contract.id));
  auto pos = std::find(jobs.begin(), jobs.end(), r.job_id);
  uint64_t ordinal = static_cast<uint64_t>(pos - jobs.begin()) + 1;
  if (pos == jobs.end() && jobs.size() >= a.contract.terms.max_jobs) {
    return finish(
        Refuse(r,
               {absl::StrCat("contract ", a.contract.id, " allows ", a.contract.terms.max_jobs,
                             " job(s) (max_jobs) and this keyholder released its key for ",
                             jobs.size(), " already")},
               true, a, good_cp),
        a.nonce, contract_id, a.age_recipient);
  }

  // The contract's artifact, by its header as the owner uploaded it; never one from the request.
  absl::StatusOr<std::string> header_bytes = KnownHeader(r.artifact_id);
  if (absl::IsDataLoss(header_bytes.status()) ||
      absl::IsFailedPrecondition(header_bytes.status())) {
    return finish(Refuse(r, {std::string(header_bytes.status().message())}, false, a, good_cp),
                  a.nonce, contract_id, a.age_recipient);
  }
  TRIAD_RETURN_IF_ERROR(header_bytes.status());  // could not read it now: ask again later
  TRIAD_ASSIGN_OR_RETURN(crypto::age::Header header, crypto::age::Header::Parse(*header_bytes));
  TRIAD_ASSIGN_OR_RETURN(crypto::age::X25519Recipient worker,
                         crypto::age::X25519Recipient::Parse(a.age_recipient));
  // The file key exists in memory only here, inside RewrapHeader (SecretBytes, wiped).
  TRIAD_ASSIGN_OR_RETURN(
      crypto::age::Header rewrapped,
      crypto::age::RewrapHeader(header, *owner_.identities, absl::MakeConstSpan(&worker, 1)));

  verify::ReleaseReceipt rc;
  rc.release = true;
  rc.release_id = r.release_id;
  rc.contract_id = a.contract.id;
  rc.contract_digest = a.contract_digest;
  rc.job_id = r.job_id;
  rc.attempt = r.attempt;
  rc.artifact_id = r.artifact_id;
  rc.recipient = a.age_recipient;
  rc.ed25519_public_key = a.ed25519_public_key;
  rc.evidence_digest = a.evidence_digest;
  rc.admission_index = a.admission_index;
  rc.checkpoint_size = a.checkpoint.size;
  rc.checkpoint_root = a.checkpoint.root_hash;
  rc.header_digest = crypto::Sha256Id(rewrapped.encoded());
  rc.job_ordinal = ordinal;
  rc.time = now;
  Answer out;
  out.release_id = r.release_id;
  out.release = true;
  out.header = rewrapped.encoded();
  out.receipt_json = verify::SignReceipt(rc, *owner_.signing_key).ToJson();
  return finish(std::move(out), a.nonce, a.contract.id, a.age_recipient);
}

absl::StatusOr<std::string> Keyholder::Witness(absl::string_view signed_note, uint64_t proof_from,
                                               const std::vector<std::string>& consistency_proof) {
  const absl::Time now = clock_.Now();
  TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint shown,
                         verify::OpenCardCheckpoint(coordinator_, signed_note));
  TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> last_note, journal_.LastCheckpoint());
  if (last_note) {
    TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint last,
                           verify::OpenCardCheckpoint(coordinator_, *last_note));
    std::vector<std::string> proof;
    if (proof_from == last.size) proof = consistency_proof;
    absl::Status extends = verify::CheckCheckpointExtends(last, shown, proof);
    if (!extends.ok()) {
      TRIAD_RETURN_IF_ERROR(journal_.RecordFork(*last_note, signed_note, extends.message(), now));
      return extends;
    }
  }
  TRIAD_RETURN_IF_ERROR(journal_.RecordCheckpoint(signed_note, shown.size, now));
  TRIAD_ASSIGN_OR_RETURN(crypto::Note note, crypto::ParseNote(signed_note));
  TRIAD_ASSIGN_OR_RETURN(
      std::string line,
      crypto::CosignatureLine(owner_.card.name, *owner_.signing_key, note.text, now));
  return crypto::AddSignatureLine(signed_note, line);
}

}  // namespace triad::keyholder
