// The coordinator: construction, shared checks, the registry, contracts, jobs and leases.
// Admission and the worker's calls are in admission.cc, delivery in delivery.cc, audit export in
// bundle.cc.
#include "coordinator/coordinator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "coordinator/internal/common.h"
#include "coordinator/request.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace triad::coordinator {

using internal::AddLog;
using internal::BodyString;
using internal::BodyUint;
using internal::CheckBodyKeys;
using internal::ToStored;

namespace {

// A key id from an envelope, shown in a message: escaped and bounded (it is the sender's text).
std::string ShowKeyId(absl::string_view keyid) { return absl::CHexEscape(keyid.substr(0, 80)); }

}  // namespace

Coordinator::Coordinator(const base::Clock& clock, storage::Store& store, storage::BlobStore& blobs,
                         attestation::TrustAnchors anchors, crypto::Ed25519PrivateKey signing_key,
                         CoordinatorOptions options)
    : clock_(clock),
      store_(store),
      blobs_(blobs),
      anchors_(std::move(anchors)),
      signing_key_(std::move(signing_key)),
      fingerprint_(signing_key_.public_key().KeyId()),
      options_(options) {}

Coordinator::~Coordinator() = default;

// ---- shared checks ----

absl::StatusOr<Coordinator::PartyRequest> Coordinator::VerifyPartyRequest(
    absl::string_view envelope_json, absl::string_view action) {
  std::optional<storage::Party> party;
  KeyLookup lookup = [&](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    absl::StatusOr<storage::Party> p = store_.GetPartyByKeyId(keyid);
    if (absl::IsNotFound(p.status())) {
      return absl::PermissionDeniedError(absl::StrCat(
          "request is signed by key ", ShowKeyId(keyid),
          ", which is not a registered party's; ask the coordinator's operator to add the party "
          "(triad coordinator parties add CARD)"));
    }
    TRIAD_RETURN_IF_ERROR(p.status());
    if (p->removed_at) {
      return absl::PermissionDeniedError(absl::StrCat("party ", p->name,
                                                      " was removed by the operator at ",
                                                      base::FormatRfc3339(*p->removed_at)));
    }
    TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card, contracts::PartyCard::FromJson(p->card_json));
    party = *std::move(p);
    return card.signing_key;
  };
  TRIAD_ASSIGN_OR_RETURN(VerifiedRequest v,
                         VerifyRequest(envelope_json, action, clock_.Now(), lookup, fingerprint_));
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card,
                         contracts::PartyCard::FromJson(party->card_json));
  return PartyRequest{std::move(v), *std::move(party), std::move(card)};
}

absl::StatusOr<Coordinator::ReadRequest> Coordinator::VerifyReadRequest(
    absl::string_view envelope_json, absl::string_view action, const std::string& contract_id) {
  if (envelope_json.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("reading contract ", contract_id,
                     " needs a request signed by one of its parties or an auditor it names"));
  }
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(contract_id));
  std::string reader;
  std::optional<contracts::Role> reader_slot;
  KeyLookup lookup = [&](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    if (std::optional<contracts::Role> slot = internal::SlotOfKey(c->contract, keyid)) {
      const contracts::PartyCard& card = c->contract.party(*slot);
      absl::StatusOr<storage::Party> p = store_.GetPartyByKeyId(keyid);
      if (p.ok() && p->removed_at) {
        return absl::PermissionDeniedError(
            absl::StrCat("party ", p->name, " was removed by the operator"));
      }
      reader = card.name;
      reader_slot = slot;
      return card.signing_key;
    }
    if (const contracts::PartyCard* a = c->contract.AuditorOfKeyId(keyid)) {
      reader = a->name;
      return a->signing_key;
    }
    return absl::PermissionDeniedError(absl::StrCat("request is signed by key ", ShowKeyId(keyid),
                                                    ", which is neither a party of contract ",
                                                    contract_id, " nor an auditor it names"));
  };
  TRIAD_ASSIGN_OR_RETURN(VerifiedRequest v,
                         VerifyRequest(envelope_json, action, clock_.Now(), lookup, fingerprint_));
  return ReadRequest{std::move(v), std::move(reader), reader_slot, std::move(c)};
}

