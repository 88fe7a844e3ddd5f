// chaos_run: jobs through crashes (tests/chaos/README.md). One coordinator (`triad coordinator
// serve`), the model owner's and the data owner's keyholders (`triad keyholder serve`), N sim workers
// of one compute provider (triad-chaos-worker), J jobs over five contracts; a schedule drawn from
// --seed SIGKILLs the coordinator, the keyholders and the workers and restarts each after a drawn
// delay, and each worker kills itself at named points of a job with --crash-rate. At the end it
// checks what Triad promises and prints one table; the exit status is 0 only when every check holds.
//
//   chaos_run [--seed N] [--jobs 12] [--workers 3] [--kills 6] [--chaos-seconds 40]
//             [--crash-rate 0.03] [--timeout 170] [--dir DIR] [--report FILE]
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "coordinator/card.h"
#include "coordinator/client.h"
#include "coordinator/state_dir.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "storage/store.h"
#include "tests/testing/process.h"
#include "tests/testing/testing.h"
#include "triad/v1/audit.grpc.pb.h"

namespace triad::chaos {
namespace {

namespace fs = std::filesystem;
namespace pb = ::triad::v1;

struct Flags {
  uint64_t seed = 0;
  bool seed_given = false;
  int jobs = 12;
  int workers = 3;
  int kills = 6;
  double chaos_seconds = 40;
  double crash_rate = 0.03;
  double timeout = 170;
  std::string dir;
  std::string report;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "chaos_run: " << what << std::endl;
  std::exit(2);
}

std::string Sh(const std::string& cmd) {
  std::string out;
  int rc = testing::RunCommand(cmd, &out);
  if (rc != 0) Die(absl::StrCat("`", cmd, "` exited ", rc, ":\n", out));
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void Write(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
  if (!f) Die("cannot write " + path);
}

std::string Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Die("no free port");
  }
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// A supervised process: started again after each death, each incarnation logging to its own files.
struct Proc {
  std::string name;
  std::function<std::vector<std::string>(int incarnation)> argv;
  std::unique_ptr<testing::ChildProcess> p;
  int incarnation = 0;
  bool down = false;     // killed (or dead) and waiting for restart_at
  bool stopped = false;  // stopped for good by the run: not restarted
  absl::Time restart_at;
  int scheduled_kills = 0, self_kills = 0, other_exits = 0;
  std::string logs;
};

class Run {
 public:
  explicit Run(Flags f) : f_(std::move(f)), rng_(f_.seed) {}
  int Main();

 private:
  std::string W(const std::string& rel) const { return f_.dir + "/" + rel; }
  std::string Triad() const { return testing::TriadBinary(); }
  std::string Client() const {
    return absl::StrCat(" --coordinator 127.0.0.1:", port_, " --coordinator-card ", W("card.json"));
  }
  void Start(Proc& p) {
    ++p.incarnation;
    std::string base = absl::StrCat(p.logs, "/", p.name, ".", p.incarnation);
    p.p = std::make_unique<testing::ChildProcess>(p.argv(p.incarnation), base + ".out",
                                                  base + ".err");
    p.down = false;
  }
  void SetUp();
  std::string Push(const std::string& kind, const std::string& as, const std::string& name,
                   const std::string& in);
  void Contract(const std::string& id, const std::string& dataset, const std::string& policy,
                int max_jobs);
  std::string Submit(const std::string& contract, const std::string& as, std::string* error);
  void Supervise(double t);
  void FetchCheckpoint();
  bool Settled(const std::set<std::string>& exempt, int* terminal = nullptr);
  // Runs `cmd` until it succeeds or its output contains `also_ok`, for up to a minute.
  bool Retry(const std::string& cmd, const std::string& also_ok, std::string* out);
  int Check();

