#include "contracts/contract.h"

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/internal/json_schema.h"
#include "contracts/internal/parse.h"
#include "contracts/internal/schemas.h"
#include "crypto/hash.h"

namespace triad::contracts {
namespace {

using OJson = nlohmann::ordered_json;

constexpr int kMaxContractDepth = 8;

int SlotIndex(Role role) {
  switch (role) {
    case Role::kModelOwner:
      return 0;
    case Role::kDataOwner:
      return 1;
    case Role::kComputeProvider:
      return 2;
    default:
      return -1;
  }
}

Role RoleOfSlot(absl::string_view slot) {
  if (slot == "data_owner") return Role::kDataOwner;
  if (slot == "compute_provider") return Role::kComputeProvider;
  return Role::kModelOwner;
}

OJson SlotList(const std::vector<Role>& roles) {
  OJson a = OJson::array();
  for (Role r : roles) a.push_back(SlotName(r));
  return a;
}

std::vector<Role> ReadSlots(const nlohmann::json& a) {
  std::vector<Role> out;
  for (const auto& s : a) out.push_back(RoleOfSlot(s.get<std::string>()));
  return out;
}

Outputs ReadOutputs(const nlohmann::json& j) {
  Outputs o;
  o.adapter_recipients = ReadSlots(j.at("adapter_recipients"));
  o.metrics_recipients = ReadSlots(j.at("metrics_recipients"));
  o.per_step_loss = j.at("per_step_loss").get<bool>();
  return o;
}

// Reads an RFC 3339 field that passed the schema's pattern; it must also be a real time, written
// the one way FormatRfc3339 writes it.
bool ReadTime(const nlohmann::json& j, const char* key, absl::Time* out,
              std::vector<std::string>& problems) {
  const std::string text = j.at(key).get<std::string>();
  if (!base::ParseRfc3339(text, out) || base::FormatRfc3339(*out) != text) {
    problems.push_back(absl::StrCat("/", key, ": \"", text, "\" is not a valid time"));
    return false;
  }
  return true;
}

std::string PartyLabel(const Contract& c, Role role) {
  const PartyCard& card = c.party(role);
  return absl::StrCat(SlotName(role), " \"", card.name, "\" (key ", card.fingerprint(), ")");
}

std::string QuoteString(absl::string_view s) {
  return internal::QuoteJson(nlohmann::json(std::string(s)));
}

absl::StatusOr<Contract> ParsePayload(absl::string_view payload,
                                      std::vector<std::string>& problems) {
  if (payload.size() > kMaxContractPayloadSize) {
    problems.push_back(absl::StrCat("payload is ", payload.size(),
                                    " bytes, more than the limit of ", kMaxContractPayloadSize));
    return internal::ProblemsStatus("contract", problems);
  }
  base::JsonLimits limits;
  limits.max_bytes = kMaxContractPayloadSize;
  limits.max_depth = kMaxContractDepth;
  absl::StatusOr<nlohmann::json> parsed = base::ParseJsonStrict(payload, limits);
  if (!parsed.ok()) {
    problems.push_back(std::string(parsed.status().message()));
    return internal::ProblemsStatus("contract", problems);
  }
  const nlohmann::json& j = *parsed;
  std::vector<internal::SchemaError> errors = internal::CheckSchema(j, "#");
  if (j.is_object() && j.contains("training"))
    internal::RefineTrainingErrors(j["training"], "/training", errors);
  internal::AppendErrors(errors, problems);
  if (!problems.empty()) return internal::ProblemsStatus("contract", problems);

  try {
    absl::Time created, not_before, not_after;
    bool times_ok = ReadTime(j, "created", &created, problems);
    times_ok = ReadTime(j, "not_before", &not_before, problems) && times_ok;
    times_ok = ReadTime(j, "not_after", &not_after, problems) && times_ok;
    if (times_ok && not_before < created) {
      problems.push_back(absl::StrCat("/not_before: ", base::FormatRfc3339(not_before),
                                      " is before created ", base::FormatRfc3339(created)));
    }
    if (times_ok && not_after <= not_before) {
      problems.push_back(absl::StrCat("/not_after: ", base::FormatRfc3339(not_after),
                                      " is not after not_before ",
                                      base::FormatRfc3339(not_before)));
    }

    std::vector<absl::StatusOr<PartyCard>> cards;
    for (Role role : kContractRoles) {
      cards.push_back(PartyCard::FromJsonValue(j["parties"][std::string(SlotName(role))]));
      if (!cards.back().ok()) {
        problems.push_back(
            absl::StrCat("/parties/", SlotName(role), ": ", cards.back().status().message()));
      }
    }
    for (int a = 0; a < 3; ++a) {
      for (int b = a + 1; b < 3; ++b) {
        if (!cards[a].ok() || !cards[b].ok()) continue;
        if (cards[a]->signing_key == cards[b]->signing_key) {
          problems.push_back(absl::StrCat("/parties: ", SlotName(kContractRoles[a]), " and ",
                                          SlotName(kContractRoles[b]),
                                          " have the same signing key ", cards[a]->fingerprint()));
        }
        if (cards[a]->age_recipient == cards[b]->age_recipient) {
          problems.push_back(absl::StrCat("/parties: ", SlotName(kContractRoles[a]), " and ",
                                          SlotName(kContractRoles[b]),
                                          " have the same age recipient"));
        }
      }
    }

    Artifact model{j["base_model"]["id"].get<std::string>(),
                   j["base_model"]["name"].get<std::string>()};
    Artifact data{j["dataset"]["id"].get<std::string>(), j["dataset"]["name"].get<std::string>()};
    if (model.id == data.id) problems.push_back("/dataset/id: the same artifact as base_model");

    TrainingConfig training = internal::ReadTraining(j["training"]);
    WorkerPolicy policy = internal::ReadPolicy(j["worker_policy"], "/worker_policy", problems);
    Outputs outputs = ReadOutputs(j["outputs"]);
    for (std::string& p : GpuContractProblems(training, policy)) problems.push_back(std::move(p));
    Terms terms;
    if (j.contains("terms")) {
      terms.max_jobs = j["terms"]["max_jobs"].get<uint32_t>();
      terms.key_lease_seconds = j["terms"]["key_lease_seconds"].get<uint32_t>();
    }
    std::vector<PartyCard> auditors;
    if (j.contains("auditors")) {
      for (size_t i = 0; i < j["auditors"].size(); ++i) {
        absl::StatusOr<PartyCard> a = PartyCard::FromJsonValue(j["auditors"][i]);
        if (!a.ok()) {
          problems.push_back(absl::StrCat("/auditors/", i, ": ", a.status().message()));
          continue;
        }
        for (const absl::StatusOr<PartyCard>& p : cards) {
          if (p.ok() && p->signing_key == a->signing_key) {
            problems.push_back(absl::StrCat("/auditors/", i, ": auditor ", a->name,
                                            " has the signing key of party ", p->name));
          }
        }
        for (const PartyCard& b : auditors) {
          if (b.signing_key == a->signing_key) {
            problems.push_back(
                absl::StrCat("/auditors/", i, ": auditor ", a->name, " is listed twice"));
          }
        }
        auditors.push_back(*std::move(a));
      }
    }
    if (!problems.empty()) return internal::ProblemsStatus("contract", problems);
    return Contract{j["id"].get<std::string>(),
                    created,
                    not_before,
                    not_after,
                    *std::move(cards[0]),
                    *std::move(cards[1]),
                    *std::move(cards[2]),
                    std::move(model),
                    std::move(data),
                    std::move(training),
                    std::move(policy),
                    std::move(outputs),
                    terms,
                    std::move(auditors)};
  } catch (const nlohmann::json::exception& e) {
    problems.push_back(absl::StrCat("/: cannot read the contract: ", e.what()));
    return internal::ProblemsStatus("contract", problems);
  }
}

}  // namespace

absl::string_view SlotName(Role role) {
  switch (role) {
    case Role::kModelOwner:
      return "model_owner";
    case Role::kDataOwner:
      return "data_owner";
    case Role::kComputeProvider:
      return "compute_provider";
    default:
      return "auditor";
  }
}

Outputs Outputs::Default() {
  return Outputs{
      {Role::kModelOwner, Role::kDataOwner}, {Role::kModelOwner, Role::kDataOwner}, false};
}

nlohmann::ordered_json Outputs::ToJson() const {
  OJson j;
  j["adapter_recipients"] = SlotList(adapter_recipients);
  j["metrics_recipients"] = SlotList(metrics_recipients);
  j["per_step_loss"] = per_step_loss;
  return j;
}

absl::StatusOr<Outputs> Outputs::FromJson(const nlohmann::json& j,
                                          std::vector<std::string>* problems) {
  std::vector<std::string> found;
  internal::AppendErrors(internal::CheckSchema(j, "#/$defs/outputs"), found);
  if (found.empty()) {
    try {
      return ReadOutputs(j);
    } catch (const nlohmann::json::exception& e) {
      found.push_back(absl::StrCat("/: cannot read the outputs: ", e.what()));
    }
  }
  if (problems != nullptr) *problems = found;
  return internal::ProblemsStatus("outputs", found);
}

absl::StatusOr<Outputs> Outputs::FromText(absl::string_view text,
                                          std::vector<std::string>* problems) {
  base::JsonLimits limits;
  limits.max_bytes = 16 * 1024;
  limits.max_depth = 3;
  absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(text, limits);
  if (!j.ok()) {
    if (problems != nullptr) *problems = {std::string(j.status().message())};
    return base::Annotate(j.status(), "outputs");
  }
  return FromJson(*j, problems);
}

const PartyCard& Contract::party(Role role) const {
  switch (role) {
    case Role::kDataOwner:
      return data_owner;
    case Role::kComputeProvider:
      return compute_provider;
    default:
      return model_owner;
  }
}

const PartyCard* Contract::AuditorOfKeyId(absl::string_view key_id) const {
  for (const PartyCard& a : auditors) {
    if (a.fingerprint() == key_id) return &a;
  }
  return nullptr;
}

nlohmann::ordered_json Terms::ToJson() const {
  OJson j;
  j["max_jobs"] = max_jobs;
  j["key_lease_seconds"] = key_lease_seconds;
  return j;
}

std::optional<Role> Contract::RoleOfKeyId(absl::string_view key_id) const {
  for (Role role : kContractRoles) {
    if (party(role).fingerprint() == key_id) return role;
  }
  return std::nullopt;
}

nlohmann::ordered_json Contract::ToJsonValue() const {
  OJson j;
  j["type"] = kContractType;
  j["id"] = id;
  j["created"] = base::FormatRfc3339(created);
  j["not_before"] = base::FormatRfc3339(not_before);
  j["not_after"] = base::FormatRfc3339(not_after);
  OJson parties;
  for (Role role : kContractRoles) parties[std::string(SlotName(role))] = party(role).ToJsonValue();
  j["parties"] = parties;
  j["base_model"] = OJson{{"id", base_model.id}, {"name", base_model.name}};
  j["dataset"] = OJson{{"id", dataset.id}, {"name", dataset.name}};
  j["training"] = training.ToSectionJson();
  j["worker_policy"] = worker_policy.ToJson();
  j["outputs"] = outputs.ToJson();
  j["terms"] = terms.ToJson();
  if (!auditors.empty()) {
    OJson list = OJson::array();
    for (const PartyCard& a : auditors) list.push_back(a.ToJsonValue());
    j["auditors"] = list;
  }
  return j;
}

std::vector<std::string> GpuContractProblems(const TrainingConfig& training,
                                             const WorkerPolicy& policy) {
  if (training.gpus > 0 && !policy.nvidia_gpu) {
    return {absl::StrCat("/worker_policy: training asks for ", training.gpus,
                         " GPU", training.gpus == 1 ? "" : "s",
                         " but the policy has no nvidia_gpu section: a worker would train on GPUs "
                         "no one attested (add nvidia_gpu with count ",
                         training.gpus, ")")};
  }
  if (policy.nvidia_gpu && training.gpus != static_cast<int64_t>(policy.nvidia_gpu->count)) {
    return {absl::StrCat("/worker_policy/nvidia_gpu/count: ", policy.nvidia_gpu->count,
                         ", but training asks for ", training.gpus, " GPU",
                         training.gpus == 1 ? "" : "s", " (/training/gpus)")};
  }
  return {};
}

absl::Status CheckGpuContract(const TrainingConfig& training, const WorkerPolicy& policy) {
  std::vector<std::string> problems = GpuContractProblems(training, policy);
  if (problems.empty()) return absl::OkStatus();
  return internal::ProblemsStatus("contract", problems);
}

std::string Contract::ToPayload() const { return ToJsonValue().dump(2) + "\n"; }

absl::StatusOr<Contract> Contract::FromPayload(absl::string_view payload,
                                               std::vector<std::string>* problems) {
  std::vector<std::string> found;
  absl::StatusOr<Contract> c = ParsePayload(payload, found);
  if (problems != nullptr) *problems = std::move(found);
  return c;
}

std::string ContractDigest(const crypto::DsseEnvelope& envelope) {
  return crypto::Sha256Id(envelope.payload);
}

absl::StatusOr<crypto::DsseEnvelope> DraftContract(const Contract& contract) {
  crypto::DsseEnvelope envelope;
  envelope.payload_type = std::string(kContractPayloadType);
  envelope.payload = contract.ToPayload();
  TRIAD_RETURN_IF_ERROR(Contract::FromPayload(envelope.payload).status());
  return envelope;
}

absl::Status SignContract(crypto::DsseEnvelope& envelope, const crypto::Ed25519PrivateKey& key,
                          absl::Time now) {
  if (envelope.payload_type != kContractPayloadType) {
    return absl::FailedPreconditionError(absl::StrCat("not a contract: payloadType ",
                                                      QuoteString(envelope.payload_type),
                                                      " is not \"", kContractPayloadType, "\""));
  }
  absl::StatusOr<Contract> c = Contract::FromPayload(envelope.payload);
  if (!c.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to sign an invalid ", c.status().message()));
  }
  const std::string& key_id = key.public_key().KeyId();
  std::optional<Role> role = c->RoleOfKeyId(key_id);
  if (!role) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", key_id, " is not a party of contract ", c->id, " (model_owner ",
                     c->model_owner.fingerprint(), ", data_owner ", c->data_owner.fingerprint(),
                     ", compute_provider ", c->compute_provider.fingerprint(), ")"));
  }
  for (const crypto::DsseSignature& s : envelope.signatures) {
    if (s.keyid == key_id) {
      return absl::FailedPreconditionError(
          absl::StrCat(PartyLabel(*c, *role), " has already signed contract ", c->id));
    }
  }
  if (now >= c->not_after) {
    return absl::FailedPreconditionError(absl::StrCat("contract ", c->id, " expired at ",
                                                      base::FormatRfc3339(c->not_after),
                                                      "; draft a new one"));
  }
  crypto::DsseSign(envelope, key);
  return absl::OkStatus();
}

