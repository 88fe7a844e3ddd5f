// triad job submit | status | fetch | list | cancel: a party's jobs on a coordinator.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/hardening.h"
#include "base/json.h"
#include "base/status.h"
#include "base/tar.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "cli/keys.h"
#include "contracts/contract.h"
#include "contracts/policy.h"
#include "crypto/dsse.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/byte_stream.h"
#include "crypto/hash.h"
#include "crypto/secret.h"
#include "nlohmann/json.hpp"
#include "storage/records.h"
#include "triad/v1/audit.grpc.pb.h"
#include "triad/v1/jobs.grpc.pb.h"
#include "verify/audit_verify.h"

namespace triad::cli {
namespace {

using Fd = base::UniqueFd;

nlohmann::ordered_json StatusJson(const v1::JobStatus& s) {
  nlohmann::ordered_json j;
  j["id"] = s.id();
  j["contract_id"] = s.contract_id();
  j["state"] = s.state();
  j["reason"] = s.reason();
  j["simulated"] = s.simulated();
  j["attempt"] = s.attempt();
  j["worker_id"] = s.worker_id();
  j["step"] = s.step();
  j["total_steps"] = s.total_steps();
  j["tokens_per_second"] = s.tokens_per_second();
  if (s.has_loss()) j["loss"] = s.loss();
  j["output_id"] = s.output_id();
  j["created"] = s.created();
  j["updated"] = s.updated();
  return j;
}

std::string StatusLine(const v1::JobStatus& s) {
  std::string line = absl::StrCat(s.id(), "  ", s.state());
  if (s.state() == "failed") return absl::StrCat(line, ": ", s.reason());
  if (s.total_steps() > 0) {
    absl::StrAppendFormat(&line, "  step %d/%d (%d%%)", s.step(), s.total_steps(),
                          s.step() * 100 / s.total_steps());
  }
  if (s.state() == "running" && s.tokens_per_second() > 0)
    absl::StrAppendFormat(&line, "  %.0f tok/s", s.tokens_per_second());
  if (s.has_loss()) absl::StrAppendFormat(&line, "  loss %.4f", s.loss());
  if (!s.worker_id().empty() && s.state() != "queued" && s.state() != "done") {
    absl::StrAppend(&line, "  worker ", s.worker_id(), " (attempt ", s.attempt(), ")");
  }
  if (s.state() == "done") absl::StrAppend(&line, "  output ", s.output_id());
  if (!s.reason().empty()) absl::StrAppend(&line, "  (last attempt: ", s.reason(), ")");
  return line;
}

// ---- status ----

struct StatusFlags {
  ClientFlags client;
  std::string job;
  std::string as;  // a party of the job's contract or an auditor it names
  bool watch = false;
  bool json = false;
};

// Reads are signed: the coordinator answers only a party of the job's contract or an auditor it
// names (and shows the loss to metrics recipients only).
absl::StatusOr<v1::GetJobRequest> StatusRequest(const StatusFlags& f, const Remote& remote) {
  v1::GetJobRequest req;
  req.set_id(f.job);
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  req.mutable_request()->set_envelope_json(remote.Sign("get-job", {{"job_id", f.job}}, key));
  return req;
}

// How many seconds `job status --watch` keeps asking an unreachable coordinator.
constexpr int kWatchRetries = 60;

int Status(const StatusFlags& f) {
  absl::StatusOr<Remote> remote = ConnectRemote(f.client);
  if (!remote.ok()) return Fail(remote.status());
  auto stub = v1::Jobs::NewStub(remote->channel);
  bool tty = ::isatty(STDOUT_FILENO) == 1 && !f.json;
  bool told_simulated = false;
  bool on_line = false;  // a live status line is on the terminal, without its newline
  auto show = [&](const v1::JobStatus& s, bool live) {
    if (s.simulated() && !told_simulated && !f.json) {
      // Below the line shown so far (which stays), not over it.
      std::cout << (on_line ? "\n" : "") << contracts::kSimulatedNotice << "\n";
      on_line = false;
      told_simulated = true;
    }
    if (f.json) {
      std::cout << StatusJson(s).dump() << std::endl;
    } else if (live) {
      std::cout << "\r\033[K" << StatusLine(s) << std::flush;
      on_line = true;
    } else {
      std::cout << StatusLine(s) << std::endl;
    }
  };

  if (!f.watch) {
    absl::StatusOr<v1::GetJobRequest> req = StatusRequest(f, *remote);
    if (!req.ok()) return Fail(req.status());
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    v1::JobStatus s;
    absl::Status st = CallStatus(stub->GetJob(&ctx, *req, &s), f.client);
    if (!st.ok()) return Fail(st);
    show(s, false);
    return kExitOk;
  }

  // Watch: a stream of changes until the job ends. The coordinator may restart meanwhile; reconnect
  // for a while when it is unavailable.
  v1::JobStatus last;
  std::string last_line;
  int unavailable = 0;
  for (;;) {
    // A fresh signed request each time: the coordinator ends a watch when its request goes stale.
    absl::StatusOr<v1::GetJobRequest> req = StatusRequest(f, *remote);
    if (!req.ok()) return Fail(req.status());
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::JobStatus>> reader = stub->WatchJob(&ctx, *req);
    v1::JobStatus s;
    while (reader->Read(&s)) {
      if (unavailable > 0) {
        std::cerr << "triad: coordinator " << f.client.address << " is reachable again"
                  << std::endl;
      }
      unavailable = 0;
      std::string line = StatusLine(s);
      if (line != last_line || f.json) show(s, tty);
      last_line = line;
      last = s;
    }
    grpc::Status st = reader->Finish();
    if (tty && on_line) std::cout << "\n";
    on_line = false;
    last_line.clear();
    if (st.ok()) break;
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) continue;  // stale request: re-sign
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE || ++unavailable > kWatchRetries)
      return Fail(CallStatus(st, f.client));
    if (unavailable == 1) {
      // Said once per outage, on stderr (stdout stays the job's lines).
      std::cerr << "triad: coordinator " << f.client.address
                << " is unreachable; retrying every second for up to " << kWatchRetries
                << " s" << std::endl;
    }
    absl::SleepFor(absl::Seconds(1));
  }
  // The reason is on the status line already: once is enough.
  if (last.state() == "failed") return Fail(absl::StrCat("job ", last.id(), " failed"));
  if (last.state() != "done")
    return Fail(absl::StrCat("job ", last.id(), " watch ended while ", last.state()));
  return kExitOk;
}