  Flags f_;
  std::mt19937_64 rng_;
  int port_ = 0;
  std::string measurement_hex_;
  std::vector<std::unique_ptr<Proc>> procs_;
  std::map<std::string, std::string> canaries_;  // canary -> what it marks
  std::string tampered_blob_;
  std::map<std::string, std::string> job_contract_;  // job -> contract
  struct Planned {
    double at;  // seconds into the chaos
    std::string contract, as;
  };
  std::vector<Planned> planned_;  // submissions during the chaos, in time order
  size_t submitted_ = 0;          // how many of planned_ went in
  int unknown_jobs_ = 0;          // jobs in the store that no answer named (a lost answer, retried)
  std::vector<std::string> notes_;                   // lines for the report
  std::map<uint64_t, std::string> seen_;             // checkpoint size -> root, as clients saw them
  int checkpoint_forks_ = 0;
  std::unique_ptr<pb::Audit::Stub> audit_;
  std::string one_refusal_;
  std::string model_id_;
  absl::Time start_;
};

std::string Run::Push(const std::string& kind, const std::string& as, const std::string& name,
                      const std::string& in) {
  std::string id = Trim(Sh(absl::StrCat(Triad(), " ", kind, " push", Client(), " --as ",
                                        W("keys/" + as), " --name ", name, " --in ", in)));
  if (!absl::StartsWith(id, "sha256:")) Die(kind + " push printed " + id);
  return id;
}

void Run::Contract(const std::string& id, const std::string& dataset, const std::string& policy,
                   int max_jobs) {
  std::string file = W("contracts/" + id + ".json");
  Sh(absl::StrCat(Triad(), " contract draft --model-owner ", W("keys/mo.card.json"),
                  " --data-owner ", W("keys/do.card.json"), " --provider ", W("keys/cp.card.json"),
                  " --model ", model_id_, " --model-name chaos-model --dataset ", dataset,
                  " --dataset-name ", id, "-data --policy ", policy, " --valid-for 1d --id ", id,
                  " --max-jobs ", max_jobs, " --out ", file));
  for (const char* p : {"mo", "do", "cp"}) {
    Sh(absl::StrCat(Triad(), " contract sign ", file, " --as ", W(std::string("keys/") + p)));
  }
  Sh(absl::StrCat(Triad(), " contract submit ", file, Client()));
}

std::string Run::Submit(const std::string& contract, const std::string& as, std::string* error) {
  std::string out;
  int rc = testing::RunCommand(absl::StrCat(Triad(), " job submit", Client(), " --contract ",
                                            contract, " --as ", W("keys/" + as), " --json"),
                               &out);
  if (rc != 0) {
    if (error != nullptr) *error = Trim(out);
    return "";
  }
  auto j = base::ParseJsonStrict(out.substr(0, out.rfind('}') + 1));
  if (!j.ok() || !j->contains("id")) Die("job submit printed " + out);
  std::string id = (*j)["id"].get<std::string>();
  job_contract_[id] = contract;
  return id;
}

bool Run::Retry(const std::string& cmd, const std::string& also_ok, std::string* out) {
  absl::Time deadline = absl::Now() + absl::Minutes(1);
  for (;;) {
    out->clear();
    int rc = testing::RunCommand(cmd, out);
    if (rc == 0 || (!also_ok.empty() && absl::StrContains(*out, also_ok))) return true;
    if (absl::Now() > deadline) return false;
    // Whatever died meanwhile comes back: the coordinator this command waits for, too.
    Supervise(absl::ToDoubleSeconds(absl::Now() - start_));
    absl::SleepFor(absl::Milliseconds(500));
  }
}

void Run::SetUp() {
  for (const char* d : {"keys", "logs", "owners/model", "contracts"}) fs::create_directories(W(d));
  for (const char* p : {"mo:model-owner", "do:data-owner", "cp:compute-provider"}) {
    std::vector<std::string> nr = absl::StrSplit(p, ':');
    Sh(absl::StrCat(Triad(), " keygen --name ", nr[0], " --role ", nr[1], " --dir ", W("keys")));
  }
  Sh(absl::StrCat(Triad(), " coordinator init --dir ", W("state"), " --name chaos"));
  Sh(absl::StrCat(Triad(), " coordinator card --dir ", W("state"), " --out ", W("card.json")));
  for (const char* p : {"mo", "do", "cp"}) {
    Sh(absl::StrCat(Triad(), " coordinator parties add ", W(std::string("keys/") + p),
                    ".card.json --dir ", W("state")));
  }
  crypto::Ed25519PrivateKey sim = crypto::Ed25519PrivateKey::Generate();
  Write(W("sim.pem"), std::string(sim.ToPem().view()));
  ::chmod(W("sim.pem").c_str(), 0600);
  Write(W("sim.pub.pem"), sim.public_key().ToPem());
  measurement_hex_ = base::HexEncode(crypto::Sha384("triad-chaos-worker"));
  Write(W("policy.json"), absl::StrCat("{\"tee\": [\"sim\"], \"sim\": {\"measurements\": [\"",
                                       measurement_hex_, "\"]}}"));
  Write(W("policy-other.json"),
        absl::StrCat("{\"tee\": [\"sim\"], \"sim\": {\"measurements\": [\"",
                     base::HexEncode(crypto::Sha384("another-worker-build")), "\"]}}"));

  port_ = FreePort();
  auto add = [this](std::string name, std::function<std::vector<std::string>(int)> argv) {
    auto p = std::make_unique<Proc>();
    p->name = std::move(name);
    p->argv = std::move(argv);
    p->logs = W("logs");
    procs_.push_back(std::move(p));
  };
  std::string addr = absl::StrCat("127.0.0.1:", port_);
  add("coordinator", [this, addr](int) {
    return std::vector<std::string>{Triad(), "--log-level", "info", "coordinator", "serve",
                                    "--dir", W("state"), "--listen", addr, "--trust-sim-key",
                                    W("sim.pub.pem"), "--poll-wait", "1s", "--lease", "8s",
                                    "--nonce-ttl", "10s", "--release-timeout", "20s"};
  });
  for (const char* who : {"mo", "do"}) {
    add(absl::StrCat("keyholder-", who), [this, addr, who](int) {
      return std::vector<std::string>{
          Triad(),         "--log-level",        "info",          "keyholder",
          "serve",         "--as",               W(std::string("keys/") + who),
          "--coordinator", addr,                 "--coordinator-card",
          W("card.json"),  "--trust-sim-key",    W("sim.pub.pem")};
    });
  }
  std::string worker_bin = testing::BinaryDir() + "/tests/chaos/triad-chaos-worker";
  for (int i = 0; i < f_.workers; ++i) {
    add(absl::StrCat("worker-", i), [this, addr, worker_bin, i](int inc) {
      return std::vector<std::string>{
          worker_bin, "--coordinator", addr, "--coordinator-card", W("card.json"), "--as",
          W("keys/cp"), "--sim-key", W("sim.pem"), "--worker-id", absl::StrCat("chaos-w", i),
          "--measurement", measurement_hex_, "--crash-seed",
          absl::StrCat(f_.seed * 1000 + i * 97 + inc), "--crash-rate",
          absl::StrCat(f_.crash_rate)};
    });
  }
  Start(*procs_[0]);
  if (procs_[0]->p->ListeningPort() != port_) {
    Die("the coordinator did not start:\n" + procs_[0]->p->Err());
  }
  auto card = coordinator::CoordinatorCard::FromFile(W("card.json"));
  if (!card.ok()) Die(card.status().ToString());
  auto channel = coordinator::OpenChannel({addr, *card, false});
  if (!channel.ok()) Die(channel.status().ToString());
  audit_ = pb::Audit::NewStub(*channel);

  // The artifacts, each with a canary that must never leave the owners and the workers.
  std::string model_canary = absl::StrCat("CHAOS-MODEL-CANARY-", f_.seed);
  canaries_[model_canary] = "model";
  testing::WriteTinyModel(W("owners/model"), model_canary);  // a model push accepts
  model_id_ = Push("model", "mo", "chaos-model", W("owners/model"));
  std::map<std::string, std::string> datasets;
  for (const char* name : {"main", "revoke", "tamper", "one"}) {
    std::string canary = absl::StrCat("CHAOS-DATA-CANARY-", name, "-", f_.seed);
    canaries_[canary] = absl::StrCat("dataset ", name);
    std::string lines;
    for (int i = 0; i < 50; ++i) {
      lines += absl::StrCat("{\"text\": \"record ", i, " of ", canary, "\"}\n");
    }
    Write(W(absl::StrCat("owners/", name, ".jsonl")), lines);
    datasets[name] = Push("dataset", "do", std::string(name),
                          W(absl::StrCat("owners/", name, ".jsonl")));
  }
  canaries_["CHAOS-ADAPTER-CANARY-"] = "an adapter";
  Contract("c-main", datasets["main"], W("policy.json"), 100000);
  Contract("c-revoke", datasets["revoke"], W("policy.json"), 100000);
  Contract("c-tamper", datasets["tamper"], W("policy.json"), 10);
  Contract("c-other-build", datasets["main"], W("policy-other.json"), 10);
  Contract("c-one", datasets["one"], W("policy.json"), 1);

  // The tampered dataset: one byte of its stored ciphertext flipped, past the age header, as a
  // disk or an operator might.
  std::string hex = datasets["tamper"].substr(7);
  tampered_blob_ = W("state/blobs/objects/" + hex.substr(0, 2) + "/" + hex.substr(2));
  std::string blob = Read(tampered_blob_);
  if (blob.size() < 100) Die("no blob at " + tampered_blob_);
  blob[blob.size() - 20] ^= 0x01;
  ::chmod(tampered_blob_.c_str(), 0600);
  Write(tampered_blob_, blob);
  ::chmod(tampered_blob_.c_str(), 0400);

  for (size_t i = 1; i <= 2; ++i) {
    Start(*procs_[i]);
    if (procs_[i]->p->WaitForLine("keyholder of ").empty()) {
      Die(procs_[i]->name + " did not start:\n" + procs_[i]->p->Err());
    }
  }

  // The jobs: now, one each for the tampered dataset, the other build and the one-job contract
  // (whose second submission must be refused); the others during the chaos, at times drawn from the
  // seed over its first 60 %: a quarter on the contract revoked midway, the rest on c-main.
  for (const char* c : {"c-tamper", "c-other-build", "c-one"}) {
    std::string err;
    if (Submit(c, "do", &err).empty()) Die(absl::StrCat("job submit ", c, ": ", err));
  }
  std::string err;
  if (!Submit("c-one", "mo", &err).empty()) Die("c-one took a second job");
  one_refusal_ = err;
  int revoke_jobs = std::max(2, f_.jobs / 4);
  int main_jobs = std::max(1, f_.jobs - 3 - revoke_jobs);
  std::uniform_real_distribution<double> when(0, 0.6 * f_.chaos_seconds);
  for (int i = 0; i < revoke_jobs + main_jobs; ++i) {
    planned_.push_back({when(rng_), i < revoke_jobs ? "c-revoke" : "c-main", i % 2 ? "mo" : "do"});
  }
  std::sort(planned_.begin(), planned_.end(),
            [](const Planned& a, const Planned& b) { return a.at < b.at; });
  for (size_t i = 3; i < procs_.size(); ++i) Start(*procs_[i]);
}

void Run::Supervise(double t) {
  std::uniform_real_distribution<double> delay(0.2, 2.0);
  for (auto& pp : procs_) {
    Proc& p = *pp;
    if (p.stopped) continue;
    if (!p.down && p.p != nullptr && !p.p->running()) {
      std::string err = p.p->Err();
      if (absl::StrContains(err, "kills itself")) {
        ++p.self_kills;
      } else {
        ++p.other_exits;
        if (p.other_exits <= 2) {
          std::string tail = err.size() > 300 ? err.substr(err.size() - 300) : err;
          notes_.push_back(absl::StrCat(p.name, " (incarnation ", p.incarnation, ") exited at ",
                                        static_cast<int>(t), " s by itself: ", Trim(tail)));
        }
      }
      p.down = true;
      p.restart_at = absl::Now() + absl::Seconds(delay(rng_));
    }
    if (p.down && absl::Now() >= p.restart_at) Start(p);
  }
}

void Run::FetchCheckpoint() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  pb::CheckpointRequest req;
  pb::CheckpointReply reply;
  if (!audit_->GetCheckpoint(&ctx, req, &reply).ok()) return;
  // origin, size, base64 root (c2sp.org/tlog-checkpoint).
  std::vector<std::string> lines = absl::StrSplit(reply.signed_note(), '\n');
  uint64_t size = 0;
  if (lines.size() < 3 || !absl::SimpleAtoi(lines[1], &size)) return;
  auto it = seen_.find(size);
  if (it == seen_.end()) {
    seen_[size] = lines[2];
  } else if (it->second != lines[2]) {
    ++checkpoint_forks_;  // two roots for one size: a split view
  }
}

// True when every job but those of `exempt` contracts is done or failed; `terminal` counts those.
bool Run::Settled(const std::set<std::string>& exempt, int* terminal) {
  auto state = coordinator::LoadStateDir(W("state"));
  if (!state.ok()) return false;
  const base::Clock& clock = base::SystemClock();
  auto store = coordinator::OpenStateDatabase(*state, clock);
  if (!store.ok()) return false;
  bool all = true;
  for (const auto& [id, contract] : job_contract_) {
    if (exempt.count(contract)) continue;
    auto job = (*store)->GetJob(id);
    if (!job.ok()) return false;
    if (job->state != storage::JobState::kDone && job->state != storage::JobState::kFailed) {
      all = false;
    } else if (terminal != nullptr) {
      ++*terminal;
    }
  }
  return all;
}

int Run::Main() {
  if (!f_.seed_given) {
    f_.seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) % 1000000007;
  }
  std::cout << "chaos: seed " << f_.seed << " (replay: --seed " << f_.seed << ")" << std::endl;
  if (f_.dir.empty()) Die("--dir is required");
  if (fs::exists(f_.dir)) fs::remove_all(f_.dir);
  fs::create_directories(f_.dir);
  f_.dir = fs::canonical(f_.dir).string();
  // The kill schedule, drawn before anything runs: the same seed gives the same schedule.
  struct Kill {
    double at, down;
    size_t target;
  };
  std::vector<Kill> schedule;
  {
    std::mt19937_64 g(f_.seed ^ 0x9e3779b97f4a7c15ULL);
    std::uniform_real_distribution<double> at(1.0, f_.chaos_seconds), down(0.2, 4.0), u(0, 1);
    std::uniform_int_distribution<int> worker(0, f_.workers - 1);
    for (int i = 0; i < f_.kills; ++i) {
      double r = u(g);
      size_t target = r < 0.35 ? 0 : r < 0.6 ? (r < 0.475 ? 1 : 2) : 3 + worker(g);
      schedule.push_back({at(g), down(g), target});
    }
    std::sort(schedule.begin(), schedule.end(),
              [](const Kill& a, const Kill& b) { return a.at < b.at; });
  }
  SetUp();
  std::cout << "chaos: " << job_contract_.size() + planned_.size() << " jobs, " << f_.workers
            << " workers, "
            << schedule.size() << " scheduled kills over " << f_.chaos_seconds
            << " s, worker crash rate " << f_.crash_rate << "; state in " << f_.dir << std::endl;
  start_ = absl::Now();
  size_t next = 0;
  bool revoked = false, other_revoked = false;
  absl::Time last_settle = absl::InfinitePast(), last_count = absl::InfinitePast();
  double settled_at = -1;
  for (;;) {
    double t = absl::ToDoubleSeconds(absl::Now() - start_);
    while (next < schedule.size() && schedule[next].at <= t) {
      Proc& p = *procs_[schedule[next].target];
      if (!p.down && p.p != nullptr && p.p->running()) {
        p.p->Signal(SIGKILL);
        ++p.scheduled_kills;
        p.down = true;
        p.restart_at = absl::Now() + absl::Seconds(schedule[next].down);
        std::cout << "chaos: " << static_cast<int>(t) << " s: SIGKILL " << p.name << ", back in "
                  << schedule[next].down << " s" << std::endl;
      }
      ++next;
    }
    Supervise(t);
    FetchCheckpoint();
    std::string out;
    while (submitted_ < planned_.size() && planned_[submitted_].at <= t) {
      // Retried while the coordinator is away; a retry after a lost answer makes a second job,
      // which the checks find in the store and hold to the same promises.
      const Planned& p = planned_[submitted_++];
      if (!Retry(absl::StrCat(Triad(), " job submit", Client(), " --contract ", p.contract,
                              " --as ", W("keys/" + p.as), " --json"),
                 "", &out)) {
        notes_.push_back(absl::StrCat("a submission to ", p.contract, " failed: ", Trim(out)));
        continue;
      }
      auto j = base::ParseJsonStrict(out.substr(0, out.rfind('}') + 1));
      if (j.ok() && j->contains("id")) job_contract_[(*j)["id"].get<std::string>()] = p.contract;
    }
    int terminal = 0;
    if (!revoked && absl::Now() - last_count > absl::Seconds(1)) {
      last_count = absl::Now();
      Settled({}, &terminal);
    }
    if (!revoked && (terminal * 5 >= static_cast<int>(3 + planned_.size()) * 2 ||
                     t >= f_.chaos_seconds / 2)) {
      // Midway (two fifths of the jobs ended, or half the chaos is over): the data owner revokes c-revoke
      // (a retry after a lost answer finds it revoked).
      revoked = Retry(absl::StrCat(Triad(), " contract revoke c-revoke", Client(), " --as ",
                                   W("keys/do"), " --reason chaos-midway-revocation"),
                      "was already revoked", &out);
      if (!revoked) notes_.push_back("c-revoke could not be revoked: " + Trim(out));
      revoked = true;
      std::cout << "chaos: " << static_cast<int>(t) << " s: c-revoke revoked" << std::endl;
    }
    bool schedule_done = next >= schedule.size() && submitted_ >= planned_.size();
    if (schedule_done && absl::Now() - last_settle > absl::Seconds(2)) {
      last_settle = absl::Now();
      // The job whose worker build is not in the policy is refused by every worker and stays
      // queued; once the others settle its contract is revoked, which fails it.
      if (!other_revoked && Settled({"c-other-build"})) {
        other_revoked = Retry(absl::StrCat(Triad(), " contract revoke c-other-build", Client(),
                                           " --as ", W("keys/do"),
                                           " --reason no-admitted-worker-build"),
                              "was already revoked", &out);
        if (!other_revoked) notes_.push_back("c-other-build not revoked: " + Trim(out));
        other_revoked = true;
      }
      if (other_revoked && Settled({})) {
        settled_at = t;
        break;
      }
    }
    if (t > f_.timeout) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  // Everything back up for the checks that need the coordinator.
  for (auto& p : procs_) {
    if (p->down || !p->p->running()) Start(*p);
  }
  if (procs_[0]->p->ListeningPort() != port_) Die("the coordinator did not come back");
  std::cout << "chaos: "
            << (settled_at >= 0 ? absl::StrCat("settled after ", static_cast<int>(settled_at), " s")
                                : absl::StrCat("NOT settled within ", f_.timeout, " s"))
            << std::endl;
  notes_.push_back(settled_at >= 0
                       ? absl::StrCat("all jobs settled after ", static_cast<int>(settled_at), " s")
                       : absl::StrCat("jobs NOT settled within ", f_.timeout, " s"));
  FetchCheckpoint();
  return Check();
}

int Run::Check() {
  struct Row {
    std::string check, result;
    bool ok;
  };
  std::vector<Row> rows;
  auto row = [&rows](std::string check, std::string result, bool ok) {
    rows.push_back({std::move(check), std::move(result), ok});
  };
  // The workers and keyholders stop first: nothing moves while the coordinator answers the exports.
  for (size_t i = 1; i < procs_.size(); ++i) {
    procs_[i]->stopped = true;
    procs_[i]->p->Signal(SIGTERM);
  }

  auto state = coordinator::LoadStateDir(W("state"));
  if (!state.ok()) Die(state.status().ToString());
  const base::Clock& clock = base::SystemClock();
  std::map<std::string, storage::Job> jobs;
  {
    auto store = coordinator::OpenStateDatabase(*state, clock);
    if (!store.ok()) Die(store.status().ToString());
    auto all = (*store)->ListJobs(std::nullopt, 1000000);
    if (!all.ok()) Die(all.status().ToString());
    for (const storage::Job& j : *all) {
      if (job_contract_.emplace(j.id, j.contract_id).second) ++unknown_jobs_;
    }
    for (const auto& [id, c] : job_contract_) {
      auto job = (*store)->GetJob(id);
      if (!job.ok()) Die(job.status().ToString());
      jobs[id] = *job;
    }
  }

  // Every done job's audit bundle, exported by the data owner and verified offline.
  int bundles = 0, bundles_ok = 0;
  std::string bundle_failure;
  for (const auto& [id, job] : jobs) {
    if (job.state != storage::JobState::kDone) continue;
    ++bundles;
    std::string file = W("bundles/" + id + ".json"), out;
    fs::create_directories(W("bundles"));
    bool ok = Retry(absl::StrCat(Triad(), " audit export ", id, Client(), " --as ", W("keys/do"),
                                 " --out ", file),
                    "", &out) &&
              testing::RunCommand(absl::StrCat(Triad(), " audit verify ", file,
                                               " --coordinator-card ", W("card.json"),
                                               " --trust-sim-key ", W("sim.pub.pem")),
                                  &out) == 0;
    if (ok) {
      ++bundles_ok;
    } else if (bundle_failure.empty()) {
      bundle_failure = absl::StrCat(id, ": ", Trim(out));
    }
  }
  FetchCheckpoint();
  procs_[0]->stopped = true;
  procs_[0]->p->Signal(SIGTERM);

  auto store_or = coordinator::OpenStateDatabase(*state, clock);
  if (!store_or.ok()) Die(store_or.status().ToString());
  storage::Store& store = **store_or;

  // Jobs, per contract, against what each contract should come to.
  std::map<std::string, std::map<std::string, int>> outcome;  // contract -> outcome -> count
  std::map<std::string, bool> contract_ok;
  std::map<std::string, std::string> example_reason;
  for (const auto& [id, job] : jobs) {
    const std::string& c = job_contract_[id];
    std::string what;
    bool ok;
    if (job.state == storage::JobState::kDone) {
      what = "done";
      ok = c == "c-main" || c == "c-one" || c == "c-revoke";
    } else if (job.state == storage::JobState::kFailed) {
      const std::string& r = job.failure_reason;
      if (absl::StrContains(r, "was revoked by")) {
        what = "failed: revoked";
        ok = c == "c-revoke" || c == "c-other-build";
      } else {
        what = "failed: other";
        ok = c == "c-tamper" && !r.empty();
      }
      if (!example_reason.count(c)) example_reason[c] = r;
    } else {
      what = absl::StrCat("STUCK ", storage::JobStateName(job.state));
      ok = false;
    }
    ++outcome[c][what];
    if (!contract_ok.count(c)) contract_ok[c] = true;
    contract_ok[c] = contract_ok[c] && ok;
  }
  for (const auto& [c, counts] : outcome) {
    std::string r;
    for (const auto& [what, n] : counts) absl::StrAppend(&r, r.empty() ? "" : ", ", n, " ", what);
    if (example_reason.count(c)) absl::StrAppend(&r, " (\"", example_reason[c].substr(0, 140), "\")");
    row("jobs of " + c, r, contract_ok[c]);
  }
  // The job whose worker build is not in the policy was never admitted, and said why.
  {
    int admitted = 0, refused_measurement = 0;
    for (const auto& [id, c] : job_contract_) {
      if (c != "c-other-build") continue;
      auto adm = store.ListAdmissions(id);
      if (!adm.ok()) Die(adm.status().ToString());
      for (const auto& a : *adm) {
        if (a.admitted) ++admitted;
        if (!a.admitted && absl::StrContains(a.reasons_json, "not in")) ++refused_measurement;
      }
    }
    row("c-other-build admissions", absl::StrCat(admitted, " admitted, ", refused_measurement,
                                                 " refused (measurement not in the policy)"),
        admitted == 0 && refused_measurement > 0);
  }
  {
    int64_t attempts = 0;
    for (const auto& [id, job] : jobs) attempts += job.attempt;
    row("attempts", absl::StrCat(attempts, " attempts for ", jobs.size(), " jobs (", unknown_jobs_,
                                 " made by a submission retried after a lost answer)"),
        true);
  }
  row("c-one second submission", one_refusal_.substr(0, 120),
      absl::StrContains(one_refusal_, "allows 1 job(s)"));

  // The log: each job done at most once and failed at most once, never both; the output recorded
  // is the one the done entry names.
  auto size = store.log().Size();
  if (!size.ok()) Die(size.status().ToString());
  auto entries = store.log().Entries(0, *size);
  if (!entries.ok()) Die(entries.status().ToString());
  std::map<std::string, int> done_entries, failed_entries, output_entries;
  std::map<std::string, std::string> done_adapter;
  for (const std::string& e : *entries) {
    auto j = base::ParseJsonStrict(e);
    if (!j.ok() || !j->contains("kind") || !j->contains("job_id")) continue;
    std::string kind = (*j)["kind"].get<std::string>(), job = (*j)["job_id"].get<std::string>();
    if (kind == "job.done") {
      ++done_entries[job];
      done_adapter[job] = j->value("adapter_id", "");
    }
    if (kind == "job.failed") ++failed_entries[job];
    if (kind == "job.output") ++output_entries[job];
  }
  {
    int bad = 0;
    std::string first;
    for (const auto& [id, job] : jobs) {
      bool done = job.state == storage::JobState::kDone;
      bool ok = done ? done_entries[id] == 1 && failed_entries[id] == 0 &&
                           output_entries[id] == 1 && done_adapter[id] == job.output_artifact
                     : done_entries[id] == 0 && failed_entries[id] == 1 && output_entries[id] == 0;
      if (!ok && ++bad == 1) {
        first = absl::StrCat(id, ": ", done_entries[id], " done, ", failed_entries[id],
                             " failed, ", output_entries[id], " output entries");
      }
    }
    row("each job ends once in the log",
        bad == 0 ? absl::StrCat(jobs.size(), " jobs, one job.done or job.failed each")
                 : absl::StrCat(bad, " jobs wrong, first ", first),
        bad == 0);
  }

  // Key releases: the keyholders' journals against the coordinator's admissions.
  {
    std::set<std::pair<std::string, std::string>> released;  // (artifact, recipient)
    int releases = 0, refusals = 0, twice = 0, unattested = 0;
    std::string first;
    for (const char* who : {"mo", "do"}) {
      std::string out;
      if (testing::RunCommand(absl::StrCat(Triad(), " keyholder log --json --state ",
                                           W(std::string("keys/") + who + ".keyholder")),
                              &out) != 0) {
        Die("keyholder log: " + out);
      }
      for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
        auto d = base::ParseJsonStrict(line);
        if (!d.ok() || !d->is_object()) continue;  // the fork warning on stderr
        if (d->value("decision", "") != "release") {
          ++refusals;
          continue;
        }
        ++releases;
        std::string job = d->value("job_id", ""), artifact = d->value("artifact_id", "");
        std::string recipient = d->value("recipient", "");
        int64_t attempt = d->value("attempt", int64_t{0});
        if (!released.insert({artifact, recipient}).second) {
          ++twice;
          if (first.empty()) first = absl::StrCat(artifact, " twice to ", recipient);
        }
        auto keys = store.GetJobKeys(job, attempt);
        bool admitted = false;
        auto adm = store.ListAdmissions(job);
        if (adm.ok()) {
          for (const auto& a : *adm) admitted |= a.attempt == attempt && a.admitted;
        }
        if (!keys.ok() || keys->age_recipient != recipient || !admitted) {
          ++unattested;
          if (first.empty()) {
            first = absl::StrCat(job, " attempt ", attempt, " released to ", recipient,
                                 ", not an admitted attempt's key");
          }
        }
      }
    }
    // Every release the coordinator recorded is one a keyholder decided.
    int unjournaled = 0;
    for (const auto& [id, job] : jobs) {
      auto rel = store.ListKeyReleases(id);
      if (!rel.ok()) Die(rel.status().ToString());
      for (const auto& r : *rel) {
        if (!released.count({r.artifact_id, r.recipient})) ++unjournaled;
      }
    }
    row("key releases",
        absl::StrCat(releases, " releases, ", refusals, " refusals; ", twice,
                     " to a key twice, ", unattested, " to no admitted attempt, ", unjournaled,
                     " recorded without a keyholder's decision",
                     first.empty() ? "" : "; first: " + first),
        twice == 0 && unattested == 0 && unjournaled == 0 && releases > 0);
  }
  row("audit bundles of done jobs",
      absl::StrCat(bundles_ok, " of ", bundles, " verify offline (audit export + audit verify)",
                   bundle_failure.empty() ? "" : "; first failure: " + bundle_failure.substr(0, 300)),
      bundles_ok == bundles);