absl::string_view SignatureStateName(SignatureState state) {
  switch (state) {
    case SignatureState::kValid:
      return "valid";
    case SignatureState::kInvalid:
      return "invalid";
    case SignatureState::kDuplicate:
      return "duplicate";
    default:
      return "missing";
  }
}

nlohmann::ordered_json ContractStatus::ToJson() const {
  OJson j;
  j["active"] = active();
  j["id"] = contract ? OJson(contract->id) : OJson(nullptr);
  j["digest"] = digest;
  if (contract) {
    OJson sigs;
    for (Role role : kContractRoles) {
      sigs[std::string(SlotName(role))] = SignatureStateName(signatures[SlotIndex(role)]);
    }
    j["signatures"] = sigs;
    j["not_before"] = base::FormatRfc3339(contract->not_before);
    j["not_after"] = base::FormatRfc3339(contract->not_after);
  }
  j["reasons"] = reasons;
  return j;
}

ContractStatus CheckContract(const crypto::DsseEnvelope& envelope, absl::Time now) {
  ContractStatus st;
  st.digest = ContractDigest(envelope);
  if (envelope.payload_type != kContractPayloadType) {
    st.reasons.push_back(absl::StrCat("payloadType ", QuoteString(envelope.payload_type),
                                      " is not \"", kContractPayloadType, "\""));
  }
  std::vector<std::string> problems;
  absl::StatusOr<Contract> parsed = Contract::FromPayload(envelope.payload, &problems);
  if (!parsed.ok()) {
    st.reasons.insert(st.reasons.end(), problems.begin(), problems.end());
    return st;
  }
  const Contract& c = *parsed;

  for (Role role : kContractRoles) {
    const PartyCard& card = c.party(role);
    const crypto::DsseSignature* found = nullptr;
    int count = 0;
    for (const crypto::DsseSignature& s : envelope.signatures) {
      if (s.keyid != card.fingerprint()) continue;
      ++count;
      found = &s;
    }
    SignatureState& state = st.signatures[SlotIndex(role)];
    if (count == 0) {
      state = SignatureState::kMissing;
      st.reasons.push_back(absl::StrCat("no signature by ", PartyLabel(c, role)));
    } else if (count > 1) {
      state = SignatureState::kDuplicate;
      st.reasons.push_back(absl::StrCat(PartyLabel(c, role), " signed more than once"));
    } else if (!crypto::DsseVerifySignature(envelope, *found, card.signing_key).ok()) {
      state = SignatureState::kInvalid;
      st.reasons.push_back(absl::StrCat("signature by ", PartyLabel(c, role), " does not verify"));
    } else {
      state = SignatureState::kValid;
    }
  }
  for (size_t i = 0; i < envelope.signatures.size(); ++i) {
    if (!c.RoleOfKeyId(envelope.signatures[i].keyid)) {
      st.reasons.push_back(absl::StrCat("signature ", i, " with key id ",
                                        QuoteString(envelope.signatures[i].keyid),
                                        " is not by a party of the contract"));
    }
  }
  if (now < c.not_before) {
    st.reasons.push_back(absl::StrCat("not yet valid: now ", base::FormatRfc3339(now),
                                      " is before not_before ", base::FormatRfc3339(c.not_before)));
  }
  if (now >= c.not_after) {
    st.reasons.push_back(absl::StrCat("expired: now ", base::FormatRfc3339(now),
                                      " is not before not_after ",
                                      base::FormatRfc3339(c.not_after)));
  }
  st.contract = std::move(parsed).value();
  return st;
}

}  // namespace triad::contracts