absl::Status Coordinator::CheckUnused(const std::string& request_id) const {
  absl::StatusOr<storage::StoredRequest> seen = store_.GetRequest(request_id);
  if (seen.ok())
    return absl::AlreadyExistsError(absl::StrCat("request ", request_id, " was already used"));
  if (absl::IsNotFound(seen.status())) return absl::OkStatus();
  return seen.status();
}

absl::StatusOr<std::shared_ptr<const Coordinator::CachedContract>> Coordinator::LoadContract(
    absl::string_view id) {
  {
    std::lock_guard<std::mutex> lock(contracts_mu_);
    auto it = contracts_.find(std::string(id));
    if (it != contracts_.end()) return it->second;
  }
  TRIAD_ASSIGN_OR_RETURN(storage::Contract stored, store_.GetContract(id));
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope envelope,
                         crypto::DsseEnvelope::FromJson(stored.envelope_json));
  TRIAD_ASSIGN_OR_RETURN(contracts::Contract contract,
                         contracts::Contract::FromPayload(envelope.payload));
  // Signatures and terms do not depend on the time; check them once, inside the validity window.
  contracts::ContractStatus status = contracts::CheckContract(envelope, contract.not_before);
  if (!status.active()) {
    return absl::DataLossError(absl::StrCat(
        "stored contract ", id, " does not check: ", absl::StrJoin(status.reasons, "; ")));
  }
  auto c = std::make_shared<const CachedContract>(
      CachedContract{std::move(stored), std::move(envelope), std::move(contract)});
  std::lock_guard<std::mutex> lock(contracts_mu_);
  auto [it, inserted] = contracts_.emplace(std::string(id), std::move(c));
  return it->second;
}

std::unique_ptr<Coordinator::Transfer> Coordinator::StartTransfer(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(transfers_mu_);
  ++transfers_[job_id];
  return std::make_unique<Transfer>(this, job_id);
}

Coordinator::Transfer::~Transfer() {
  std::lock_guard<std::mutex> lock(c_->transfers_mu_);
  if (--c_->transfers_[job_id_] <= 0) c_->transfers_.erase(job_id_);
}

bool Coordinator::InTransfer(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(transfers_mu_);
  return transfers_.count(job_id) > 0;
}

void Coordinator::NotifyChange() {
  {
    std::lock_guard<std::mutex> lock(change_mu_);
    ++changes_;
  }
  change_cv_.notify_all();
}

uint64_t Coordinator::ChangeCount() const {
  std::lock_guard<std::mutex> lock(change_mu_);
  return changes_;
}

uint64_t Coordinator::WaitForChange(uint64_t seen, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(change_mu_);
  change_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return changes_ != seen; });
  return changes_;
}

// ---- Registry ----

absl::StatusOr<RegisterPartyResult> Coordinator::RegisterParty(absl::string_view envelope_json) {
  if (!options_.open_registration) {
    return absl::PermissionDeniedError(
        "this coordinator does not take self-registrations: its operator adds parties (triad "
        "coordinator parties add CARD); send your card to the operator");
  }
  // The signer is the card the request carries: read it before verifying the signature with it.
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         crypto::DsseEnvelope::FromJson(envelope_json, kMaxRequestSize));
  TRIAD_ASSIGN_OR_RETURN(Request unverified, ParseRequestPayload(env.payload));
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card,
                         internal::DecodeRegisterPartyBody(unverified.body));
  KeyLookup lookup = [&card](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    if (keyid == card.fingerprint()) return card.signing_key;
    return absl::PermissionDeniedError(
        "a party registers itself: the request must be signed by the key of the card it carries");
  };
  TRIAD_ASSIGN_OR_RETURN(VerifiedRequest v, VerifyRequest(envelope_json, "register-party",
                                                          clock_.Now(), lookup, fingerprint_));
  TRIAD_RETURN_IF_ERROR(CheckUnused(v.request.request_id));

  std::string card_json = card.ToJson();
  RegisterPartyResult result{card.name, card.fingerprint(), false};
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  absl::StatusOr<storage::Party> existing = txn.GetParty(card.name);
  if (existing.ok()) {
    if (existing->card_json != card_json) {
      return absl::AlreadyExistsError(absl::StrCat("party ", card.name,
                                                   " is already registered with another card (key ",
                                                   existing->key_id, ")"));
    }
    result.already_registered = true;
    TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(v, /*keep=*/false)));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
    return result;
  }
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(v, /*keep=*/true)));
  TRIAD_RETURN_IF_ERROR(txn.InsertParty({card.name,
                                         std::string(contracts::RoleName(card.role)),
                                         card.fingerprint(),
                                         card_json,
                                         std::string(envelope_json),
                                         {},
                                         std::nullopt}));
  TRIAD_RETURN_IF_ERROR(AddLog(txn, "", "party.registered", clock_.Now(),
                               {{"name", card.name},
                                {"role", contracts::RoleName(card.role)},
                                {"fingerprint", card.fingerprint()},
                                {"age_recipient", card.age_recipient.ToString()},
                                {"added_by", "self (open registration)"}}));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  return result;
}

