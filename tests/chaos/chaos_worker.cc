// triad-chaos-worker: a sim worker for the chaos run (tests/chaos/README.md). It speaks the worker's
// side of the protocol over gRPC with the pinned card exactly as `triad worker run --tee sim` does
// (poll, attest with sim evidence, await the keys the owners' keyholders release, download and open
// both inputs in memory, report progress, deliver an adapter encrypted to the contract's adapter
// recipients with a job record signed by the attested ephemeral key), but "trains" nothing: the
// adapter is a small tar that names the job. It exists because the real worker needs LibTorch and a
// real training run per job, which a hundred jobs on two shared cores cannot afford; the coordinator,
// the keyholders and every check on their side are the real ones.
//
// Chaos: at each named point of a job (kPoints) it SIGKILLs itself with probability --crash-rate,
// drawn from a generator seeded by --crash-seed, after saying so on stderr ("chaos: worker W kills
// itself at POINT of job J"). A call that finds the coordinator unreachable is retried (the same
// attempt goes on, as the real worker does); any other refusal ends the attempt, and an input whose
// bytes do not hash to its id fails the job (ReportFailure), as the real worker's does.
//
// It never prints plaintext: only ids, sizes and reasons.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "attestation/binding.h"
#include "attestation/sim.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "base/tar.h"
#include "contracts/contract.h"
#include "coordinator/card.h"
#include "coordinator/client.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "triad/v1/workers.grpc.pb.h"
#include "verify/job_record.h"

namespace triad::chaos {
namespace {

namespace pb = ::triad::v1;

struct Flags {
  std::string coordinator, card, as, sim_key, worker_id;
  std::string measurement_hex;
  uint64_t crash_seed = 0;
  double crash_rate = 0;
};

// Where a worker may die: after the assignment (between nonce and attest), after admission (before
// the keys), after the keys (before the download), in the middle of a download, during "training"
// (inputs open in memory), in the middle of the output upload, and after delivery (before it learns
// the answer).
constexpr const char* kPoints[] = {"assigned", "admitted", "keys-received", "downloading",
                                   "training", "uploading", "delivered"};

class ChaosWorker {
 public:
  explicit ChaosWorker(Flags f) : f_(std::move(f)), rng_(f_.crash_seed) {}

  int Run();