// ---- submit ----

struct SubmitFlags {
  ClientFlags client;
  std::string contract;  // a contract file, or its id
  std::string as;
  bool watch = false;
  bool json = false;
};

// CONTRACT names a contract file (its id is read from it) or is the id itself.
absl::StatusOr<std::string> ContractId(const std::string& contract) {
  struct stat st;
  if (::stat(contract.c_str(), &st) != 0) {
    if (contracts::ValidateName(contract).ok()) return contract;
    return UsageError(absl::StrCat("CONTRACT: ", contract,
                                   " is neither a contract file nor a contract id"));
  }
  TRIAD_ASSIGN_OR_RETURN(std::string text,
                         base::ReadFile(contract, contracts::kMaxContractEnvelopeSize));
  absl::StatusOr<crypto::DsseEnvelope> env =
      crypto::DsseEnvelope::FromJson(text, contracts::kMaxContractEnvelopeSize);
  if (!env.ok() || env->payload_type != contracts::kContractPayloadType) {
    return absl::InvalidArgumentError(absl::StrCat(contract, " is not a contract file"));
  }
  TRIAD_ASSIGN_OR_RETURN(contracts::Contract c,
                         base::Annotate(contracts::Contract::FromPayload(env->payload), contract));
  return c.id;
}

int Submit(const SubmitFlags& f) {
  absl::StatusOr<std::string> contract_id = ContractId(f.contract);
  if (!contract_id.ok()) return Fail(contract_id.status());
  absl::StatusOr<crypto::Ed25519PrivateKey> key = LoadSigningKey(f.as);
  if (!key.ok()) return Fail(key.status());
  absl::StatusOr<Remote> remote = ConnectRemote(f.client);
  if (!remote.ok()) return Fail(remote.status());
  auto stub = v1::Jobs::NewStub(remote->channel);
  v1::SignedRequest req;
  req.set_envelope_json(remote->Sign("submit-job", {{"contract_id", *contract_id}}, *key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::SubmitJobReply reply;
  absl::Status st = CallStatus(stub->SubmitJob(&ctx, req, &reply), f.client);
  if (!st.ok()) return Fail(st);
  if (f.json) {
    std::cout << StatusJson(reply.status()).dump() << std::endl;
  } else {
    std::cout << reply.status().id() << std::endl;
  }
  if (!f.watch) return kExitOk;
  StatusFlags watch;
  watch.client = f.client;
  watch.job = reply.status().id();
  watch.as = f.as;
  watch.watch = true;
  watch.json = f.json;
  return Status(watch);
}

// ---- fetch ----

struct FetchFlags {
  ClientFlags client;
  std::string job;
  std::string as;
  std::string out;
  std::string keep_ciphertext;
  std::string roots;
  std::vector<std::string> sim_keys;
  bool json = false;
};

// Files and directories written so far, removed again when unpacking fails.
class Unpacked {
 public:
  explicit Unpacked(std::string root) : root_(std::move(root)) {}
  ~Unpacked() {
    if (done_) return;
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      if (::unlink(it->c_str()) != 0) ::rmdir(it->c_str());
    }
  }
  void Made(std::string path) { made_.push_back(std::move(path)); }
  void Done() { done_ = true; }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::vector<std::string> made_;
  bool done_ = false;
};

// `dir` must not exist or be an empty directory: checked before anything is downloaded, and again
// when it is made.
absl::Status CheckOutDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return absl::OkStatus();
    return base::ErrnoStatus(errno, absl::StrCat("opening ", dir));
  }
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    empty = empty && (n == "." || n == "..");
  }
  ::closedir(d);
  if (!empty)
    return absl::AlreadyExistsError(absl::StrCat(dir, " is not empty; fetch into a new directory"));
  return absl::OkStatus();
}