class Coordinator::ArtifactUpload : public Upload {
 public:
  ArtifactUpload(Coordinator* c, PartyRequest req, storage::ArtifactKind kind, std::string name,
                 std::string id, uint64_t size, std::unique_ptr<storage::BlobWriter> writer)
      : c_(c),
        req_(std::move(req)),
        kind_(kind),
        name_(std::move(name)),
        id_(std::move(id)),
        size_(size),
        writer_(std::move(writer)) {}

  absl::Status Write(absl::string_view chunk) override {
    TRIAD_RETURN_IF_ERROR(status_);
    if (chunk.size() > size_ - received_) {
      return status_ = absl::InvalidArgumentError(
                 absl::StrCat("upload is longer than the declared size of ", size_, " bytes"));
    }
    received_ += chunk.size();
    prefix_.Take(chunk);
    if (!header_checked_) {
      // Refused from the header in the first bytes, before the rest is stored.
      absl::StatusOr<bool> checked = prefix_.CheckOwnerHeader(/*complete=*/received_ == size_);
      if (!checked.ok()) return status_ = checked.status();
      header_checked_ = *checked;
    }
    return status_ = writer_->Write(chunk);
  }

  absl::StatusOr<ArtifactInfo> Finish() override {
    TRIAD_RETURN_IF_ERROR(status_);
    status_ = absl::FailedPreconditionError("upload is finished");
    if (received_ != size_) {
      return absl::InvalidArgumentError(absl::StrCat("upload ended after ", received_,
                                                     " bytes; the registration declared ", size_));
    }
    if (!header_checked_) {
      TRIAD_ASSIGN_OR_RETURN(header_checked_, prefix_.CheckOwnerHeader(/*complete=*/true));
      if (!header_checked_) return absl::InvalidArgumentError("artifact is not an age v1 file");
    }
    TRIAD_ASSIGN_OR_RETURN(bool existed, c_->blobs_.Contains(id_));
    absl::StatusOr<std::string> id = writer_->Commit();
    if (!id.ok()) return base::Annotate(id.status(), "upload digest mismatch");
    return internal::DiscardBlobUnlessRecorded(c_->blobs_, *id, existed, Record());
  }

 private:
  // The database side of an upload whose blob is stored: the artifact and its log entry.
  absl::StatusOr<ArtifactInfo> Record() {
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, c_->store_.Begin());
    TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req_.verified, /*keep=*/true)));
    storage::Artifact a;
    a.id = id_;
    a.kind = kind_;
    a.name = name_;
    a.owner = req_.party.name;
    a.size = size_;
    a.envelope_json = req_.verified.envelope.ToJson();
    TRIAD_RETURN_IF_ERROR(txn.InsertArtifact(a));
    TRIAD_RETURN_IF_ERROR(AddLog(txn, "", "artifact.registered", c_->clock_.Now(),
                                 {{"id", id_},
                                  {"artifact_kind", storage::ArtifactKindName(kind_)},
                                  {"name", name_},
                                  {"owner", req_.party.name},
                                  {"owner_key", req_.party.key_id},
                                  {"size", size_}}));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
    return ArtifactInfo{id_, std::string(storage::ArtifactKindName(kind_)), name_, req_.party.name,
                        size_, c_->clock_.Now()};
  }

  Coordinator* c_;
  PartyRequest req_;
  storage::ArtifactKind kind_;
  std::string name_;
  std::string id_;
  uint64_t size_;
  std::unique_ptr<storage::BlobWriter> writer_;
  internal::HeaderPrefix prefix_;
  bool header_checked_ = false;
  uint64_t received_ = 0;
  absl::Status status_;
};

