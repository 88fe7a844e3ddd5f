// triad audit export: a job's audit bundle (verify/bundle.h), for an auditor to verify
// offline; triad audit verify: the auditor's offline checks of a bundle
// (verify/audit_verify.h); triad audit watch: that the coordinator's log only ever grows.
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "attestation/roots.h"
#include "attestation/verifier.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "cli/keys.h"
#include "contracts/card.h"
#include "coordinator/card.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "nlohmann/json.hpp"
#include "triad/v1/audit.grpc.pb.h"
#include "verify/audit_verify.h"

namespace triad::cli {
namespace {

struct ExportFlags {
  ClientFlags client;
  std::string job;
  std::string out;
  std::string as;
  std::string state;
  int witnessed = 0;
  bool json = false;
};

absl::Status Export(const ExportFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Audit::NewStub(remote.channel);
  v1::ExportRequest req;
  req.set_job_id(f.job);
  nlohmann::json body = {{"job_id", f.job}};
  if (!f.state.empty()) {
    // Ask for the proof that ties the bundle to the view saved earlier (audit verify --state).
    TRIAD_ASSIGN_OR_RETURN(std::string note, base::ReadFile(f.state, crypto::kMaxNoteSize));
    TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint saved,
                           base::Annotate(verify::OpenCardCheckpoint(remote.card, note), f.state));
    body["consistency_from"] = {saved.size};
  }
  if (f.witnessed > 0) body["witnessed"] = f.witnessed;
  req.mutable_request()->set_envelope_json(remote.Sign("export-bundle", body, key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ExportReply reply;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->ExportBundle(&ctx, req, &reply), f.client));
  if (f.out.empty() || f.out == "-") {
    if (!f.json) {
      std::cout << reply.bundle_json();
      return absl::OkStatus();
    }
    // --json: the bundle itself, as one object on one line (the file form is indented).
    nlohmann::ordered_json bundle =
        nlohmann::ordered_json::parse(reply.bundle_json(), nullptr, /*allow_exceptions=*/false);
    if (bundle.is_discarded() || !bundle.is_object()) {
      return absl::DataLossError(
          absl::StrCat("coordinator ", f.client.address, ": its bundle is not a JSON object"));
    }
    std::cout << bundle.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
    return absl::OkStatus();
  }
  TRIAD_RETURN_IF_ERROR(base::WriteNewFile(f.out, reply.bundle_json(), 0644));
  if (f.json) {
    nlohmann::ordered_json j;
    j["job_id"] = f.job;
    j["out"] = f.out;
    j["bytes"] = reply.bundle_json().size();
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "wrote " << f.out << "\n";
  }
  return absl::OkStatus();
}

struct VerifyFlags {
  std::string bundle;
  std::string card;
  std::string roots;
  std::vector<std::string> sim_keys;
  std::string adapter;
  std::string state;
  std::vector<std::string> witnesses;
  int min_witnesses = -1;  // -1: one when witnesses are given
  bool json = false;
};

// "sha256:<hex>" of a file, read in pieces (an adapter may be large).
absl::StatusOr<std::string> FileSha256Id(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
  crypto::Hasher h(crypto::HashAlg::kSha256);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.Update(absl::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return base::ErrnoStatus(errno, absl::StrCat("reading ", path));
  return absl::StrCat("sha256:", base::HexEncode(h.Finish()));
}

// A check's stable id for machines: its name (verify/audit_verify.h) in snake case, with the
// attempt of "admission N …" checks apart ("admission 2 evidence digest" is
// {"id": "admission.evidence_digest", "attempt": 2}), so that a script keys on the id and never on
// the prose of the detail.
std::pair<std::string, int> CheckId(const std::string& name) {
  std::string rest = name;
  std::string prefix;
  int attempt = 0;
  std::vector<std::string> words = absl::StrSplit(name, ' ');
  if (words.size() > 2 && words[0] == "admission" && absl::SimpleAtoi(words[1], &attempt)) {
    prefix = "admission.";
    rest = absl::StrJoin(words.begin() + 2, words.end(), " ");
  } else {
    attempt = 0;
  }
  std::string id;
  for (char c : rest) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    id += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
  }
  return {prefix + id, attempt};
}

// 0 when every check holds, 1 when one fails (the report says which) or the inputs cannot be read.
int Verify(const VerifyFlags& f) {
  if (f.card.empty()) {
    return Fail(UsageError(
        "--coordinator-card is needed: its key signs the checkpoint and the job record (or "
        "TRIAD_COORDINATOR_CARD, or a context: triad context add)"));
  }
  absl::StatusOr<coordinator::CoordinatorCard> card = ReadCoordinatorCard(f.card);
  if (!card.ok()) return Fail(card.status());
  absl::StatusOr<attestation::TrustAnchors> anchors = LoadAnchors(f.roots, f.sim_keys);
  if (!anchors.ok()) return Fail(anchors.status());
  absl::StatusOr<std::string> bundle = base::ReadFile(f.bundle, verify::kMaxAuditBundleSize);
  if (!bundle.ok()) return Fail(base::Annotate(bundle.status(), f.bundle));
  verify::AuditOptions options;
  if (!f.adapter.empty()) {
    absl::StatusOr<std::string> digest = FileSha256Id(f.adapter);
    if (!digest.ok()) return Fail(digest.status());
    options.adapter_digest = *digest;
  }
  if (!f.state.empty()) {
    absl::StatusOr<std::string> note = base::ReadFile(f.state, crypto::kMaxNoteSize);
    if (!note.ok()) return Fail(base::Annotate(note.status(), absl::StrCat("--state ", f.state)));
    options.saved_checkpoint = *note;
  }
  for (const std::string& path : f.witnesses) {
    absl::StatusOr<contracts::PartyCard> w = contracts::PartyCard::FromFile(path);
    if (!w.ok()) return Fail(base::Annotate(w.status(), absl::StrCat("--witness ", path)));
    options.witnesses.push_back({w->name, w->signing_key});
  }
  if (f.min_witnesses > static_cast<int>(f.witnesses.size())) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--min-witnesses ", f.min_witnesses,
                                                        " is more than the ", f.witnesses.size(),
                                                        " witness card(s) given with --witness")));
  }
  options.min_witnesses =
      f.min_witnesses >= 0 ? static_cast<size_t>(f.min_witnesses) : (f.witnesses.empty() ? 0 : 1);
  verify::AuditReport report = verify::VerifyBundle(*bundle, *card, *anchors, options);
  if (f.json) {
    nlohmann::ordered_json j = report.ToJson();
    for (nlohmann::ordered_json& c : j["checks"]) {
      auto [id, attempt] = CheckId(c["name"].get<std::string>());
      nlohmann::ordered_json with_id;
      with_id["id"] = id;
      if (attempt > 0) with_id["attempt"] = attempt;
      for (auto& [k, v] : c.items()) with_id[k] = v;
      c = std::move(with_id);
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    std::cout << report.ToText();
  }
  return report.ok() ? kExitOk : kExitFailure;
}

