// triad contract draft | sign | verify | show | submit: the three-party contract on the command line.
//
// A contract file is a DSSE envelope in JSON (crypto/dsse.h) whose payload is the contract
// (contracts/contract.h). `draft` writes it unsigned; each party adds its signature with `sign`;
// `verify` says whether it is active; `show` prints the terms and who has signed.
#include "contracts/contract.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "attestation/snp.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "measure/coco.h"
#include "cli/keys.h"
#include "triad/v1/contracts.grpc.pb.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace triad::cli {
namespace {

using contracts::Contract;
using contracts::Role;

using Fd = base::UniqueFd;

absl::StatusOr<absl::Time> Now(const std::string& flag) {
  if (flag.empty()) return base::SystemClock().Now();
  absl::Time t;
  if (!base::ParseRfc3339(flag, &t)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--now: \"", flag, "\" is not an RFC 3339 time"));
  }
  return t;
}

// The SHA-256 of a file, read in pieces (models are large).
absl::StatusOr<std::string> HashFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", path));
    if (n == 0) break;
    hasher.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return hasher.Finish();
}

// --model / --dataset: "sha256:<hex>" with a name from --model-name, or the encrypted file itself,
// whose SHA-256 is computed and whose file name is the default name.
absl::StatusOr<contracts::Artifact> ResolveArtifact(const std::string& flag,
                                                    const std::string& value,
                                                    const std::string& name) {
  contracts::Artifact a;
  if (absl::StartsWith(value, "sha256:")) {
    absl::StatusOr<std::string> raw = base::HexDecode(value.substr(7));
    if (value.size() != 7 + 64 || !raw.ok() || base::HexEncode(*raw) != value.substr(7)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": \"", value, "\" is not sha256:<64 lower-case hex digits>"));
    }
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " gives an artifact id; name it with ", flag, "-name"));
    }
    a.id = value;
  } else {
    TRIAD_ASSIGN_OR_RETURN(std::string digest, base::Annotate(HashFile(value), flag));
    a.id = absl::StrCat("sha256:", base::HexEncode(digest));
  }
  a.name = name;
  if (a.name.empty()) {
    size_t slash = value.find_last_of('/');
    a.name = slash == std::string::npos ? value : value.substr(slash + 1);
  }
  if (absl::Status st = contracts::ValidateName(a.name); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " name \"", a.name, "\": ", st.message()));
  }
  return a;
}

absl::StatusOr<contracts::PartyCard> LoadCard(const std::string& flag, const std::string& path,
                                              Role role) {
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card, contracts::PartyCard::FromFile(path));
  if (card.role != role) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is the card of a ",
                                                   contracts::RoleName(card.role), ", not of a ",
                                                   contracts::RoleName(role)));
  }
  return card;
}

// Reads a section file with its parser; every problem of the file goes into the error.
template <typename T, typename Parse>
absl::StatusOr<T> LoadSection(const std::string& flag, const std::string& path, Parse parse) {
  TRIAD_ASSIGN_OR_RETURN(std::string text, base::Annotate(base::ReadFile(path, 256 * 1024), flag));
  return base::Annotate(parse(text), absl::StrCat(flag, " ", path));
}

absl::StatusOr<std::vector<std::string>> DecodeHex(const std::string& flag,
                                                   const std::vector<std::string>& hex,
                                                   size_t size) {
  std::vector<std::string> out;
  for (const std::string& h : hex) {
    absl::StatusOr<std::string> raw = base::HexDecode(h);
    if (!raw.ok() || raw->size() != size) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", h, "\" is not ", size,
                                                     " bytes of hex (", 2 * size, " digits)"));
    }
    out.push_back(*std::move(raw));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeMeasurements(const std::string& flag,
                                                            const std::vector<std::string>& hex) {
  return DecodeHex(flag, hex, 48);
}

// --snp-min-tcb: "bootloader=3,tee=0,snp=8,microcode=115[,fmc=0]" (bl and ucode are accepted for
// bootloader and microcode), or "vcek:FILE", the TCB an AMD VCEK/VLEK certifies (a platform the
// parties examined). `fmc` says whether the floor includes fmc (Turin).
absl::StatusOr<contracts::SnpTcb> ParseMinTcb(const std::string& spec, bool* fmc) {
  *fmc = false;
  if (absl::StartsWith(spec, "vcek:")) {
    const std::string path = spec.substr(5);
    TRIAD_ASSIGN_OR_RETURN(std::string cert,
                           base::Annotate(base::ReadFile(path, 64 * 1024), "--snp-min-tcb"));
    return base::Annotate(attestation::CertifiedSnpTcb(cert, fmc),
                          absl::StrCat("--snp-min-tcb ", path));
  }
  const absl::Status bad = absl::InvalidArgumentError(absl::StrCat(
      "--snp-min-tcb \"", spec,
      "\": expected bootloader=N,tee=N,snp=N,microcode=N[,fmc=N] (0..255 each) or vcek:FILE"));
  contracts::SnpTcb t;
  bool seen[5] = {};
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    uint32_t v = 0;
    if (!absl::SimpleAtoi(kv.second, &v) || v > 255) return bad;
    static const std::pair<const char*, int> kNames[] = {
        {"bootloader", 0}, {"bl", 0}, {"tee", 1}, {"snp", 2}, {"microcode", 3}, {"ucode", 3},
        {"fmc", 4}};
    int slot = -1;
    for (const auto& [name, i] : kNames) {
      if (kv.first == name) slot = i;
    }
    if (slot < 0 || seen[slot]) return bad;
    seen[slot] = true;
    uint8_t* fields[] = {&t.bootloader, &t.tee, &t.snp, &t.microcode, &t.fmc};
    *fields[slot] = static_cast<uint8_t>(v);
  }
  if (!seen[0] || !seen[1] || !seen[2] || !seen[3]) return bad;
  *fmc = seen[4];
  return t;
}