absl::StatusOr<std::unique_ptr<Upload>> Coordinator::BeginArtifactUpload(
    absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "register-artifact"));
  TRIAD_ASSIGN_OR_RETURN(internal::RegisterArtifactBody artifact,
                         internal::DecodeRegisterArtifactBody(req.body()));
  contracts::Role owner_role = artifact.owner_role;
  const bool model = owner_role == contracts::Role::kModelOwner;
  storage::ArtifactKind kind =
      model ? storage::ArtifactKind::kModel : storage::ArtifactKind::kDataset;
  const char* kind_name = model ? "model" : "dataset";
  std::string name = std::move(artifact.name);
  std::string id = std::move(artifact.id);
  uint64_t size = artifact.size;
  if (size > options_.max_artifact_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("artifact of ", size, " bytes is larger than this coordinator accepts (",
                     options_.max_artifact_bytes,
                     " bytes; the operator sets it: coordinator serve --max-artifact-size)"));
  }
  if (req.card.role != owner_role) {
    return absl::PermissionDeniedError(
        absl::StrCat("party ", req.party.name, " is a ", contracts::RoleName(req.card.role),
                     "; only a ", contracts::RoleName(owner_role), " registers a ", kind_name));
  }
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  if (store_.GetArtifact(id).ok())
    return absl::AlreadyExistsError(absl::StrCat("artifact ", id, " is already registered"));
  {
    uint64_t held = 0;
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Artifact> all, store_.ListArtifacts());
    for (const storage::Artifact& a : all) {
      if (a.owner == req.party.name) held += a.size;
    }
    if (held + size > options_.party_quota_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("party ", req.party.name, " holds ", held, " bytes here; ", size,
                       " more would pass its quota of ", options_.party_quota_bytes,
                       " bytes (the operator sets it: coordinator serve --party-quota)"));
    }
  }
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobWriter> writer, blobs_.NewWriter(id));
  return std::unique_ptr<Upload>(new ArtifactUpload(this, std::move(req), kind, std::move(name),
                                                    std::move(id), size, std::move(writer)));
}

// ---- Contracts ----

absl::StatusOr<ContractInfo> Coordinator::SubmitContract(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         base::Annotate(crypto::DsseEnvelope::FromJson(
                                            envelope_json, contracts::kMaxContractEnvelopeSize),
                                        "contract envelope"));
  absl::Time now = clock_.Now();
  contracts::ContractStatus status = contracts::CheckContract(env, now);
  if (!status.contract) {
    return absl::InvalidArgumentError(
        absl::StrCat("contract is not valid: ", absl::StrJoin(status.reasons, "; ")));
  }
  const contracts::Contract& c = *status.contract;
  if (!status.active()) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", c.id, " is not active: ", absl::StrJoin(status.reasons, "; ")));
  }
  std::vector<std::string> reasons;
  for (contracts::Role role : contracts::kContractRoles) {
    const contracts::PartyCard& card = c.party(role);
    std::string who = absl::StrCat(contracts::SlotName(role), " \"", card.name, "\"");
    absl::StatusOr<storage::Party> p = store_.GetParty(card.name);
    if (!p.ok()) {
      reasons.push_back(absl::StrCat(who, " is not a registered party"));
      continue;
    }
    if (p->removed_at) {
      reasons.push_back(absl::StrCat(who, " was removed by the operator"));
      continue;
    }
    absl::StatusOr<contracts::PartyCard> registered = contracts::PartyCard::FromJson(p->card_json);
    if (!registered.ok() || p->key_id != card.fingerprint() ||
        !(registered->age_recipient == card.age_recipient) || registered->role != card.role) {
      reasons.push_back(
          absl::StrCat(who, " is registered with another card (key ", p->key_id, ")"));
    }
  }
  auto check_artifact = [&](absl::string_view slot, const contracts::Artifact& a,
                            storage::ArtifactKind kind, const contracts::PartyCard& owner) {
    absl::StatusOr<storage::Artifact> held = store_.GetArtifact(a.id);
    if (!held.ok()) {
      reasons.push_back(
          absl::StrCat(slot, " ", a.id, " is not held by this coordinator; upload it first"));
    } else if (held->kind != kind) {
      reasons.push_back(absl::StrCat(slot, " ", a.id, " is a ",
                                     storage::ArtifactKindName(held->kind), ", not a ",
                                     storage::ArtifactKindName(kind)));
    } else if (held->owner != owner.name) {
      reasons.push_back(absl::StrCat(slot, " ", a.id, " was registered by ", held->owner,
                                     ", not by ", owner.name));
    }
  };
  check_artifact("base_model", c.base_model, storage::ArtifactKind::kModel, c.model_owner);
  check_artifact("dataset", c.dataset, storage::ArtifactKind::kDataset, c.data_owner);
  if (!reasons.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", c.id, " cannot be accepted: ", absl::StrJoin(reasons, "; ")));
  }

  ContractInfo info{c.id, "active", status.digest, {}};
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  absl::StatusOr<storage::Contract> existing = txn.GetContract(c.id);
  if (existing.ok()) {
    if (existing->digest == status.digest) return info;  // the same contract again: nothing to do
    return absl::AlreadyExistsError(absl::StrCat(
        "contract ", c.id, " already exists with another digest (", existing->digest, ")"));
  }
  storage::Contract stored;
  stored.id = c.id;
  stored.digest = status.digest;
  stored.envelope_json = std::string(envelope_json);
  stored.state = storage::ContractState::kActive;
  stored.expires_at = c.not_after;
  TRIAD_RETURN_IF_ERROR(txn.InsertContract(stored));
  for (contracts::Role role : contracts::kContractRoles) {
    const contracts::PartyCard& card = c.party(role);
    std::string sig;
    for (const crypto::DsseSignature& s : env.signatures) {
      if (s.keyid == card.fingerprint()) sig = base::Base64Encode(s.sig);
    }
    TRIAD_RETURN_IF_ERROR(AddLog(txn, "", "contract.signature", now,
                                 {{"contract_id", c.id},
                                  {"digest", status.digest},
                                  {"slot", contracts::SlotName(role)},
                                  {"party", card.name},
                                  {"key_id", card.fingerprint()},
                                  {"sig", sig}}));
  }
  TRIAD_RETURN_IF_ERROR(AddLog(txn, "", "contract.activated", now,
                               {{"contract_id", c.id},
                                {"digest", status.digest},
                                {"not_before", base::FormatRfc3339(c.not_before)},
                                {"not_after", base::FormatRfc3339(c.not_after)},
                                {"base_model", c.base_model.id},
                                {"dataset", c.dataset.id}}));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  return info;
}