struct WatchFlags {
  ClientFlags client;
  std::string state;
  std::string every;
  std::string witness;  // DIR/NAME: cosign what was checked
  bool json = false;    // one JSON object per event
};

// One event of audit watch: a line of text, or with --json one object.
void Say(const WatchFlags& f, const nlohmann::ordered_json& j, const std::string& text) {
  if (f.json) {
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << text << std::endl;
  }
}

// A witness: the card's name and its signing key (c2sp.org/tlog-cosignature).
struct Witness {
  contracts::PartyCard card;
  crypto::Ed25519PrivateKey key;
};

// Cosigns `note` (just checked to extend what this watcher saw before) and hands the cosignature
// to the coordinator, which serves it with the checkpoint.
absl::Status Cosign(const Witness& w, const WatchFlags& f, v1::Audit::Stub& stub,
                    absl::string_view note, const crypto::Checkpoint& cp) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Note parsed, crypto::ParseNote(note));
  TRIAD_ASSIGN_OR_RETURN(std::string line,
                         crypto::CosignatureLine(w.card.name, w.key, parsed.text, absl::Now()));
  TRIAD_ASSIGN_OR_RETURN(std::string cosigned, crypto::AddSignatureLine(note, line));
  v1::CosignRequest req;
  req.set_signed_note(cosigned);
  v1::CosignReply reply;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  TRIAD_RETURN_IF_ERROR(CallStatus(stub.AddCosignature(&ctx, req, &reply), f.client));
  if (reply.accepted() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the coordinator did not keep the cosignature of tree size ", cp.size, " by ", w.card.name,
        ": it knows no witness of that name and key (a registered party, or an auditor a contract "
        "names)"));
  }
  Say(f, {{"event", "cosigned"}, {"tree_size", cp.size}, {"witness", w.card.name}},
      absl::StrCat("cosigned tree size ", cp.size, " as witness ", w.card.name));
  return absl::OkStatus();
}