// Creates the output directory (0700), or takes an existing empty one.
absl::Status MakeOutDir(Unpacked& u) {
  const std::string& dir = u.root();
  if (::mkdir(dir.c_str(), 0700) == 0) {
    u.Made(dir);
    return absl::OkStatus();
  }
  if (errno != EEXIST) return base::ErrnoStatus(errno, absl::StrCat("creating ", dir));
  return CheckOutDir(dir);
}

// Unpacks the adapter tar into the output directory. Member paths were checked by TarReader
// (relative, no "..", regular files); directories on the way are made here, files never replace
// anything (O_EXCL, O_NOFOLLOW).
absl::StatusOr<std::vector<std::string>> UnpackTar(absl::string_view tar, Unpacked& u) {
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<base::TarReader> reader, base::TarReader::Open(tar));
  std::vector<std::string> names;
  crypto::SecretBytes buf = crypto::SecretBytes::Uninitialized(1 << 20);
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(std::optional<base::TarMember> m, reader->Next());
    if (!m) break;
    std::vector<std::string> parts = absl::StrSplit(m->path, '/');
    std::string path = u.root();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      path += "/" + parts[i];
      if (::mkdir(path.c_str(), 0700) == 0) {
        u.Made(path);
      } else {
        struct stat st;
        if (errno != EEXIST || ::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
          return absl::FailedPreconditionError(absl::StrCat("cannot create directory ", path));
        }
      }
    }
    path += "/" + parts.back();
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("creating ", path));
    u.Made(path);
    crypto::FdSink sink(fd.get(), path);
    for (;;) {
      TRIAD_ASSIGN_OR_RETURN(size_t n,
                             reader->Read(reinterpret_cast<char*>(buf.data()), buf.size()));
      if (n == 0) break;
      TRIAD_RETURN_IF_ERROR(
          sink.Write(absl::string_view(reinterpret_cast<const char*>(buf.data()), n)));
    }
    if (::fsync(fd.get()) != 0) return base::ErrnoStatus(errno, absl::StrCat("fsync ", path));
    names.push_back(m->path);
  }
  if (names.empty()) return absl::InvalidArgumentError("the adapter archive holds no file");
  return names;
}