absl::StatusOr<ContractInfo> Coordinator::GetContract(absl::string_view id,
                                                      absl::string_view request_envelope_json,
                                                      std::string* envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(ReadRequest req,
                         VerifyReadRequest(request_envelope_json, "get-contract", std::string(id)));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"contract_id"}));
  TRIAD_ASSIGN_OR_RETURN(std::string asked, BodyString(req.body(), "contract_id"));
  if (asked != id) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: contract_id is ", asked, ", not ", id));
  }
  const CachedContract& c = *req.contract;
  ContractInfo info = InfoOf(c);
  if (envelope_json != nullptr) *envelope_json = c.stored.envelope_json;
  return info;
}

absl::StatusOr<ContractInfo> Coordinator::RevokeContract(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "revoke-contract"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"contract_id", "reason"}));
  TRIAD_ASSIGN_OR_RETURN(std::string contract_id, BodyString(req.body(), "contract_id"));
  TRIAD_ASSIGN_OR_RETURN(std::string reason, BodyString(req.body(), "reason"));
  TRIAD_RETURN_IF_ERROR(internal::CheckReason(reason));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(contract_id));
  std::optional<contracts::Role> slot = internal::SlotOfKey(c->contract, req.card.fingerprint());
  if (!slot) {
    return absl::PermissionDeniedError(
        absl::StrCat("party ", req.party.name, " is not a party of contract ", contract_id,
                     "; only its model owner, data owner or compute provider revokes it"));
  }
  absl::Time now = clock_.Now();
  const std::string why =
      absl::StrCat("contract ", contract_id, " was revoked by ", req.party.name, ": ", reason);
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/true)));
  TRIAD_RETURN_IF_ERROR(txn.InsertRevocation(
      {contract_id, req.party.name, reason, req.verified.envelope.ToJson(), {}}));
  TRIAD_RETURN_IF_ERROR(
      AddLog(txn, "", "contract.revoked", now,
             {{"contract_id", contract_id},
              {"digest", c->stored.digest},
              {"slot", contracts::SlotName(*slot)},
              {"party", req.party.name},
              {"key_id", req.party.key_id},
              {"reason", reason},
              {"request_digest", crypto::Sha256Id(req.verified.envelope.payload)}}));
  // Its jobs that have not ended fail now: no more assignment, admission, keys, inputs or leases.
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> jobs, txn.ListJobsOfContract(contract_id));
  for (const storage::Job& job : jobs) {
    if (storage::IsTerminal(job.state)) continue;
    TRIAD_RETURN_IF_ERROR(
        txn.TransitionJob(job.id, storage::JobTransition::Fail(why).From(job.state)).status());
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.failed", now,
                                 {{"job_id", job.id}, {"attempt", job.attempt}, {"reason", why}}));
  }
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return ContractInfo{contract_id, "revoked", c->stored.digest, {why}};
}