// One look: the saved view, the coordinator's newest checkpoint, the consistency proof between them.
// In a loop (`quiet`), an unchanged log prints nothing.
absl::Status WatchOnce(const WatchFlags& f, const coordinator::CoordinatorCard& card,
                       v1::Audit::Stub& stub, bool quiet, const Witness* witness,
                       uint64_t* cosigned) {
  // The saved view first: a state file that does not verify is an error, never a fresh start.
  std::optional<crypto::Checkpoint> saved;
  if (std::filesystem::exists(f.state)) {
    TRIAD_ASSIGN_OR_RETURN(std::string note, base::ReadFile(f.state, crypto::kMaxNoteSize));
    TRIAD_ASSIGN_OR_RETURN(saved, base::Annotate(verify::OpenCardCheckpoint(card, note),
                                                 absl::StrCat(f.state, ": the saved checkpoint")));
  }

  v1::CheckpointReply reply;
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    TRIAD_RETURN_IF_ERROR(
        CallStatus(stub.GetCheckpoint(&ctx, v1::CheckpointRequest(), &reply), f.client));
  }
  TRIAD_ASSIGN_OR_RETURN(
      crypto::Checkpoint latest,
      base::Annotate(verify::OpenCardCheckpoint(card, reply.signed_note()),
                     absl::StrCat("coordinator ", f.client.address, ": its checkpoint")));
  std::string root = base::Base64Encode(latest.root_hash);

  // A witness cosigns what it saved (the first view, or a verified extension), once per size.
  auto cosign = [&]() -> absl::Status {
    if (witness == nullptr || *cosigned == latest.size + 1) return absl::OkStatus();
    TRIAD_RETURN_IF_ERROR(Cosign(*witness, f, stub, reply.signed_note(), latest));
    *cosigned = latest.size + 1;
    return absl::OkStatus();
  };
  if (!saved) {
    TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.state, reply.signed_note(), 0644));
    Say(f,
        {{"event", "saved"}, {"tree_size", latest.size}, {"root", root}, {"first_view", true}},
        absl::StrCat("saved checkpoint: tree size ", latest.size, ", root ", root,
                     " (first view; ", f.state, " had none)"));
    return cosign();
  }
  std::vector<std::string> proof;
  if (saved->size > 0 && latest.size > saved->size) {
    v1::ConsistencyRequest req;
    req.set_from_size(saved->size);
    req.set_to_size(latest.size);
    v1::ProofReply p;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    TRIAD_RETURN_IF_ERROR(CallStatus(stub.GetConsistencyProof(&ctx, req, &p), f.client));
    proof.assign(p.hashes().begin(), p.hashes().end());
  }
  absl::Status extends = verify::CheckCheckpointExtends(*saved, latest, proof);
  if (!extends.ok()) {
    // A signed checkpoint that contradicts the saved one is evidence: keep it beside the state.
    std::string conflict = f.state + ".conflict";
    absl::Status kept = base::WriteFileAtomic(conflict, reply.signed_note(), 0644);
    return NotAnExtension(absl::StrCat(
        "coordinator ", f.client.address, " shows a log that is ", extends.message(), "; ", f.state,
        " is left as it was",
        kept.ok() ? absl::StrCat(", the conflicting checkpoint is in ", conflict) : ""));
  }
  if (latest.size == saved->size) {
    if (!quiet) {
      Say(f, {{"event", "unchanged"}, {"tree_size", latest.size}, {"root", root}},
          absl::StrCat("checkpoint: tree size ", latest.size, ", root ", root,
                       ", unchanged since the saved one"));
    }
    return cosign();
  }
  TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.state, reply.signed_note(), 0644));
  Say(f,
      {{"event", "saved"}, {"tree_size", latest.size}, {"root", root}, {"extends", saved->size}},
      absl::StrCat("saved checkpoint: tree size ", latest.size, ", root ", root,
                   ", extends the saved tree size ", saved->size,
                   " (consistency proof verified)"));
  return cosign();
}