 private:
  void MaybeDie(const char* point, const std::string& job) {
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng_) < f_.crash_rate) {
      std::cerr << "chaos: worker " << f_.worker_id << " kills itself at " << point << " of job "
                << job << std::endl;
      raise(SIGKILL);
    }
  }
  pb::SignedRequest Sign(absl::string_view action, nlohmann::json body,
                         const crypto::Ed25519PrivateKey& key) {
    pb::SignedRequest r;
    r.set_envelope_json(
        coordinator::SignRequest(action, std::move(body), key, base::SystemClock().Now(), audience_)
            .ToJson());
    return r;
  }
  // Runs `call` until it returns something other than UNAVAILABLE or DEADLINE_EXCEEDED (the
  // coordinator is down or restarting), for at most two minutes.
  template <typename Call>
  grpc::Status Retry(Call call) {
    absl::Time deadline = absl::Now() + absl::Minutes(2);
    for (;;) {
      grpc::Status st = call();
      if (st.error_code() != grpc::StatusCode::UNAVAILABLE &&
          st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return st;
      }
      if (absl::Now() > deadline) return st;
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  // One job, from its assignment to delivery. A non-OK status ends the attempt (logged).
  absl::Status Job(const pb::Assignment& a);

  Flags f_;
  std::mt19937_64 rng_;
  std::string audience_;
  std::string measurement_;
  std::unique_ptr<pb::Workers::Stub> stub_;
  std::optional<crypto::Ed25519PrivateKey> provider_, sim_key_;
};

absl::Status Grpc(const grpc::Status& st, absl::string_view what) {
  if (st.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                      absl::StrCat(what, ": ", st.error_message()));
}

absl::Status ChaosWorker::Job(const pb::Assignment& a) {
  const std::string& job = a.job_id();
  MaybeDie("assigned", job);
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         crypto::DsseEnvelope::FromJson(a.contract_envelope_json()));
  TRIAD_ASSIGN_OR_RETURN(contracts::Contract c, contracts::Contract::FromPayload(env.payload));
  crypto::Ed25519PrivateKey eph = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity eph_id = crypto::age::X25519Identity::Generate();
  const crypto::age::X25519Recipient eph_recipient = eph_id.recipient();

  // Attest: the request signed by the provider and the ephemeral key, sim evidence binding both.
  crypto::DsseEnvelope request = coordinator::SignRequest(
      "attest",
      {{"job_id", job},
       {"worker_id", f_.worker_id},
       {"nonce", base::HexEncode(a.nonce())},
       {"ed25519_public_key", base::Base64Encode(eph.public_key().raw())},
       {"age_recipient", eph_recipient.ToString()}},
      *provider_, base::SystemClock().Now(), audience_);
  crypto::DsseEnvelope pop{request.payload_type, request.payload, {}};
  crypto::DsseSign(pop, eph);
  TRIAD_ASSIGN_OR_RETURN(std::string report_data,
                         attestation::ExpectedReportData(
                             {a.nonce(), job, eph.public_key(), eph_recipient}));
  TRIAD_ASSIGN_OR_RETURN(std::string evidence,
                         attestation::MakeSimEvidence(
                             *sim_key_, {report_data, measurement_, "UpToDate", false}));
  pb::AttestRequest attest;
  attest.mutable_request()->set_envelope_json(request.ToJson());
  attest.mutable_evidence()->set_tee("sim");
  attest.mutable_evidence()->set_report(evidence);
  attest.set_ephemeral_signature_envelope_json(pop.ToJson());
  pb::AttestReply admitted;
  TRIAD_RETURN_IF_ERROR(Grpc(Retry([&] {
                               grpc::ClientContext ctx;
                               return stub_->Attest(&ctx, attest, &admitted);
                             }),
                             "attest"));
  if (!admitted.admitted()) {
    return absl::PermissionDeniedError(
        absl::StrCat("not admitted: ", absl::StrJoin(admitted.reasons(), "; ")));
  }
  MaybeDie("admitted", job);

  // The keys, as the owners' keyholders release them.
  pb::KeysReply keys;
  absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (!keys.ready()) {
    if (absl::Now() > deadline) return absl::DeadlineExceededError("no keys within 3 minutes");
    TRIAD_RETURN_IF_ERROR(Grpc(Retry([&] {
                                 grpc::ClientContext ctx;
                                 ctx.set_deadline(std::chrono::system_clock::now() +
                                                  std::chrono::seconds(30));
                                 return stub_->AwaitKeys(
                                     &ctx, Sign("await-keys", {{"job_id", job}}, eph), &keys);
                               }),
                               "await-keys"));
    if (keys.refused()) {
      return absl::PermissionDeniedError(
          absl::StrCat("keys refused: ", absl::StrJoin(keys.reasons(), "; ")));
    }
  }
  MaybeDie("keys-received", job);

  // Both inputs, each checked against its id and opened in memory with its released header.
  size_t opened = 0;
  for (const auto& input : a.inputs()) {
    std::string ct;
    TRIAD_RETURN_IF_ERROR(Grpc(Retry([&] {
                                 ct.clear();
                                 grpc::ClientContext ctx;
                                 auto r = stub_->DownloadInput(
                                     &ctx, Sign("download-input",
                                                {{"job_id", job}, {"artifact_id", input.id()}},
                                                eph));
                                 pb::Chunk chunk;
                                 while (r->Read(&chunk)) {
                                   ct += chunk.data();
                                   if (ct.size() > 4096) MaybeDie("downloading", job);
                                 }
                                 return r->Finish();
                               }),
                               absl::StrCat("download of ", input.id())));
    if (crypto::Sha256Id(ct) != input.id()) {
      std::string reason = absl::StrCat("input ", input.id(), " downloaded as ",
                                        crypto::Sha256Id(ct), ": not the artifact it names");
      pb::Ack ack;
      (void)Retry([&] {
        grpc::ClientContext ctx;
        return stub_->ReportFailure(
            &ctx, Sign("report-failure", {{"job_id", job}, {"reason", reason}}, eph), &ack);
      });
      return absl::DataLossError(reason);
    }
    const pb::RewrappedHeader* header = nullptr;
    for (const auto& h : keys.headers()) {
      if (h.artifact_id() == input.id()) header = &h;
    }
    if (header == nullptr) return absl::NotFoundError(absl::StrCat("no key for ", input.id()));
    TRIAD_ASSIGN_OR_RETURN(crypto::age::Header released,
                           crypto::age::Header::Parse(header->header()));
    TRIAD_ASSIGN_OR_RETURN(crypto::age::Header own, crypto::age::Header::Parse(ct));
    TRIAD_ASSIGN_OR_RETURN(
        crypto::SecretBytes plain,
        crypto::age::DecryptToSecret({&eph_id, 1}, released,
                                     absl::string_view(ct).substr(own.size()), {1}));
    opened += plain.size();
  }
  MaybeDie("training", job);
  {
    pb::Ack ack;
    TRIAD_RETURN_IF_ERROR(Grpc(Retry([&] {
                                 grpc::ClientContext ctx;
                                 return stub_->ReportProgress(
                                     &ctx,
                                     Sign("report-progress",
                                          {{"job_id", job},
                                           {"step", 1},
                                           {"total_steps", 1},
                                           {"tokens_per_second", 1.0}},
                                          eph),
                                     &ack);
                               }),
                               "report-progress"));
  }

  // The "adapter": a tar naming the job, sealed to the contract's adapter recipients.
  std::string tar;
  {
    TRIAD_ASSIGN_OR_RETURN(auto w, base::TarWriter::Create([&tar](absl::string_view d) {
                             tar.append(d.data(), d.size());
                             return absl::OkStatus();
                           }));
    TRIAD_RETURN_IF_ERROR(w->AddFile("adapter_config.json", "{\"r\": 8}"));
    TRIAD_RETURN_IF_ERROR(w->AddFile("adapter_model.safetensors",
                                     absl::StrCat("CHAOS-ADAPTER-CANARY-", job, "-", opened)));
    TRIAD_RETURN_IF_ERROR(w->AddFile("training_report.json", "{\"steps\": 1}"));
    TRIAD_RETURN_IF_ERROR(w->Finish());
  }
  auto recipients_of = [&c](const std::vector<contracts::Role>& roles) {
    std::vector<crypto::age::X25519Recipient> to;
    for (contracts::Role r : roles) {
      const crypto::age::X25519Recipient& rec = c.party(r).age_recipient;
      if (std::find(to.begin(), to.end(), rec) == to.end()) to.push_back(rec);
    }
    return to;
  };
  auto names = [](const std::vector<crypto::age::X25519Recipient>& to) {
    nlohmann::json n = nlohmann::json::array();
    for (const auto& r : to) n.push_back(r.ToString());
    return n;
  };
  std::vector<crypto::age::X25519Recipient> to = recipients_of(c.outputs.adapter_recipients);
  TRIAD_ASSIGN_OR_RETURN(std::string adapter_ct, crypto::age::Encrypt(to, tar));
  nlohmann::json predicate = {
      {"job_id", job},
      {"contract_id", c.id},
      {"contract_digest", contracts::ContractDigest(env)},
      {"inputs",
       {{{"role", "base_model"}, {"id", c.base_model.id}},
        {{"role", "dataset"}, {"id", c.dataset.id}}}},
      {"worker",
       {{"tee", "sim"},
        {"evidence_digest", admitted.evidence_digest()},
        {"claims", *base::ParseJsonStrict(admitted.claims_json())},
        {"simulated", true},
        {"ed25519_public_key", base::Base64Encode(eph.public_key().raw())},
        {"age_recipient", eph_recipient.ToString()}}},
      {"training", {{"steps", 1}, {"tokens", 1}, {"wall_seconds", 0.1}}},
      {"recipients", names(to)}};
  if (!c.outputs.metrics_recipients.empty()) {
    std::vector<crypto::age::X25519Recipient> mto = recipients_of(c.outputs.metrics_recipients);
    TRIAD_ASSIGN_OR_RETURN(std::string sealed, crypto::age::Encrypt(mto, "{\"final_loss\": 1}"));
    predicate["metrics"] = {{"recipients", names(mto)}, {"sealed", base::Base64Encode(sealed)}};
  }
  nlohmann::json st = {
      {"_type", verify::kStatementType},
      {"subject",
       {{{"name", job + ".adapter.tar.age"},
         {"digest", {{"sha256", base::HexEncode(crypto::Sha256(adapter_ct))}}}}}},
      {"predicateType", verify::kJobRecordPredicateType},
      {"predicate", predicate}};
  crypto::DsseEnvelope record{verify::kInTotoPayloadType, st.dump(), {}};
  crypto::DsseSign(record, eph);
  grpc::Status up = Retry([&] {
    grpc::ClientContext ctx;
    pb::Ack ack;
    auto w = stub_->UploadOutput(&ctx, &ack);
    pb::OutputUpload first;
    *first.mutable_statement() =
        Sign("deliver-output", {{"job_id", job}, {"record", record.ToJson()}}, eph);
    if (w->Write(first)) {
      // Two chunks, so that a death between them leaves a partial upload behind.
      size_t half = adapter_ct.size() / 2;
      pb::OutputUpload chunk;
      chunk.mutable_chunk()->set_data(adapter_ct.substr(0, half));
      if (w->Write(chunk)) {
        MaybeDie("uploading", job);
        chunk.mutable_chunk()->set_data(adapter_ct.substr(half));
        w->Write(chunk);
      }
    }
    w->WritesDone();
    return w->Finish();
  });
  // A retry after a lost answer finds the output already delivered: that is success.
  if (up.error_code() == grpc::StatusCode::ALREADY_EXISTS) up = grpc::Status::OK;
  TRIAD_RETURN_IF_ERROR(Grpc(up, "upload-output"));
  MaybeDie("delivered", job);
  std::cout << "delivered " << job << std::endl;
  return absl::OkStatus();
}

int ChaosWorker::Run() {
  auto card = coordinator::CoordinatorCard::FromFile(f_.card);
  if (!card.ok()) {
    std::cerr << card.status() << std::endl;
    return 1;
  }
  audience_ = card->signing_key.KeyId();
  auto channel = coordinator::OpenChannel({f_.coordinator, *card, false});
  if (!channel.ok()) {
    std::cerr << channel.status() << std::endl;
    return 1;
  }
  stub_ = pb::Workers::NewStub(*channel);
  auto provider = crypto::Ed25519PrivateKey::FromPemFile(f_.as + ".signing.pem");
  auto sim = crypto::Ed25519PrivateKey::FromPemFile(f_.sim_key);
  auto m = base::HexDecode(f_.measurement_hex);
  if (!provider.ok() || !sim.ok() || !m.ok()) {
    std::cerr << "chaos worker: bad --as, --sim-key or --measurement" << std::endl;
    return 1;
  }
  provider_ = *std::move(provider);
  sim_key_ = *std::move(sim);
  measurement_ = *m;
  std::cout << "chaos worker " << f_.worker_id << " started" << std::endl;
  for (;;) {
    pb::PollReply poll;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status st =
        stub_->Poll(&ctx, Sign("poll", {{"worker_id", f_.worker_id}, {"tee", "sim"}}, *provider_),
                    &poll);
    if (!st.ok()) {
      if (st.error_code() != grpc::StatusCode::UNAVAILABLE) {
        std::cerr << "poll: " << st.error_message() << std::endl;
      }
      absl::SleepFor(absl::Milliseconds(300));
      continue;
    }
    if (!poll.has_job()) continue;
    absl::Status done = Job(poll.assignment());
    if (!done.ok()) {
      std::cerr << "job " << poll.assignment().job_id() << ": " << done << std::endl;
    }
  }
}

}  // namespace
}  // namespace triad::chaos

int main(int argc, char** argv) {
  triad::chaos::Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--coordinator") f.coordinator = v;
    else if (k == "--coordinator-card") f.card = v;
    else if (k == "--as") f.as = v;
    else if (k == "--sim-key") f.sim_key = v;
    else if (k == "--worker-id") f.worker_id = v;
    else if (k == "--measurement") f.measurement_hex = v;
    else if (k == "--crash-seed") f.crash_seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--crash-rate") f.crash_rate = std::strtod(v.c_str(), nullptr);
    else {
      std::cerr << "triad-chaos-worker: unknown flag " << k << std::endl;
      return 2;
    }
  }
  if (f.coordinator.empty() || f.card.empty() || f.as.empty() || f.sim_key.empty() ||
      f.worker_id.empty() || f.measurement_hex.empty()) {
    std::cerr << "usage: triad-chaos-worker --coordinator H:P --coordinator-card CARD --as KEYS/NAME "
                 "--sim-key PEM --worker-id ID --measurement HEX [--crash-seed N --crash-rate P]"
              << std::endl;
    return 2;
  }
  return triad::chaos::ChaosWorker(std::move(f)).Run();
}