// ---- Jobs ----

absl::StatusOr<JobView> Coordinator::SubmitJob(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "submit-job"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"contract_id"}));
  TRIAD_ASSIGN_OR_RETURN(std::string contract_id, BodyString(req.body(), "contract_id"));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(contract_id));
  std::optional<contracts::Role> slot = internal::SlotOfKey(c->contract, req.card.fingerprint());
  if (!slot || *slot == contracts::Role::kComputeProvider) {
    return absl::PermissionDeniedError(
        absl::StrCat("party ", req.party.name, " is not the model owner or data owner of contract ",
                     contract_id));
  }
  absl::Time now = clock_.Now();
  std::vector<std::string> inactive = ContractProblems(*c, now);
  if (!inactive.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", contract_id, " is not active: ", absl::StrJoin(inactive, "; ")));
  }
  std::string job_id = absl::StrCat("j-", base::HexEncode(crypto::RandomString(8)));
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  // max_jobs: every job counts but one that failed before any key was released for it.
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> jobs, txn.ListJobsOfContract(contract_id));
  uint32_t counted = 0;
  for (const storage::Job& j : jobs) {
    if (j.state == storage::JobState::kFailed) {
      TRIAD_ASSIGN_OR_RETURN(std::vector<storage::KeyRelease> released, txn.ListKeyReleases(j.id));
      if (released.empty()) continue;
    }
    ++counted;
  }
  if (counted >= c->contract.terms.max_jobs) {
    return absl::FailedPreconditionError(absl::StrCat(
        "contract ", contract_id, " allows ", c->contract.terms.max_jobs,
        " job(s) (terms.max_jobs) and has ", counted, "; a new job needs a new contract"));
  }
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/true)));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, txn.InsertJob({job_id, contract_id, req.party.name,
                                                          req.verified.envelope.ToJson()}));
  TRIAD_RETURN_IF_ERROR(
      AddLog(txn, job_id, "job.submitted", now,
             {{"job_id", job_id},
              {"contract_id", contract_id},
              {"contract_digest", c->stored.digest},
              {"submitter", req.party.name},
              {"submitter_key", req.party.key_id},
              {"submission_digest", crypto::Sha256Id(req.verified.envelope.payload)}}));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return View(job, false);
}

absl::StatusOr<JobView> Coordinator::View(const storage::Job& job, bool loss_visible) const {
  JobView v;
  v.job = job;
  v.loss_visible = loss_visible;
  std::string requeue_reason;
  int64_t after = 0;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Event> events,
                           store_.ListEvents(after, job.id, 1000));
    for (const storage::Event& e : events) {
      after = e.id;
      if (e.kind != "job.admission" && e.kind != "job.requeued") continue;
      absl::StatusOr<nlohmann::json> d = base::ParseJsonStrict(e.detail_json);
      if (!d.ok() || !d->is_object()) continue;
      if (e.kind == "job.admission" && d->value("decision", "") == "admit" &&
          d->value("simulated", false)) {
        v.simulated = true;
      }
      if (e.kind == "job.requeued") requeue_reason = d->value("reason", "");
    }
    if (events.size() < 1000) break;
  }
  if (job.state == storage::JobState::kFailed) {
    v.reason = job.failure_reason;
  } else if (job.state == storage::JobState::kQueued) {
    v.reason = requeue_reason;
  }
  return v;
}