// Once, or with --every until stopped (SIGINT or SIGTERM: the watch ends after the look under
// way, exit 0; the state file is replaced atomically, so it is never half-written). In the loop, a
// coordinator that cannot be reached is reported once per outage and asked again every turn;
// anything else (a view that does not extend the saved one, a checkpoint the coordinator's key did
// not sign, a state file that does not verify) ends the watch at once.
absl::Status Watch(const WatchFlags& f) {
  std::optional<absl::Duration> every;
  if (!f.every.empty()) {
    every.emplace();
    absl::ParseDuration(f.every, &*every);  // checked where parsed (DurationValue)
  }
  TRIAD_ASSIGN_OR_RETURN(
      coordinator::CoordinatorCard card,
      LoadCoordinatorCard(f.client, "audit watch checks the checkpoints' signatures with its key"));
  std::optional<Witness> witness;
  if (!f.witness.empty()) {
    TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard wcard,
                           contracts::PartyCard::FromFile(f.witness + ".card.json"));
    TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey wkey, LoadSigningKey(f.witness));
    witness = Witness{std::move(wcard), std::move(wkey)};
  }
  // The stop signals are taken by sigtimedwait between looks; blocked before gRPC starts a thread,
  // so that none of them takes one instead.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  if (every) pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(f.client));
  auto stub = v1::Audit::NewStub(channel);
  uint64_t cosigned = 0;  // the size cosigned last, plus one
  const Witness* w = witness ? &*witness : nullptr;
  if (!every) return WatchOnce(f, card, *stub, /*quiet=*/false, w, &cosigned);
  bool unreachable = false;
  while (true) {
    absl::Status st = WatchOnce(f, card, *stub, /*quiet=*/true, w, &cosigned);
    // A coordinator restarting ends the call with UNAVAILABLE or CANCELLED: ask again next time.
    if (!st.ok() && !absl::IsUnavailable(st) && !absl::IsDeadlineExceeded(st) &&
        !absl::IsCancelled(st)) {
      return st;
    }
    if (!st.ok() && !unreachable) {
      std::cerr << "triad: audit watch: the coordinator is unreachable, asking again every "
                << absl::FormatDuration(*every) << ": " << st.message() << std::endl;
    } else if (st.ok() && unreachable) {
      std::cerr << "triad: audit watch: the coordinator answers again" << std::endl;
    }
    unreachable = !st.ok();
    const timespec wait = absl::ToTimespec(*every);
    int sig = sigtimedwait(&stop, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) return absl::OkStatus();
  }
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  CLI::App* group =
      app.add_subcommand("audit", "What auditors check: a job's bundle of evidence and proofs");
  group->require_subcommand(1);
  auto e = std::make_shared<ExportFlags>();
  CLI::App* exp = group->add_subcommand("export",
                                        "Write a job's audit bundle: contract, job records, "
                                        "evidence, log entries with proofs, checkpoint");
  AddClientFlags(exp, e->client);
  exp->add_option("JOB", e->job, "The job's id")->required();
  exp->add_option("--out", e->out,
                  "The bundle file to create (never overwritten; default: standard output)");
  AddAsFlag(exp, e->as,
            "Your keys (a party of the job's contract, or an auditor it names): DIR/NAME");
  exp->add_flag("--json", e->json,
                "Say what was written as one JSON object (with --out); without --out, the bundle "
                "itself on one line");
  exp->add_option("--witnessed", e->witnessed,
                  "Prove the entries into the largest checkpoint this many witnesses cosigned "
                  "(refused until one holds the whole job)")
      ->check(CLI::Range(1, 16));
  exp->add_option("--state", e->state,
                  "A checkpoint saved earlier (audit watch --state): the bundle carries the proof "
                  "that ties it to that view");
  exp->callback([e, &ctx] {
    absl::Status st = Export(*e);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto v = std::make_shared<VerifyFlags>();
  CLI::App* ver = group->add_subcommand(
      "verify",
      "Check a bundle offline: checkpoint signature, inclusion proofs, contract, evidence, policy, "
      "binding, job record, key releases; one line per check, then the verdict");
  ver->add_option("BUNDLE", v->bundle, "The bundle file (from `triad audit export`)")->required();
  AddCardFlag(ver, v->card,
              "The coordinator's card, pinned out of band: its key signs the checkpoint and the "
              "job record");
  ver->add_option("--roots", v->roots,
                  "Vendor roots directory, with any trusted sim_*.pub.pem keys (default: the "
                  "pinned attestation/roots)");
  ver->add_option("--trust-sim-key", v->sim_keys,
                  "Also accept sim evidence signed by this Ed25519 public key (PEM; repeatable; "
                  "as the coordinator was told with serve --trust-sim-key)")
      ->allow_extra_args(false);
  ver->add_option("--adapter", v->adapter,
                  "The delivered encrypted adapter: its SHA-256 must be the job record's subject");
  ver->add_option("--state", v->state,
                  "A checkpoint saved earlier (audit watch --state): the bundle's must be the same "
                  "log (export it with the same --state)");
  ver->add_option(
      "--witness", v->witnesses,
      "A witness's card (repeatable): its cosignatures count (c2sp.org/tlog-cosignature)");
  ver->add_option("--min-witnesses", v->min_witnesses,
                  "How many of the --witness cards must have cosigned the bundle's checkpoint "
                  "(default 1 when any is given); bounds the admission times too")
      ->check(CLI::Range(0, 16));
  ver->add_flag("--json", v->json,
                "The report as one JSON object; each check has a stable id (and attempt)");
  ver->callback([v, &ctx] { ctx.exit_code = Verify(*v); });

  auto w = std::make_shared<WatchFlags>();
  CLI::App* watch = group->add_subcommand(
      "watch",
      "Fetch the coordinator's newest checkpoint and check that it extends the one saved in "
      "--state (consistency proof); only then save it");
  AddClientFlags(watch, w->client);
  watch
      ->add_option("--state", w->state,
                   "The checkpoint seen last (created on the first run; replaced atomically)")
      ->required();
  watch
      ->add_option("--every", w->every,
                   "Keep watching, once per this interval (30s, 5m), until SIGINT or SIGTERM "
                   "(exit 0); an unreachable coordinator is asked again, a view that does not "
                   "extend the saved one ends it with exit code 3")
      ->check(DurationValue());
  watch->add_option("--witness", w->witness,
                    "Your keys (DIR/NAME, an auditor or a party): cosign every checkpoint checked "
                    "to extend the saved one, and hand the cosignature to the coordinator");
  watch->add_flag("--json", w->json, "One JSON object per event (saved, unchanged, cosigned)");
  watch->callback([w, &ctx] {
    absl::Status st = Watch(*w);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