absl::Status Fetch(const FetchFlags& f) {
  // This process holds the party's identity and the adapter's plaintext: no core dumps.
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  TRIAD_ASSIGN_OR_RETURN(PartyKeys keys, LoadPartyKeys(f.as));
  TRIAD_RETURN_IF_ERROR(CheckOutDir(f.out));
  TRIAD_ASSIGN_OR_RETURN(attestation::TrustAnchors anchors, LoadAnchors(f.roots, f.sim_keys));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));

  // Verify before decrypting (docs/custody.md): age does not authenticate its sender and our
  // recipient is public, so the coordinator could hand us any file. The job's audit bundle must
  // verify offline with our own roots: the record is signed by the ephemeral key the admitted
  // evidence binds, that evidence verifies under the contract's policy, the keys went to that
  // worker only, the log holds all of it. Then the file must hash to the record's subject.
  std::string bundle;
  {
    auto audit = v1::Audit::NewStub(remote.channel);
    v1::ExportRequest req;
    req.set_job_id(f.job);
    req.mutable_request()->set_envelope_json(
        remote.Sign("export-bundle", {{"job_id", f.job}}, keys.signing_key));
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    v1::ExportReply reply;
    TRIAD_RETURN_IF_ERROR(CallStatus(audit->ExportBundle(&ctx, req, &reply), f.client));
    bundle = reply.bundle_json();
  }
  // A job that is not done has nothing to verify or fetch; say so plainly (what the coordinator
  // claims here decides nothing: a "done" job is verified below).
  if (absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(bundle);
      j.ok() && j->is_object() && j->contains("job") && (*j)["job"].is_object() &&
      (*j)["job"].contains("state") && (*j)["job"]["state"].is_string() &&
      (*j)["job"]["state"] != "done" &&
      storage::ParseJobState((*j)["job"]["state"].get<std::string>()).ok()) {
    const std::string state = (*j)["job"]["state"].get<std::string>();
    std::string reason;
    if ((*j)["job"].contains("failure_reason") && (*j)["job"]["failure_reason"].is_string()) {
      reason = (*j)["job"]["failure_reason"].get<std::string>();
    }
    if (state == "failed") {
      // A failed job has nothing to fetch, ever: say why it failed (the coordinator's words).
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", f.job, " failed", reason.empty() ? "" : absl::StrCat(": ", reason),
          "; there is nothing to fetch"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("job ", f.job, " is ", state, "; nothing to fetch yet"));
  }
  verify::AuditReport report = verify::VerifyBundle(bundle, remote.card, anchors);
  if (!report.ok()) {
    std::vector<std::string> failed;
    for (const verify::AuditCheck& c : report.checks) {
      if (!c.ok) failed.push_back(absl::StrCat(c.name, ": ", c.detail));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", f.job,
        " does not verify, nothing was decrypted or written: ", absl::StrJoin(failed, "; ")));
  }
  if (report.simulated) std::cerr << contracts::kSimulatedNotice << "\n";
  TRIAD_ASSIGN_OR_RETURN(verify::VerifiedJob verified, verify::VerifiedJobOf(bundle));

  // The ciphertext: to --keep-ciphertext, or an unlinked temporary file.
  Fd fd;
  if (!f.keep_ciphertext.empty()) {
    fd = Fd(::open(f.keep_ciphertext.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("creating ", f.keep_ciphertext));
  } else {
    const char* env = std::getenv("TMPDIR");
    std::string tmp = env != nullptr && *env != '\0' ? env : "/tmp";
    fd = Fd(::open(tmp.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd.get() < 0)
      return base::ErrnoStatus(errno, absl::StrCat("creating a temporary file in ", tmp));
  }
  bool kept = false;
  auto cleanup = [&] {
    if (!f.keep_ciphertext.empty() && !kept) ::unlink(f.keep_ciphertext.c_str());
  };
  absl::Status st = [&]() -> absl::Status {
    auto stub = v1::Jobs::NewStub(remote.channel);
    v1::FetchOutputRequest req;
    req.mutable_request()->set_envelope_json(
        remote.Sign("fetch-output", {{"job_id", f.job}}, keys.signing_key));
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::Chunk>> reader = stub->FetchOutput(&ctx, req);
    crypto::FdSink sink(fd.get(), "the downloaded adapter");
    crypto::Hasher hasher(crypto::HashAlg::kSha256);
    v1::Chunk chunk;
    absl::Status local;
    while (local.ok() && reader->Read(&chunk)) {
      hasher.Update(chunk.data());
      local = sink.Write(chunk.data());
      if (!local.ok()) ctx.TryCancel();
    }
    grpc::Status done = reader->Finish();
    TRIAD_RETURN_IF_ERROR(local);
    TRIAD_RETURN_IF_ERROR(CallStatus(done, f.client));
    std::string got = absl::StrCat("sha256:", base::HexEncode(hasher.Finish()));
    if (got != verified.adapter_id) {
      return absl::DataLossError(absl::StrCat("the downloaded adapter is ", got,
                                              ", not the one the worker's signed record names (",
                                              verified.adapter_id, "); nothing was decrypted"));
    }
    if (::fsync(fd.get()) != 0) return base::ErrnoStatus(errno, "fsync of the downloaded adapter");
    if (::lseek(fd.get(), 0, SEEK_SET) != 0)
      return base::ErrnoStatus(errno, "seeking the downloaded adapter");

    // Decrypt in memory (all cores), then unpack.
    crypto::FdSource source(fd.get(), "the downloaded adapter");
    std::optional<absl::string_view> ciphertext = source.View();
    if (!ciphertext) return absl::InternalError("cannot map the downloaded adapter");
    TRIAD_ASSIGN_OR_RETURN(
        crypto::SecretBytes plaintext,
        base::Annotate(crypto::age::DecryptToSecret(keys.identities, *ciphertext),
                       absl::StrCat("decrypting the adapter with ", f.as, ".identity")));
    Unpacked u(f.out);
    TRIAD_RETURN_IF_ERROR(MakeOutDir(u));
    TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> names,
                           base::Annotate(UnpackTar(plaintext.view(), u), "unpacking the adapter"));
    // The metrics, sealed in the record to the metrics recipients: ours too when we are one.
    if (!verified.sealed_metrics.empty()) {
      absl::StatusOr<crypto::SecretBytes> metrics =
          crypto::age::DecryptToSecret(keys.identities, verified.sealed_metrics);
      if (metrics.ok()) {
        std::string path = f.out + "/metrics.json";
        Fd mf(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (mf.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("creating ", path));
        u.Made(path);
        crypto::FdSink sink2(mf.get(), path);
        TRIAD_RETURN_IF_ERROR(sink2.Write(metrics->view()));
        names.push_back("metrics.json");
      } else if (crypto::age::GetErrorKind(metrics.status()) != crypto::age::ErrorKind::kNoMatch) {
        return base::Annotate(metrics.status(), "decrypting the job's sealed metrics");
      }
    }
    u.Done();
    if (f.json) {
      nlohmann::ordered_json j;
      j["job_id"] = f.job;
      j["checks"] = report.checks.size();
      j["simulated"] = report.simulated;
      if (report.simulated) j["notice"] = contracts::kSimulatedNotice;
      j["out"] = f.out;
      j["files"] = names;
      if (!f.keep_ciphertext.empty()) j["ciphertext"] = f.keep_ciphertext;
      std::cout << j.dump() << "\n";
      return absl::OkStatus();
    }
    std::cout << "verified job " << f.job << " (" << report.checks.size() << " checks) and wrote "
              << f.out << ": " << absl::StrJoin(names, ", ") << "\n";
    if (!f.keep_ciphertext.empty())
      std::cout << "kept the encrypted adapter in " << f.keep_ciphertext << "\n";
    return absl::OkStatus();
  }();
  kept = st.ok();
  cleanup();
  return st;
}

// ---- list, cancel ----

struct ListFlags {
  ClientFlags client;
  std::string as;
  std::string contract;  // only this contract's jobs
  bool json = false;
};

absl::Status List(const ListFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Jobs::NewStub(remote.channel);
  nlohmann::json body = nlohmann::json::object();
  if (!f.contract.empty()) {
    TRIAD_ASSIGN_OR_RETURN(std::string id, ContractId(f.contract));
    body["contract_id"] = id;
  }
  v1::SignedRequest req;
  req.set_envelope_json(remote.Sign("list-jobs", body, key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::JobList list;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->ListJobs(&ctx, req, &list), f.client));
  for (const v1::JobStatus& j : list.jobs()) {
    if (f.json) {
      std::cout << StatusJson(j).dump() << "\n";
    } else {
      std::cout << j.contract_id() << "  " << StatusLine(j) << "\n";
    }
  }
  if (!f.json && list.jobs().empty()) {
    std::cerr << "triad: no job you may see at this coordinator"
              << (f.contract.empty() ? "" : absl::StrCat(" under contract ", f.contract)) << "\n";
  }
  return absl::OkStatus();
}

struct CancelFlags {
  ClientFlags client;
  std::string job;
  std::string as;
  std::string reason;
  bool json = false;
};

absl::Status Cancel(const CancelFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Jobs::NewStub(remote.channel);
  v1::SignedRequest req;
  req.set_envelope_json(
      remote.Sign("cancel-job", {{"job_id", f.job}, {"reason", f.reason}}, key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::JobStatus status;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->CancelJob(&ctx, req, &status), f.client));
  if (f.json) {
    std::cout << StatusJson(status).dump() << "\n";
  } else {
    std::cout << StatusLine(status) << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddJobCommands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("job", "Submit jobs, watch them, fetch their outputs");
  group->require_subcommand(1);

  auto s = std::make_shared<SubmitFlags>();
  CLI::App* submit = group->add_subcommand(
      "submit", "Submit a job under an active contract (prints its id; --watch follows it)");
  AddAliasedOption(submit, "CONTRACT", "--contract", s->contract,
                   "The contract: its file, or its id", /*required=*/true);
  AddClientFlags(submit, s->client);
  AddAsFlag(submit, s->as, "Your keys (the model owner or data owner): DIR/NAME");
  submit->add_flag("--watch", s->watch, "Then follow the job until it is done or failed");
  submit->add_flag("--json", s->json, "Print the job's status as JSON (one object per line)");
  submit->callback([s, &ctx] { ctx.exit_code = Submit(*s); });

  auto t = std::make_shared<StatusFlags>();
  CLI::App* status = group->add_subcommand(
      "status",
      "Show a job's state and progress; --watch follows it to the end (exit 1 if it fails)");
  AddClientFlags(status, t->client);
  status->add_option("JOB", t->job, "The job's id")->required();
  AddAsFlag(status, t->as,
            "Your keys (a party of the job's contract, or an auditor it names): DIR/NAME; "
            "metrics recipients also see the loss, when the contract allows");
  status->add_flag("--watch", t->watch, "Follow the job until it is done or failed");
  status->add_flag("--json", t->json, "One JSON object per status");
  status->callback([t, &ctx] { ctx.exit_code = Status(*t); });

  auto f = std::make_shared<FetchFlags>();
  CLI::App* fetch =
      group->add_subcommand("fetch", "Download a job's encrypted adapter, decrypt and unpack it");
  AddClientFlags(fetch, f->client);
  fetch->add_option("JOB", f->job, "The job's id")->required();
  AddAsFlag(fetch, f->as, "Your keys (an adapter recipient): DIR/NAME");
  fetch->add_option("--out", f->out, "The directory to create for the adapter (PEFT layout)")
      ->required();
  fetch->add_option("--keep-ciphertext", f->keep_ciphertext,
                    "Also keep the encrypted adapter in this new file (it opens with `age -d -i`)");
  fetch->add_option("--roots", f->roots,
                    "The vendor roots the evidence is verified against (default: the pinned ones)");
  fetch->add_option("--trust-sim-key", f->sim_keys,
                    "A simulation key to trust for a sim job (development only; repeatable)");
  fetch->add_flag("--json", f->json, "Say what was verified and written as one JSON object");
  fetch->callback([f, &ctx] {
    absl::Status st = Fetch(*f);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto l = std::make_shared<ListFlags>();
  CLI::App* list = group->add_subcommand(
      "list", "List the jobs you may see: of the contracts you are a party of or audit");
  AddClientFlags(list, l->client);
  AddAsFlag(list, l->as, "Your keys: DIR/NAME");
  list->add_option("--contract", l->contract, "Only this contract's jobs: its file, or its id");
  list->add_flag("--json", l->json, "One JSON object per job");
  list->callback([l, &ctx] { ctx.exit_code = Finish(List(*l)); });

  auto c = std::make_shared<CancelFlags>();
  CLI::App* cancel = group->add_subcommand(
      "cancel", "Stop a job that has not ended (the model owner or data owner of its contract)");
  cancel->add_option("JOB", c->job, "The job's id")->required();
  AddClientFlags(cancel, c->client);
  AddAsFlag(cancel, c->as, "Your keys (the model owner or data owner): DIR/NAME");
  cancel->add_option("--reason", c->reason, "Why (logged with the job)")->required();
  cancel->add_flag("--json", c->json, "Print the job's status as JSON");
  cancel->callback([c, &ctx] { ctx.exit_code = Finish(Cancel(*c)); });
}

}  // namespace triad::cli