absl::StatusOr<JobView> Coordinator::GetJob(absl::string_view id,
                                            absl::string_view request_envelope_json,
                                            absl::Time* valid_until) {
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(id));
  // A read: its request id is not recorded (replaying it shows the same status, within its window).
  TRIAD_ASSIGN_OR_RETURN(ReadRequest req,
                         VerifyReadRequest(request_envelope_json, "get-job", job.contract_id));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"job_id"}));
  TRIAD_ASSIGN_OR_RETURN(std::string asked, BodyString(req.body(), "job_id"));
  if (asked != id)
    return absl::InvalidArgumentError(
        absl::StrCat("request body: job_id is ", asked, ", not ", id));
  const std::vector<contracts::Role>& metrics = req.contract->contract.outputs.metrics_recipients;
  bool loss_visible = req.contract->contract.outputs.per_step_loss && req.slot &&
                      std::find(metrics.begin(), metrics.end(), *req.slot) != metrics.end();
  if (valid_until != nullptr) *valid_until = req.verified.request.issued_at + kRequestMaxSkew;
  return View(job, loss_visible);
}

absl::StatusOr<std::shared_ptr<void>> Coordinator::HoldWaitingCall(bool watch) const {
  const int limit = options_.max_waiting_calls;
  int now = waiting_calls_.fetch_add(1);
  if (now >= limit) {
    waiting_calls_.fetch_sub(1);
    std::string why = absl::StrCat("the coordinator is busy: ", limit,
                                   " calls already wait for changes, the most it holds at once "
                                   "(its other threads stay free for calls that answer at once)");
    if (watch) return absl::ResourceExhaustedError(absl::StrCat(why, "; watch again later"));
    return absl::UnavailableError(absl::StrCat(why, "; ask again after a pause"));
  }
  return std::shared_ptr<void>(nullptr, [this](void*) { waiting_calls_.fetch_sub(1); });
}

absl::StatusOr<std::shared_ptr<void>> Coordinator::OpenWatch(
    absl::string_view request_envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         crypto::DsseEnvelope::FromJson(request_envelope_json, kMaxRequestSize));
  if (env.signatures.size() != 1)
    return absl::InvalidArgumentError("request: must carry exactly one signature");
  std::string who = env.signatures[0].keyid.substr(0, 128);
  {
    std::lock_guard<std::mutex> lock(watches_mu_);
    int& open = watches_[who];
    if (open >= options_.max_watches_per_party) {
      return absl::ResourceExhaustedError(
          absl::StrCat("key ", ShowKeyId(who), " already watches ", open,
                       " jobs, the most one party may watch at once (",
                       options_.max_watches_per_party, "); close one first"));
    }
    ++open;
  }
  std::shared_ptr<void> party_slot(nullptr, [this, who](void*) {
    std::lock_guard<std::mutex> lock(watches_mu_);
    if (--watches_[who] <= 0) watches_.erase(who);
  });
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<void> held, HoldWaitingCall(/*watch=*/true));
  return std::shared_ptr<void>(nullptr, [party_slot, held](void*) {});
}

absl::StatusOr<std::unique_ptr<storage::BlobReader>> Coordinator::OpenArtifact(
    absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "download-artifact"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"artifact_id"}));
  TRIAD_ASSIGN_OR_RETURN(std::string artifact_id, BodyString(req.body(), "artifact_id"));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  TRIAD_ASSIGN_OR_RETURN(storage::Artifact artifact, store_.GetArtifact(artifact_id));
  if (artifact.owner.empty() || artifact.owner != req.party.name) {
    return absl::PermissionDeniedError(absl::StrCat("party ", req.party.name, " did not register ",
                                                    artifact_id, "; only its owner may download it"));
  }
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  return blobs_.Open(artifact_id);
}

absl::StatusOr<std::unique_ptr<storage::BlobReader>> Coordinator::OpenOutput(
    absl::string_view envelope_json, std::string* output_id) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "fetch-output"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"job_id"}));
  TRIAD_ASSIGN_OR_RETURN(std::string job_id, BodyString(req.body(), "job_id"));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  std::optional<contracts::Role> slot = internal::SlotOfKey(c->contract, req.card.fingerprint());
  const std::vector<contracts::Role>& recipients = c->contract.outputs.adapter_recipients;
  if (!slot || std::find(recipients.begin(), recipients.end(), *slot) == recipients.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "party ", req.party.name, " is not an adapter recipient of contract ", job.contract_id));
  }
  if (job.state != storage::JobState::kDone) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is ",
                                                      storage::JobStateName(job.state),
                                                      "; its output is not delivered yet"));
  }
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  if (output_id != nullptr) *output_id = job.output_artifact;
  return blobs_.Open(job.output_artifact);
}