absl::StatusOr<crypto::DsseEnvelope> ParseEnvelope(const std::string& path,
                                                   absl::string_view text) {
  return base::Annotate(crypto::DsseEnvelope::FromJson(text, contracts::kMaxContractEnvelopeSize),
                        path);
}

absl::StatusOr<crypto::DsseEnvelope> ReadEnvelope(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(std::string text,
                         base::ReadFile(path, contracts::kMaxContractEnvelopeSize));
  return ParseEnvelope(path, text);
}

std::string EnvelopeFileText(const crypto::DsseEnvelope& env) { return env.ToJson() + "\n"; }

// ---------------------------------------------------------------------------------------------------
// draft

struct DraftFlags {
  std::string model_owner, data_owner, provider;
  std::string model, model_name, dataset, dataset_name;
  std::string policy, training, outputs;
  std::vector<std::string> snp_measurements, tdx_mr_td;
  std::string snp_min_tcb;
  std::vector<uint32_t> snp_vmpls;
  std::vector<std::string> snp_host_data, snp_id_key_digests;
  std::vector<std::string> tdx_rtmr0, tdx_rtmr1, tdx_rtmr2, tdx_mr_config_id;
  bool allow_weak_policy = false;
  std::string coco_initdata;                       // CoCo: the pod's init-data document
  std::vector<std::string> coco_guest_measurements;  // "sev-snp:HEX" or "tdx:HEX"
  std::string valid_for, id, now, out;
  uint32_t max_jobs = 1;
  std::string key_lease = "5m";
  std::vector<std::string> auditors;
  bool json = false;
};

// The coco section for the init-data in `path`: refused, with the reason, unless the document is
// init-data whose agent policy pins the worker image by digest.
absl::StatusOr<contracts::CocoReference> CocoReferenceOf(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(std::string text,
                         base::Annotate(base::ReadFile(path, measure::kMaxInitDataSize),
                                        "--coco-initdata"));
  TRIAD_ASSIGN_OR_RETURN(measure::InitData d,
                         base::Annotate(measure::ParseInitData(text), "--coco-initdata " + path));
  TRIAD_ASSIGN_OR_RETURN(measure::WorkerPin pin,
                         base::Annotate(measure::ReadWorkerPin(d), "--coco-initdata " + path));
  contracts::CocoReference r;
  r.initdata_digests = {measure::InitDataDigest(d)};
  r.image_digests = {pin.image_digest()};
  return r;
}

// The policy from the reference-value flags (without --policy).
absl::StatusOr<contracts::WorkerPolicy> PolicyFromFlags(const DraftFlags& f) {
  contracts::HardwarePolicyOptions o;
  TRIAD_ASSIGN_OR_RETURN(o.snp_measurements,
                         DecodeMeasurements("--snp-measurement", f.snp_measurements));
  TRIAD_ASSIGN_OR_RETURN(o.tdx_mr_td, DecodeMeasurements("--tdx-mrtd", f.tdx_mr_td));
  std::optional<contracts::CocoReference> coco;
  if (!f.coco_initdata.empty()) {
    TRIAD_ASSIGN_OR_RETURN(coco, CocoReferenceOf(f.coco_initdata));
    for (const std::string& g : f.coco_guest_measurements) {
      const size_t colon = g.find(':');
      const std::string kind = g.substr(0, colon == std::string::npos ? 0 : colon);
      if (kind != contracts::kTeeSevSnp && kind != contracts::kTeeTdx) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--coco-guest-measurement \"", g, "\": expected sev-snp:HEX or tdx:HEX (the Kata "
            "guest's SNP MEASUREMENT or TDX MRTD, from triad measure snp|tdx)"));
      }
      TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> m,
                             DecodeMeasurements("--coco-guest-measurement", {g.substr(colon + 1)}));
      (kind == contracts::kTeeSevSnp ? o.snp_measurements : o.tdx_mr_td).push_back(m[0]);
    }
  }
  TRIAD_ASSIGN_OR_RETURN(o.tdx_rtmr0, DecodeMeasurements("--tdx-rtmr0", f.tdx_rtmr0));
  TRIAD_ASSIGN_OR_RETURN(o.tdx_rtmr1, DecodeMeasurements("--tdx-rtmr1", f.tdx_rtmr1));
  TRIAD_ASSIGN_OR_RETURN(o.tdx_rtmr2, DecodeMeasurements("--tdx-rtmr2", f.tdx_rtmr2));
  TRIAD_ASSIGN_OR_RETURN(o.tdx_mr_config_id,
                         DecodeMeasurements("--tdx-mrconfigid", f.tdx_mr_config_id));
  TRIAD_ASSIGN_OR_RETURN(o.snp_host_data, DecodeHex("--snp-host-data", f.snp_host_data, 32));
  TRIAD_ASSIGN_OR_RETURN(o.snp_id_key_digests,
                         DecodeHex("--snp-id-key-digest", f.snp_id_key_digests, 48));
  if (!f.snp_min_tcb.empty()) {
    bool fmc = false;
    TRIAD_ASSIGN_OR_RETURN(contracts::SnpTcb t, ParseMinTcb(f.snp_min_tcb, &fmc));
    o.snp_min_tcb = t;
    o.snp_min_tcb_fmc = fmc;
  }
  if (!f.snp_vmpls.empty()) o.snp_vmpls = f.snp_vmpls;
  absl::StatusOr<contracts::WorkerPolicy> p = contracts::HardwarePolicy(o);
  if (!p.ok() && !o.snp_measurements.empty() && !o.snp_min_tcb) {
    return absl::InvalidArgumentError(absl::StrCat(
        p.status().message(),
        ": give --snp-min-tcb bootloader=N,tee=N,snp=N,microcode=N or --snp-min-tcb vcek:FILE"));
  }
  if (p.ok()) p->coco = std::move(coco);
  return p;
}