  // Every checkpoint the run saw is the prefix of the final tree.
  {
    auto final_cp = store.log().LatestCheckpoint();
    if (!final_cp.ok()) Die(final_cp.status().ToString());
    int consistent = 0, bad = 0;
    std::string first;
    for (const auto& [sz, root64] : seen_) {
      auto root = base::Base64Decode(root64);
      absl::Status st;
      if (!root.ok()) {
        st = root.status();
      } else if (sz > final_cp->size) {
        st = absl::DataLossError(absl::StrCat("size ", sz, " beyond the final ", final_cp->size));
      } else {
        auto proof = store.log().ConsistencyProof(sz, final_cp->size);
        st = proof.ok() ? crypto::merkle::VerifyConsistency(sz, final_cp->size, *proof, *root,
                                                             final_cp->root_hash)
                        : proof.status();
      }
      if (st.ok()) {
        ++consistent;
      } else if (++bad == 1) {
        first = absl::StrCat("size ", sz, ": ", st.message());
      }
    }
    row("checkpoints seen during the run",
        absl::StrCat(consistent, " of ", seen_.size(), " consistent with the final (size ",
                     final_cp->size, "), ", checkpoint_forks_, " sizes seen with two roots",
                     first.empty() ? "" : "; first: " + first),
        bad == 0 && checkpoint_forks_ == 0 && !seen_.empty());
  }
  {
    auto verifier = crypto::NoteVerifier::Create(state->card.log_origin, state->card.signing_key);
    absl::Status st = verifier.ok() ? store.log().VerifyIntegrity(*verifier) : verifier.status();
    row("Log::VerifyIntegrity", st.ok() ? absl::StrCat("holds over ", *size, " entries")
                                        : std::string(st.message()),
        st.ok());
  }