// ---- Leases ----

absl::StatusOr<int> Coordinator::Sweep() {
  absl::Time now = clock_.Now();
  int changed = 0;
  // Each change in its own transaction, compare-and-set on the state seen, so a worker's call that
  // moved the job meanwhile wins.
  auto requeue = [&](const storage::Job& job, const std::string& reason) -> absl::Status {
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
    absl::StatusOr<storage::Job> moved =
        txn.TransitionJob(job.id, storage::JobTransition::To(storage::JobState::kQueued)
                                      .From(job.state)
                                      .ByWorker(job.worker_id));
    if (!moved.ok()) return absl::OkStatus();  // it moved on
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.requeued", now,
                                 {{"job_id", job.id},
                                  {"attempt", job.attempt},
                                  {"worker_id", job.worker_id},
                                  {"reason", reason}}));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
    ++changed;
    return absl::OkStatus();
  };
  for (storage::JobState s : {storage::JobState::kAssigned, storage::JobState::kAttesting}) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> jobs, store_.ListJobs(s));
    for (const storage::Job& job : jobs) {
      // The nonce was issued with the assignment (same transaction, same time).
      if (now >= job.updated_at + options_.nonce_ttl) {
        TRIAD_RETURN_IF_ERROR(requeue(
            job,
            absl::StrCat("worker ", job.worker_id, " did not attest before its nonce expired")));
      }
    }
  }
  for (storage::JobState s :
       {storage::JobState::kAdmitted, storage::JobState::kRunning, storage::JobState::kSealing}) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> jobs, store_.ListJobs(s));
    for (const storage::Job& job : jobs) {
      absl::Time last = job.updated_at;
      absl::StatusOr<storage::Worker> w = store_.GetWorker(job.worker_id);
      if (w.ok()) last = std::max(last, w->last_seen);
      if (now - last >= options_.lease && !InTransfer(job.id)) {
        TRIAD_RETURN_IF_ERROR(
            requeue(job, absl::StrCat("no word from worker ", job.worker_id, " for ",
                                      absl::FormatDuration(options_.lease), " (lease expired)")));
        continue;
      }
      if (job.state != storage::JobState::kAdmitted) continue;
      // An owner's keyholder that does not answer: the attempt gives way to a later one.
      TRIAD_ASSIGN_OR_RETURN(std::vector<storage::ReleaseRequest> asked,
                             store_.ListReleaseRequests(job.id, job.attempt));
      for (const storage::ReleaseRequest& r : asked) {
        if (r.state == storage::ReleaseState::kPending &&
            now - r.created_at >= options_.release_timeout) {
          TRIAD_RETURN_IF_ERROR(requeue(
              job, absl::StrCat("the keyholder of ", r.owner, " did not answer release ", r.id,
                                " within ", absl::FormatDuration(options_.release_timeout))));
          break;
        }
      }
    }
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> queued,
                         store_.ListJobs(storage::JobState::kQueued));
  for (const storage::Job& job : queued) {
    absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(job.contract_id);
    if (!c.ok()) continue;
    if (now < (*c)->contract.not_after) continue;
    std::string reason =
        absl::StrCat("contract ", job.contract_id, " expired at ",
                     base::FormatRfc3339((*c)->contract.not_after), " before the job ran");
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
    absl::StatusOr<storage::Job> moved = txn.TransitionJob(
        job.id, storage::JobTransition::Fail(reason).From(storage::JobState::kQueued));
    if (!moved.ok()) continue;
    TRIAD_RETURN_IF_ERROR(
        AddLog(txn, job.id, "job.failed", now,
               {{"job_id", job.id}, {"attempt", job.attempt}, {"reason", reason}}));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
    ++changed;
  }
  bool prune = false;
  {
    std::lock_guard<std::mutex> lock(prune_mu_);
    prune = now - last_prune_ >= absl::Minutes(1);
    if (prune) last_prune_ = now;
  }
  if (prune) {
    // A request issued before now - skew fails the freshness check, so its id need not be kept.
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
    TRIAD_RETURN_IF_ERROR(txn.PruneRequests(now - 2 * kRequestMaxSkew).status());
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  }
  if (changed > 0) NotifyChange();
  return changed;
}

}  // namespace triad::coordinator