// The weaknesses the drafter accepted, each with what it lets through.
void PrintAcceptedWeaknesses(const contracts::WorkerPolicy& p, absl::string_view indent) {
  for (const contracts::PolicyWeakness& w : contracts::PolicyWeaknesses(p)) {
    if (std::find(p.accepted_weaknesses.begin(), p.accepted_weaknesses.end(), w.code) ==
        p.accepted_weaknesses.end()) {
      continue;
    }
    std::cout << indent << "ACCEPTED WEAKNESS " << w.code << ": " << w.message << "\n";
  }
}

// Refuses a weak policy unless --allow-weak-policy, which records what was accepted in the policy
// (so every party sees it when it reviews and signs) and warns.
absl::Status CheckPolicyStrength(contracts::WorkerPolicy& policy, bool allow) {
  std::vector<contracts::PolicyWeakness> weak = contracts::UnacceptedWeaknesses(policy);
  if (weak.empty()) return absl::OkStatus();
  std::vector<std::string> messages;
  for (const contracts::PolicyWeakness& w : weak) messages.push_back(w.message);
  if (!allow) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the worker policy lets a compute provider slip past it: ", absl::StrJoin(messages, "; "),
        ". Pin what is missing, or accept it with --allow-weak-policy (recorded in the contract "
        "for every party to see)"));
  }
  for (const contracts::PolicyWeakness& w : weak) {
    policy.accepted_weaknesses.push_back(w.code);
    std::cerr << "warning: weak worker policy accepted and recorded in the contract ("
              << w.code << "): " << w.message << "\n";
  }
  return absl::OkStatus();
}