  // No canary in any file of the coordinator's state, the keyholders' journals or any log.
  {
    std::vector<std::string> roots = {W("state"), W("keys/mo.keyholder"), W("keys/do.keyholder"),
                                      W("logs"), W("bundles")};
    int files = 0, hits = 0;
    std::string first;
    for (const std::string& root : roots) {
      if (!fs::exists(root)) continue;
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        ++files;
        std::string data = Read(e.path().string());
        for (const auto& [canary, what] : canaries_) {
          if (data.find(canary) != std::string::npos && ++hits == 1) {
            first = absl::StrCat(what, " in ", e.path().string());
          }
        }
      }
    }
    // The scanner finds what it looks for: every model and dataset canary is in the owners' files.
    std::set<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(W("owners"))) {
      if (!e.is_regular_file()) continue;
      std::string data = Read(e.path().string());
      for (const auto& [canary, what] : canaries_) {
        if (data.find(canary) != std::string::npos) found.insert(canary);
      }
    }
    size_t control = found.size();
    if (control != canaries_.size() - 1) hits = -1000;  // the adapter's is in no owner's file
    row("canaries outside owners and workers",
        absl::StrCat(hits, " found in ", files, " files (state, journals, logs, bundles); ",
                     control, " of ", canaries_.size() - 1, " found in the owners' files (control)",
                     first.empty() ? "" : "; first: " + first),
        hits == 0 && files > 0);
  }

  // The blob store: each blob whole (its bytes hash to its name), known to the database, nothing
  // left in tmp/. The dataset this run tampered with is the one expected exception.
  {
    std::set<std::string> known;
    auto artifacts = store.ListArtifacts();
    if (!artifacts.ok()) Die(artifacts.status().ToString());
    for (const auto& a : *artifacts) known.insert(a.id);
    int blobs = 0, partial = 0, orphans = 0, tmp = 0;
    std::string first;
    for (const auto& e : fs::recursive_directory_iterator(W("state/blobs/objects"))) {
      if (!e.is_regular_file()) continue;
      ++blobs;
      std::string path = e.path().string();
      std::string id = "sha256:" + e.path().parent_path().filename().string() +
                       e.path().filename().string();
      if (path != tampered_blob_ && crypto::Sha256Id(Read(path)) != id && ++partial == 1) {
        first = "partial " + path;
      }
      if (!known.count(id) && ++orphans == 1 && first.empty()) first = "orphan " + id;
    }
    if (fs::exists(W("state/blobs/tmp"))) {
      for (const auto& e : fs::directory_iterator(W("state/blobs/tmp"))) {
        ++tmp;
        if (first.empty()) first = "left in tmp: " + e.path().string();
      }
    }
    row("blob store",
        absl::StrCat(blobs, " blobs: ", partial, " partial, ", orphans, " orphaned, ", tmp,
                     " in tmp/ (the tampered dataset excepted)",
                     first.empty() ? "" : "; first: " + first),
        partial == 0 && orphans == 0 && tmp == 0);
  }

  // The table.
  std::ostringstream t;
  t << "chaos run: seed " << f_.seed << ", " << jobs.size() << " jobs, " << f_.workers
    << " workers, " << f_.kills << " scheduled kills over " << f_.chaos_seconds
    << " s, worker crash rate " << f_.crash_rate << "\n\n";
  t << "| process | scheduled SIGKILLs | self-kills (worker crash points) | other exits | "
       "incarnations |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& p : procs_) {
    t << "| " << p->name << " | " << p->scheduled_kills << " | " << p->self_kills << " | "
      << p->other_exits << " | " << p->incarnation << " |\n";
  }
  std::map<std::string, int> points;
  for (const auto& e : fs::directory_iterator(W("logs"))) {
    std::string err = Read(e.path().string());
    for (const char* pt : {"assigned", "admitted", "keys-received", "downloading", "training",
                           "uploading", "delivered"}) {
      if (absl::StrContains(err, absl::StrCat("kills itself at ", pt, " "))) ++points[pt];
    }
  }
  t << "\nworker self-kills by point:";
  for (const auto& [pt, n] : points) t << " " << pt << " " << n << ";";
  t << "\n\n| check | result | |\n| --- | --- | --- |\n";
  bool all = true;
  for (const Row& r : rows) {
    t << "| " << r.check << " | " << r.result << " | " << (r.ok ? "ok" : "FAIL") << " |\n";
    all = all && r.ok;
  }
  t << "\n";
  for (const std::string& n : notes_) t << "note: " << n << "\n";
  t << "\nresult: " << (all ? "PASS" : "FAIL") << "\n";
  std::cout << "\n" << t.str();
  if (!f_.report.empty()) Write(f_.report, t.str());
  return all ? 0 : 1;
}

}  // namespace
}  // namespace triad::chaos