absl::Status Draft(const DraftFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(absl::Time now, Now(f.now));
  now = absl::FromUnixSeconds(absl::ToUnixSeconds(now));  // the document has whole seconds
  TRIAD_ASSIGN_OR_RETURN(absl::Duration validity, ParseValidity(f.valid_for));
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard mo,
                         LoadCard("--model-owner", f.model_owner, Role::kModelOwner));
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard da,
                         LoadCard("--data-owner", f.data_owner, Role::kDataOwner));
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard cp,
                         LoadCard("--compute-provider", f.provider, Role::kComputeProvider));
  TRIAD_ASSIGN_OR_RETURN(contracts::Artifact model,
                         ResolveArtifact("--model", f.model, f.model_name));
  TRIAD_ASSIGN_OR_RETURN(contracts::Artifact dataset,
                         ResolveArtifact("--dataset", f.dataset, f.dataset_name));

  contracts::WorkerPolicy policy;
  if (!f.policy.empty()) {
    TRIAD_ASSIGN_OR_RETURN(
        policy, LoadSection<contracts::WorkerPolicy>("--policy", f.policy, [](absl::string_view t) {
          return contracts::WorkerPolicy::FromText(t);
        }));
  } else {
    TRIAD_ASSIGN_OR_RETURN(policy, PolicyFromFlags(f));
  }
  TRIAD_RETURN_IF_ERROR(CheckPolicyStrength(policy, f.allow_weak_policy));
  contracts::TrainingConfig training = contracts::TrainingConfig::Default();
  if (!f.training.empty()) {
    TRIAD_ASSIGN_OR_RETURN(training, LoadSection<contracts::TrainingConfig>(
                                         "--training", f.training, [](absl::string_view t) {
                                           return contracts::TrainingConfig::FromText(t);
                                         }));
  }
  contracts::Outputs outputs = contracts::Outputs::Default();
  if (!f.outputs.empty()) {
    TRIAD_ASSIGN_OR_RETURN(
        outputs, LoadSection<contracts::Outputs>("--outputs", f.outputs, [](absl::string_view t) {
          return contracts::Outputs::FromText(t);
        }));
  }
  std::string id =
      f.id.empty() ? absl::StrCat("c-", base::HexEncode(crypto::RandomString(8))) : f.id;
  if (absl::Status st = contracts::ValidateName(id); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--id \"", id, "\": ", st.message()));
  }

  contracts::Terms terms;
  terms.max_jobs = f.max_jobs;
  TRIAD_ASSIGN_OR_RETURN(absl::Duration lease, PositiveDuration("--key-lease", f.key_lease));
  if (lease < absl::Seconds(5) || lease > absl::Hours(24) ||
      lease % absl::Seconds(1) != absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--key-lease: whole seconds from 5s to 24h");
  }
  terms.key_lease_seconds = static_cast<uint32_t>(absl::ToInt64Seconds(lease));
  if (f.max_jobs < 1 || f.max_jobs > 1000000) {
    return absl::InvalidArgumentError("--max-jobs: from 1 to 1000000");
  }
  std::vector<contracts::PartyCard> auditors;
  for (const std::string& path : f.auditors) {
    TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard a, LoadCard("--auditor", path, Role::kAuditor));
    auditors.push_back(std::move(a));
  }
  Contract c{id,
             now,
             now,
             now + validity,
             std::move(mo),
             std::move(da),
             std::move(cp),
             model,
             dataset,
             training,
             std::move(policy),
             std::move(outputs),
             terms,
             std::move(auditors)};
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env, contracts::DraftContract(c));
  TRIAD_RETURN_IF_ERROR(base::WriteNewFile(f.out, EnvelopeFileText(env), 0644));
  if (f.json) {
    nlohmann::ordered_json j{{"file", f.out},
                             {"id", id},
                             {"digest", contracts::ContractDigest(env)},
                             {"not_before", base::FormatRfc3339(c.not_before)},
                             {"not_after", base::FormatRfc3339(c.not_after)}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "wrote " << f.out << ": contract " << id << " (" << contracts::ContractDigest(env)
              << "), valid " << base::FormatRfc3339(c.not_before) << " to "
              << base::FormatRfc3339(c.not_after) << "\n"
              << "unsigned; each party reviews it with `triad contract show " << f.out
              << "` and signs with `triad contract sign " << f.out << " --as DIR/NAME`\n";
    if (c.worker_policy.Accepts(contracts::kTeeSim)) {
      std::cout << "warning: the worker policy accepts sim workers (" << contracts::kSimulatedNotice
                << ")\n";
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------------
// sign

struct SignFlags {
  std::string file, as, now;
  bool json = false;
};

// Opens `path` and takes an exclusive lock on the file that is at `path` once the lock is held, so
// that two parties signing the same file at once both end up in it (the file is replaced by rename,
// so a lock on a replaced file is retried on the new one).
absl::StatusOr<std::unique_ptr<Fd>> LockFile(const std::string& path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto fd = std::make_unique<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd->get() < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
    while (::flock(fd->get(), LOCK_EX) != 0) {
      if (errno != EINTR) return base::ErrnoStatus(errno, absl::StrCat("locking ", path));
    }
    struct stat held, now;
    if (::fstat(fd->get(), &held) != 0)
      return base::ErrnoStatus(errno, absl::StrCat("stat ", path));
    if (::stat(path.c_str(), &now) == 0 && now.st_ino == held.st_ino && now.st_dev == held.st_dev)
      return fd;
  }
  return absl::UnavailableError(absl::StrCat(path, " keeps changing; try again"));
}

absl::StatusOr<std::string> ReadFd(int fd, const std::string& path, size_t max_bytes) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", path));
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is larger than the limit of ", max_bytes, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status Sign(const SignFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(absl::Time now, Now(f.now));
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card,
                         contracts::PartyCard::FromFile(f.as + ".card.json"));
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  if (key.public_key() != card.signing_key) {
    return absl::FailedPreconditionError(
        absl::StrCat(f.as, ".signing.pem is not the key of ", f.as, ".card.json"));
  }
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<Fd> lock, LockFile(f.file));
  TRIAD_ASSIGN_OR_RETURN(std::string text,
                         ReadFd(lock->get(), f.file, contracts::kMaxContractEnvelopeSize));
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env, ParseEnvelope(f.file, text));

  // The contract must name this party exactly as its own card does: a contract that puts the
  // signer's key beside someone else's age recipient would send the signer's outputs elsewhere.
  absl::StatusOr<Contract> c = Contract::FromPayload(env.payload);
  if (c.ok()) {
    if (std::optional<Role> role = c->RoleOfKeyId(card.fingerprint())) {
      const contracts::PartyCard& named = c->party(*role);
      if (named.ToJson() != card.ToJson()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "contract ", c->id, " names your key as ", contracts::SlotName(*role),
            " with a card that differs from ", f.as, ".card.json (name \"", named.name,
            "\", age recipient ", named.age_recipient.ToString(), "); refusing to sign"));
      }
    }
  }
  TRIAD_RETURN_IF_ERROR(base::Annotate(contracts::SignContract(env, key, now), f.file));
  TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.file, EnvelopeFileText(env), 0644));

  contracts::ContractStatus st = contracts::CheckContract(env, now);
  std::optional<Role> role = c->RoleOfKeyId(card.fingerprint());
  if (f.json) {
    nlohmann::ordered_json j;
    j["file"] = f.file;
    j["signed_as"] = contracts::SlotName(*role);
    j["name"] = card.name;
    j["signatures"] = nlohmann::ordered_json::object();
    for (int i = 0; i < 3; ++i) {
      j["signatures"][contracts::SlotName(contracts::kContractRoles[i])] =
          contracts::SignatureStateName(st.signatures[i]);
    }
    j["active"] = st.active();
    j["reasons"] = st.reasons;
    std::cout << j.dump() << "\n";
    return absl::OkStatus();
  }
  std::cout << "signed " << f.file << " as " << contracts::SlotName(*role) << " \"" << card.name
            << "\"\n";
  std::vector<std::string> parts;
  for (int i = 0; i < 3; ++i) {
    parts.push_back(absl::StrCat(contracts::SlotName(contracts::kContractRoles[i]), " ",
                                 contracts::SignatureStateName(st.signatures[i])));
  }
  std::cout << "signatures: " << absl::StrJoin(parts, ", ") << "\n";
  if (c.ok() && !c->worker_policy.accepted_weaknesses.empty()) {
    std::cout << "warning: you signed a contract whose worker policy has accepted weaknesses:\n";
    PrintAcceptedWeaknesses(c->worker_policy, "  ");
  }
  if (st.active()) {
    std::cout << "the contract is active\n";
  } else {
    std::cout << "the contract is not active:\n";
    for (const std::string& r : st.reasons) std::cout << "  - " << r << "\n";
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------------
// verify

struct VerifyFlags {
  std::string file, now;
  bool json = false;
};

int Verify(const VerifyFlags& f) {
  absl::StatusOr<absl::Time> now = Now(f.now);
  if (!now.ok()) return Fail(now.status());
  absl::StatusOr<crypto::DsseEnvelope> env = ReadEnvelope(f.file);
  if (!env.ok()) return Fail(env.status());
  contracts::ContractStatus st = contracts::CheckContract(*env, *now);
  if (f.json) {
    std::cout << st.ToJson().dump() << "\n";
  } else if (st.active()) {
    std::cout << "contract " << st.contract->id << " is active (" << st.digest << "), valid until "
              << base::FormatRfc3339(st.contract->not_after) << "\n";
    if (st.contract->worker_policy.Accepts(contracts::kTeeSim)) {
      std::cout << "note: its worker policy accepts sim workers (" << contracts::kSimulatedNotice
                << ")\n";
    }
  } else {
    for (const std::string& r : st.reasons) std::cerr << "triad: " << r << "\n";
  }
  return st.active() ? kExitOk : kExitFailure;
}

// ---------------------------------------------------------------------------------------------------
// show

struct ShowFlags {
  std::string file, now;
  bool json = false;
};

std::string Num(double d) { return nlohmann::json(d).dump(); }
std::string YesNo(bool b) { return b ? "yes" : "no"; }
std::string HexList(const std::vector<std::string>& values) {
  std::vector<std::string> hex;
  for (const std::string& v : values) hex.push_back(base::HexEncode(v));
  return absl::StrJoin(hex, "\n                 ");
}
std::string Slots(const std::vector<Role>& roles) {
  std::vector<std::string> names;
  for (Role r : roles) names.push_back(std::string(contracts::SlotName(r)));
  return names.empty() ? "nobody" : absl::StrJoin(names, ", ");
}

void PrintPolicy(const contracts::WorkerPolicy& p) {
  std::cout << "Worker policy\n"
            << "  TEE kinds      " << absl::StrJoin(p.tee, ", ") << "\n"
            << "  debug workers  " << (p.allow_debug ? "ALLOWED" : "refused") << "\n";
  if (p.sev_snp) {
    const contracts::SnpReference& r = *p.sev_snp;
    std::cout << "  sev-snp\n    measurement  " << HexList(r.measurements) << "\n"
              << "    min TCB      bootloader " << int{r.min_tcb.bootloader} << ", tee "
              << int{r.min_tcb.tee} << ", snp " << int{r.min_tcb.snp} << ", microcode "
              << int{r.min_tcb.microcode};
    if (r.check_fmc) std::cout << ", fmc " << int{r.min_tcb.fmc};
    std::cout << "\n";
    if (!r.host_data.empty()) std::cout << "    host_data    " << HexList(r.host_data) << "\n";
    if (!r.id_key_digests.empty())
      std::cout << "    id_key       " << HexList(r.id_key_digests) << "\n";
    if (r.require_crl) std::cout << "    AMD CRL      required\n";
    if (r.min_guest_svn) std::cout << "    guest SVN    >= " << *r.min_guest_svn << "\n";
    if (!r.allowed_vmpls.empty())
      std::cout << "    VMPL         " << absl::StrJoin(r.allowed_vmpls, ", ") << "\n";
    std::cout << "    migration agent " << (r.allow_migration_agent ? "allowed" : "refused")
              << "\n";
    if (!r.chip_ids.empty()) std::cout << "    chip_id      " << HexList(r.chip_ids) << "\n";
  }
  if (p.tdx) {
    const contracts::TdxReference& r = *p.tdx;
    std::cout << "  tdx\n    mr_td        " << HexList(r.mr_td) << "\n";
    for (int i = 0; i < 4; ++i) {
      if (!r.rtmr[i].empty())
        std::cout << "    rtmr" << i << "        " << HexList(r.rtmr[i]) << "\n";
    }
    if (!r.mr_config_id.empty())
      std::cout << "    mr_config_id " << HexList(r.mr_config_id) << "\n";
    std::cout << "    tcb_status   " << absl::StrJoin(r.tcb_status, ", ") << "\n";
    if (r.allowed_advisory_ids) {
      std::cout << "    advisories   "
                << (r.allowed_advisory_ids->empty() ? "none allowed"
                                                    : absl::StrJoin(*r.allowed_advisory_ids, ", "))
                << "\n";
    }
    if (!r.platform_ids.empty())
      std::cout << "    platform_id  " << HexList(r.platform_ids) << "\n";
    if (r.min_tcb_evaluation_data_number) {
      std::cout << "    TCB eval     >= " << *r.min_tcb_evaluation_data_number << "\n";
    }
    if (r.td_attributes) {
      std::cout << "    attributes   "
                << absl::StrCat("& 0x", absl::Hex(r.td_attributes->mask, absl::kZeroPad16),
                                " == 0x", absl::Hex(r.td_attributes->value, absl::kZeroPad16))
                << "\n";
    }
  }
  if (p.sim) {
    std::cout << "  sim            " << contracts::kSimulatedNotice << "\n"
              << "    measurement  " << HexList(p.sim->measurements) << "\n";
    if (!p.sim->tcb_status.empty())
      std::cout << "    tcb_status   " << absl::StrJoin(p.sim->tcb_status, ", ") << "\n";
  }
  if (p.nvidia_gpu) {
    const contracts::GpuRequirements& g = *p.nvidia_gpu;
    std::cout << "  nvidia-gpu     " << g.count << " GPU" << (g.count == 1 ? "" : "s") << " ("
              << absl::StrJoin(g.architectures, ", ") << "), CC mode on and ready"
              << (g.count > 1 ? ", protected PCIe" : "") << ", driver >= " << g.min_driver_version
              << ", VBIOS >= " << g.min_vbios_version << "\n"
              << "    RIMs         " << (g.rim_required ? "required" : "OPTIONAL") << "\n"
              << "    OCSP         " << (g.ocsp_required ? "required" : "OPTIONAL") << "\n";
  }
  PrintAcceptedWeaknesses(p, "  ");
}

void PrintContract(const Contract& c, const contracts::ContractStatus& st) {
  std::cout << "Contract " << c.id << "  (" << contracts::kContractType << ")\n"
            << "  digest         " << st.digest << "\n"
            << "  created        " << base::FormatRfc3339(c.created) << "\n"
            << "  valid          " << base::FormatRfc3339(c.not_before) << " to "
            << base::FormatRfc3339(c.not_after) << "\n\nParties\n";
  for (int i = 0; i < 3; ++i) {
    Role role = contracts::kContractRoles[i];
    const contracts::PartyCard& p = c.party(role);
    std::cout << "  " << contracts::SlotName(role) << "  \"" << p.name
              << "\"  signature: " << contracts::SignatureStateName(st.signatures[i]) << "\n"
              << "    key          " << p.fingerprint() << "\n"
              << "    recipient    " << p.age_recipient.ToString() << "\n";
  }
  std::cout << "\nArtifacts\n"
            << "  base model     " << c.base_model.name << "  " << c.base_model.id << "\n"
            << "  dataset        " << c.dataset.name << "  " << c.dataset.id << "\n\n";
  const contracts::TrainingConfig& t = c.training;
  std::cout << "Training (LoRA)\n"
            << "  rank " << t.rank << ", alpha " << Num(t.alpha) << ", dropout " << Num(t.dropout)
            << ", rsLoRA " << YesNo(t.use_rslora) << "\n"
            << "  target modules " << absl::StrJoin(t.target_modules, " ") << "\n"
            << "  epochs " << t.epochs << ", max steps " << t.max_steps
            << (t.max_steps > 0 ? " (bounds training)" : "") << "\n"
            << "  learning rate " << Num(t.learning_rate) << ", " << t.lr_scheduler
            << " schedule, warmup " << t.warmup_steps << " steps, weight decay "
            << Num(t.weight_decay) << ", max grad norm " << Num(t.max_grad_norm) << "\n"
            << "  batch size " << t.batch_size << " x " << t.gradient_accumulation_steps
            << " accumulation steps, sequence length " << t.sequence_length << ", packing "
            << YesNo(t.packing) << "\n"
            << "  eval fraction " << Num(t.eval_fraction) << ", seed " << t.seed << "\n\n";
  PrintPolicy(c.worker_policy);
  std::cout << "\nOutputs\n"
            << "  adapter to     " << Slots(c.outputs.adapter_recipients) << "\n"
            << "  metrics to     " << Slots(c.outputs.metrics_recipients) << "\n"
            << "  per-step loss  "
            << (c.outputs.per_step_loss ? "may leave the TEE" : "stays in the TEE") << "\n\n";
  // What each owner's keyholder enforces, and who else may read the contract's jobs and log.
  std::cout << "Terms\n"
            << "  max jobs       " << c.terms.max_jobs
            << " (each owner releases its key for at most this many jobs)\n"
            << "  key lease      " << c.terms.key_lease_seconds
            << " s (a worker that cannot renew it for this long wipes the keys and stops)\n";
  if (c.auditors.empty()) {
    std::cout << "  auditors       none (only the three parties read its jobs and log)\n\n";
  } else {
    for (const contracts::PartyCard& a : c.auditors) {
      std::cout << "  auditor        \"" << a.name << "\"  key " << a.fingerprint() << "\n";
    }
    std::cout << "\n";
  }
}

int Show(const ShowFlags& f) {
  absl::StatusOr<absl::Time> now = Now(f.now);
  if (!now.ok()) return Fail(now.status());
  absl::StatusOr<crypto::DsseEnvelope> env = ReadEnvelope(f.file);
  if (!env.ok()) return Fail(env.status());
  contracts::ContractStatus st = contracts::CheckContract(*env, *now);
  if (f.json) {
    nlohmann::ordered_json j;
    j["status"] = st.ToJson();
    j["contract"] =
        st.contract ? nlohmann::ordered_json::parse(env->payload) : nlohmann::ordered_json(nullptr);
    std::cout << j.dump() << "\n";
    return st.contract ? kExitOk : kExitFailure;
  }
  if (!st.contract) {
    std::cerr << "triad: " << f.file << " does not hold a valid contract:\n";
    for (const std::string& r : st.reasons) std::cerr << "triad: " << r << "\n";
    return kExitFailure;
  }
  PrintContract(*st.contract, st);
  if (st.active()) {
    std::cout << "Status: ACTIVE at " << base::FormatRfc3339(*now) << "\n";
  } else {
    std::cout << "Status: not active at " << base::FormatRfc3339(*now) << "\n";
    for (const std::string& r : st.reasons) std::cout << "  - " << r << "\n";
  }
  return kExitOk;
}

struct SubmitFlags {
  ClientFlags client;
  std::string file;
  bool json = false;
};

// What the coordinator answered about a contract, as one JSON object.
void PrintContractReplyJson(const v1::ContractReply& reply) {
  nlohmann::ordered_json j;
  j["id"] = reply.id();
  j["state"] = reply.state();
  j["digest"] = reply.digest();
  std::cout << j.dump() << "\n";
}

struct RevokeFlags {
  ClientFlags client;
  std::string id;
  std::string as;
  std::string reason;
  bool json = false;
};

// Any one of the three parties ends the contract; the keyholders also keep their own list
// (triad keyholder revoke), which holds even if a coordinator ignored this.
absl::Status Revoke(const RevokeFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Contracts::NewStub(remote.channel);
  v1::SignedRequest req;
  req.set_envelope_json(
      remote.Sign("revoke-contract", {{"contract_id", f.id}, {"reason", f.reason}}, key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ContractReply reply;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->RevokeContract(&ctx, req, &reply), f.client));
  if (f.json) {
    PrintContractReplyJson(reply);
  } else {
    std::cout << "contract " << reply.id() << " is revoked; its unfinished jobs failed\n";
  }
  return absl::OkStatus();
}

// Hands the signed contract to the coordinator, which activates it (or says why it does not).
absl::Status Submit(const SubmitFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(std::string envelope, base::ReadFile(f.file, contracts::kMaxContractEnvelopeSize));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(f.client));
  auto stub = v1::Contracts::NewStub(channel);
  v1::SubmitContractRequest req;
  req.set_envelope_json(envelope);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ContractReply reply;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->SubmitContract(&ctx, req, &reply), f.client));
  if (f.json) {
    PrintContractReplyJson(reply);
  } else {
    std::cout << "contract " << reply.id() << " is " << reply.state() << " (" << reply.digest() << ")\n";
  }
  return absl::OkStatus();
}

struct ListFlags {
  ClientFlags client;
  std::string as;
  bool json = false;
};

// The contracts the coordinator holds in which the signer is a party or a named auditor.
absl::Status List(const ListFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Contracts::NewStub(remote.channel);
  v1::SignedRequest req;
  req.set_envelope_json(remote.Sign("list-contracts", nlohmann::json::object(), key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ContractList list;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->ListContracts(&ctx, req, &list), f.client));
  for (const v1::ContractSummary& c : list.contracts()) {
    if (f.json) {
      nlohmann::ordered_json j;
      j["id"] = c.status().id();
      j["state"] = c.status().state();
      j["digest"] = c.status().digest();
      j["role"] = c.role();
      j["model_name"] = c.model_name();
      j["dataset_name"] = c.dataset_name();
      j["not_after"] = c.not_after();
      std::cout << j.dump() << "\n";
    } else {
      std::cout << c.status().id() << "  " << c.status().state() << "  you: " << c.role()
                << "  model " << c.model_name() << ", dataset " << c.dataset_name()
                << "  until " << c.not_after() << "\n";
    }
  }
  if (!f.json && list.contracts().empty()) {
    std::cerr << "triad: no contract of yours at this coordinator\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddContractCommands(CLI::App& app, Context& ctx) {
  CLI::App* group =
      app.add_subcommand("contract", "Draft, sign, verify and show three-party contracts");
  group->require_subcommand(1);

  auto d = std::make_shared<DraftFlags>();
  CLI::App* draft = group->add_subcommand("draft", "Write an unsigned contract");
  draft->add_option("--model-owner", d->model_owner, "Model owner's card (NAME.card.json)")
      ->required();
  draft->add_option("--data-owner", d->data_owner, "Data owner's card")->required();
  AddAliasedOption(draft, "--compute-provider", "--provider", d->provider,
                   "Compute provider's card", /*required=*/true);
  draft
      ->add_option("--model", d->model,
                   "Base model: sha256:<hex> of its ciphertext, or the encrypted file")
      ->required();
  draft->add_option("--model-name", d->model_name, "Base model name (default: the file's name)");
  draft
      ->add_option("--dataset", d->dataset,
                   "Dataset: sha256:<hex> of its ciphertext, or the encrypted file")
      ->required();
  draft->add_option("--dataset-name", d->dataset_name, "Dataset name (default: the file's name)");
  CLI::Option* policy = draft->add_option("--policy", d->policy, "Worker policy JSON file");
  draft
      ->add_option(
          "--snp-measurement", d->snp_measurements,
          "Without --policy: an accepted SEV-SNP launch measurement (96 hex digits; repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--tdx-mrtd", d->tdx_mr_td,
                   "Without --policy: an accepted TDX MRTD (96 hex digits; repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--snp-min-tcb", d->snp_min_tcb,
                   "Without --policy, with --snp-measurement (required): the oldest SEV-SNP TCB "
                   "admitted, bootloader=N,tee=N,snp=N,microcode=N[,fmc=N], or vcek:FILE (the TCB "
                   "an AMD VCEK/VLEK certifies)")
      ->excludes(policy);
  draft
      ->add_option("--snp-vmpl", d->snp_vmpls,
                   "Without --policy: an admitted VMPL (0 to 3; repeatable; default 0 only)")
      ->excludes(policy);
  draft
      ->add_option("--snp-host-data", d->snp_host_data,
                   "Without --policy: an admitted SEV-SNP HOST_DATA (64 hex digits; repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--snp-id-key-digest", d->snp_id_key_digests,
                   "Without --policy: an admitted SEV-SNP ID_KEY_DIGEST (96 hex digits; "
                   "repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--tdx-rtmr0", d->tdx_rtmr0,
                   "Without --policy: an admitted TDX RTMR0 (the VM's shape and firmware "
                   "configuration, from triad measure tdx --fw-cfg; 96 hex digits; repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--tdx-rtmr1", d->tdx_rtmr1,
                   "Without --policy: an admitted TDX RTMR1 (the guest kernel, from triad measure "
                   "tdx; 96 hex digits; repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--tdx-rtmr2", d->tdx_rtmr2,
                   "Without --policy: an admitted TDX RTMR2 (the kernel command line and initrd, "
                   "from triad measure tdx; 96 hex digits; repeatable)")
      ->excludes(policy);
  draft
      ->add_option("--tdx-mrconfigid", d->tdx_mr_config_id,
                   "Without --policy: an admitted TDX MRCONFIGID (96 hex digits; repeatable)")
      ->excludes(policy);
  draft->add_flag("--allow-weak-policy", d->allow_weak_policy,
                  "Draft even though the worker policy leaves something unpinned (the TDX guest "
                  "kernel, an SNP TCB floor or VMPL, GPU RIMs or OCSP); the weaknesses are "
                  "recorded in the contract and shown to every party");
  CLI::Option* coco_initdata =
      draft
          ->add_option("--coco-initdata", d->coco_initdata,
                       "Without --policy: Confidential Containers init-data (TOML) the worker pods "
                       "run with; pins its digest and the worker image its agent policy pins")
          ->excludes(policy);
  draft
      ->add_option("--coco-guest-measurement", d->coco_guest_measurements,
                   "With --coco-initdata: the Kata guest's launch measurement, sev-snp:HEX or "
                   "tdx:HEX (triad measure snp|tdx; repeatable)")
      ->needs(coco_initdata);
  draft->add_option("--training", d->training,
                    "Training section JSON file (default: LoRA r=8 on all projections)");
  draft->add_option(
      "--outputs", d->outputs,
      "Outputs JSON file (default: adapter and metrics to both owners, no per-step loss)");
  draft->add_option("--valid-for", d->valid_for, "Validity from now: 30d, 12h, 90m, ...")
      ->required()
      ->check(ValidityValue());
  draft->add_option("--id", d->id, "Contract id (default: c-<16 random hex digits>)")
      ->check(NameValue());
  draft
      ->add_option("--max-jobs", d->max_jobs,
                   "How many distinct jobs each owner's keyholder releases its key for")
      ->capture_default_str();
  draft
      ->add_option("--key-lease", d->key_lease,
                   "How long a worker may hold the keys without renewing its lease (5s to 24h)")
      ->capture_default_str();
  draft->add_option("--auditor", d->auditors,
                    "An auditor's card: it may read this contract's jobs and log (repeatable)");
  draft->add_option("--now", d->now, "Draft as of this RFC 3339 time instead of the clock")
      ->check(TimeValue());
  draft->add_option("--out", d->out, "Contract file to create (never overwritten)")->required();
  draft->add_flag("--json", d->json, "Print the result as JSON");
  draft->callback([d, &ctx] {
    if (d->policy.empty() && d->snp_measurements.empty() && d->tdx_mr_td.empty() &&
        d->coco_guest_measurements.empty()) {
      std::cerr << "triad: without --policy, give the worker's launch measurement with "
                   "--snp-measurement or "
                   "--tdx-mrtd (the default policy admits only hardware TEEs running that code)\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    ctx.exit_code = Finish(Draft(*d));
  });

  auto s = std::make_shared<SignFlags>();
  CLI::App* sign = group->add_subcommand("sign", "Add your signature to a contract file, in place");
  sign->add_option("FILE", s->file, "Contract file")->required();
  AddAsFlag(sign, s->as, "Your keys: DIR/NAME (NAME.signing.pem and NAME.card.json)");
  sign->add_option("--now", s->now, "Sign as of this RFC 3339 time instead of the clock")
      ->check(TimeValue());
  sign->add_flag("--json", s->json, "Print the result as one JSON object");
  sign->callback([s, &ctx] { ctx.exit_code = Finish(Sign(*s)); });

  auto v = std::make_shared<VerifyFlags>();
  CLI::App* verify =
      group->add_subcommand("verify", "Exit 0 when the contract is active; else list every reason");
  verify->add_option("FILE", v->file, "Contract file")->required();
  verify->add_option("--now", v->now, "Check at this RFC 3339 time instead of the clock")
      ->check(TimeValue());
  verify->add_flag("--json", v->json, "Print the status as JSON");
  verify->callback([v, &ctx] { ctx.exit_code = Verify(*v); });

  auto w = std::make_shared<ShowFlags>();
  CLI::App* show =
      group->add_subcommand("show", "Print the terms and each party's signature status");
  show->add_option("FILE", w->file, "Contract file")->required();
  show->add_option("--now", w->now, "Status at this RFC 3339 time instead of the clock")
      ->check(TimeValue());
  show->add_flag("--json", w->json, "Print the payload and status as JSON");
  show->callback([w, &ctx] { ctx.exit_code = Show(*w); });

  auto u = std::make_shared<SubmitFlags>();
  CLI::App* submit = group->add_subcommand("submit", "Submit a signed contract to the coordinator, which activates it");
  submit->add_option("FILE", u->file, "Contract file signed by all three parties")->required();
  AddClientFlags(submit, u->client);
  submit->add_flag("--json", u->json, "Print the result as JSON");
  submit->callback([u, &ctx] { ctx.exit_code = Finish(Submit(*u)); });

  auto r = std::make_shared<RevokeFlags>();
  CLI::App* revoke = group->add_subcommand(
      "revoke", "End a contract now (any one of its three parties): no more jobs, keys or outputs");
  revoke->add_option("CONTRACT", r->id, "The contract's id")->required();
  AddAsFlag(revoke, r->as, "Your keys (a party of the contract): DIR/NAME");
  revoke->add_option("--reason", r->reason, "Why (logged)")->required();
  AddClientFlags(revoke, r->client);
  revoke->add_flag("--json", r->json, "Print the result as JSON");
  revoke->callback([r, &ctx] { ctx.exit_code = Finish(Revoke(*r)); });

  auto l = std::make_shared<ListFlags>();
  CLI::App* list = group->add_subcommand(
      "list", "List the contracts at a coordinator that you are a party of or audit");
  AddClientFlags(list, l->client);
  AddAsFlag(list, l->as, "Your keys: DIR/NAME");
  list->add_flag("--json", l->json, "One JSON object per contract");
  list->callback([l, &ctx] { ctx.exit_code = Finish(List(*l)); });
}

}  // namespace triad::cli