int main(int argc, char** argv) {
  triad::chaos::Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--seed") {
      f.seed = std::strtoull(v.c_str(), nullptr, 10);
      f.seed_given = true;
    } else if (k == "--jobs") {
      f.jobs = std::atoi(v.c_str());
    } else if (k == "--workers") {
      f.workers = std::atoi(v.c_str());
    } else if (k == "--kills") {
      f.kills = std::atoi(v.c_str());
    } else if (k == "--chaos-seconds") {
      f.chaos_seconds = std::strtod(v.c_str(), nullptr);
    } else if (k == "--crash-rate") {
      f.crash_rate = std::strtod(v.c_str(), nullptr);
    } else if (k == "--timeout") {
      f.timeout = std::strtod(v.c_str(), nullptr);
    } else if (k == "--dir") {
      f.dir = v;
    } else if (k == "--report") {
      f.report = v;
    } else {
      std::cerr << "chaos_run: unknown flag " << k << std::endl;
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::cerr << "chaos_run: every flag takes a value" << std::endl;
    return 2;
  }
  if (f.jobs < 4 || f.workers < 1 || f.workers > 64) {
    std::cerr << "chaos_run: --jobs at least 4, --workers 1 to 64" << std::endl;
    return 2;
  }
  return triad::chaos::Run(std::move(f)).Main();
}
