// load_bench: the coordinator under many clients at once, against its own transport (bench/load.sh
// sets it up and records the results). Over one TLS channel per client thread, every call signed:
//
//   1. baseline: GetJob of a job that does not exist (signature checked, one lookup, NOT_FOUND):
//      the cheapest authenticated round trip, idle coordinator, --concurrency threads;
//   2. load: WATCHERS WatchJob streams held open and POLLERS workers polling (each poll may assign
//      a job, whose nonce then expires: the assignments churn as with real workers that never
//      attest), while --concurrency threads submit SUBMITS jobs and then query each one's status
//      (the watchers open once the first jobs exist); then, watchers and pollers still on, the
//      same baseline call again.
//
// Prints one JSON object: p50/p99 (ms) and count of each call, errors by call, and the baseline's.
//
//   load_bench --coordinator H:P --coordinator-card CARD --owner KEYS/do --provider KEYS/cp
//              --contract C [--submits 1000] [--watchers 200] [--pollers 50] [--concurrency 8]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/card.h"
#include "coordinator/client.h"
#include "coordinator/request.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"
#include "triad/v1/jobs.grpc.pb.h"
#include "triad/v1/workers.grpc.pb.h"

namespace {

namespace pb = ::triad::v1;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string coordinator, card, owner, provider, contract;
  int submits = 1000, watchers = 200, pollers = 50, concurrency = 8;
};

struct Series {
  std::mutex mu;
  std::vector<double> ms;
  std::atomic<int> errors{0};
  std::string first_error;
  void Add(double v) {
    std::lock_guard<std::mutex> l(mu);
    ms.push_back(v);
  }
  void Error(const grpc::Status& st) {
    if (errors++ == 0) {
      std::lock_guard<std::mutex> l(mu);
      first_error = absl::StrCat(st.error_code(), " ", st.error_message());
    }
  }
  nlohmann::json Json() {
    std::lock_guard<std::mutex> l(mu);
    std::sort(ms.begin(), ms.end());
    auto q = [this](double p) {
      return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
    };
    return {{"count", ms.size()}, {"p50_ms", q(0.50)}, {"p99_ms", q(0.99)},
            {"errors", errors.load()}, {"first_error", first_error}};
  }
};

double Since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class Load {
 public:
  explicit Load(Flags f) : f_(std::move(f)) {}
  int Main();

 private:
  std::shared_ptr<grpc::Channel> Channel() {
    // One channel (one TLS connection) per caller: a shared one would multiplex everything onto
    // one HTTP/2 connection and measure that instead.
    auto ch = triad::coordinator::OpenChannel({f_.coordinator, *card_, false});
    if (!ch.ok()) {
      std::cerr << ch.status() << std::endl;
      std::exit(2);
    }
    return *ch;
  }
  pb::SignedRequest Sign(const std::string& action, nlohmann::json body,
                         const triad::crypto::Ed25519PrivateKey& key) {
    pb::SignedRequest r;
    r.set_envelope_json(
        triad::coordinator::SignRequest(action, std::move(body), key, absl::Now(), audience_)
            .ToJson());
    return r;
  }
  // `n` GetJob calls of a job that does not exist, on `threads` threads.
  void Baseline(Series& s, int n, int threads);

  Flags f_;
  std::optional<triad::coordinator::CoordinatorCard> card_;
  std::string audience_;
  std::optional<triad::crypto::Ed25519PrivateKey> owner_, provider_;
};

void Load::Baseline(Series& s, int n, int threads) {
  std::atomic<int> left{n};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      auto stub = pb::Jobs::NewStub(Channel());
      while (left-- > 0) {
        pb::GetJobRequest req;
        req.set_id("j-0000000000000000");
        *req.mutable_request() = Sign("get-job", {{"job_id", "j-0000000000000000"}}, *owner_);
        pb::JobStatus reply;
        grpc::ClientContext ctx;
        auto t0 = Clock::now();
        grpc::Status st = stub->GetJob(&ctx, req, &reply);
        if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
          s.Add(Since(t0));
        } else {
          s.Error(st);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
}

int Load::Main() {
  auto card = triad::coordinator::CoordinatorCard::FromFile(f_.card);
  auto owner = triad::crypto::Ed25519PrivateKey::FromPemFile(f_.owner + ".signing.pem");
  auto provider = triad::crypto::Ed25519PrivateKey::FromPemFile(f_.provider + ".signing.pem");
  if (!card.ok() || !owner.ok() || !provider.ok()) {
    std::cerr << "load_bench: bad --coordinator-card, --owner or --provider" << std::endl;
    return 2;
  }
  card_ = *card;
  audience_ = card->signing_key.KeyId();
  owner_ = *std::move(owner);
  provider_ = *std::move(provider);

  Series idle_baseline;
  Baseline(idle_baseline, 2000, f_.concurrency);

  // The background: pollers and (once there are jobs) watchers, until `stop`.
  std::atomic<bool> stop{false};
  Series poll, watch_open;
  std::atomic<int> watch_events{0};
  std::vector<std::thread> background;
  for (int i = 0; i < f_.pollers; ++i) {
    background.emplace_back([&, i] {
      auto stub = pb::Workers::NewStub(Channel());
      while (!stop) {
        pb::PollReply reply;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        auto t0 = Clock::now();
        grpc::Status st = stub->Poll(
            &ctx,
            Sign("poll", {{"worker_id", absl::StrCat("load-w", i)}, {"tee", "sim"}}, *provider_),
            &reply);
        // A poll that found nothing waited out --poll-wait: only assignments are timed.
        if (!st.ok()) {
          poll.Error(st);
        } else if (reply.has_job()) {
          poll.Add(Since(t0));
        }
      }
    });
  }

  // Submissions, then a status query of each, on --concurrency threads.
  Series submit, status;
  std::mutex jobs_mu;
  std::vector<std::string> jobs;
  {
    std::atomic<int> left{f_.submits};
    std::vector<std::thread> ts;
    for (int t = 0; t < f_.concurrency; ++t) {
      ts.emplace_back([&] {
        auto stub = pb::Jobs::NewStub(Channel());
        while (left-- > 0) {
          pb::SubmitJobReply reply;
          grpc::ClientContext ctx;
          auto t0 = Clock::now();
          grpc::Status st = stub->SubmitJob(
              &ctx, Sign("submit-job", {{"contract_id", f_.contract}}, *owner_), &reply);
          if (!st.ok()) {
            submit.Error(st);
            continue;
          }
          submit.Add(Since(t0));
          std::lock_guard<std::mutex> l(jobs_mu);
          jobs.push_back(reply.status().id());
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  // The watchers, on the first jobs, each on its own connection.
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_ctx(f_.watchers);
  for (int i = 0; i < f_.watchers && !jobs.empty(); ++i) {
    watch_ctx[i] = std::make_unique<grpc::ClientContext>();
    background.emplace_back([&, i] {
      auto stub = pb::Jobs::NewStub(Channel());
      const std::string& job = jobs[i % jobs.size()];
      pb::GetJobRequest req;
      req.set_id(job);
      *req.mutable_request() = Sign("get-job", {{"job_id", job}}, *owner_);
      auto t0 = Clock::now();
      auto r = stub->WatchJob(watch_ctx[i].get(), req);
      pb::JobStatus s;
      bool first = true;
      while (r->Read(&s)) {
        if (first) watch_open.Add(Since(t0));
        first = false;
        ++watch_events;
      }
      grpc::Status st = r->Finish();
      if (!stop && !st.ok()) watch_open.Error(st);
    });
  }
  absl::SleepFor(absl::Seconds(2));  // the watches open
  {
    std::atomic<size_t> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < f_.concurrency; ++t) {
      ts.emplace_back([&] {
        auto stub = pb::Jobs::NewStub(Channel());
        for (size_t i; (i = next++) < jobs.size();) {
          pb::GetJobRequest req;
          req.set_id(jobs[i]);
          *req.mutable_request() = Sign("get-job", {{"job_id", jobs[i]}}, *owner_);
          pb::JobStatus reply;
          grpc::ClientContext ctx;
          auto t0 = Clock::now();
          grpc::Status st = stub->GetJob(&ctx, req, &reply);
          if (st.ok()) {
            status.Add(Since(t0));
          } else {
            status.Error(st);
          }
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  Series loaded_baseline;
  Baseline(loaded_baseline, 2000, f_.concurrency);
  stop = true;
  for (auto& c : watch_ctx) {
    if (c) c->TryCancel();
  }
  for (auto& t : background) t.join();

  nlohmann::json out = {{"baseline_idle", idle_baseline.Json()},
                        {"baseline_under_load", loaded_baseline.Json()},
                        {"submit", submit.Json()},
                        {"status", status.Json()},
                        {"poll_assignment", poll.Json()},
                        {"watch_first_status", watch_open.Json()},
                        {"watch_events", watch_events.load()},
                        {"submits", f_.submits},
                        {"watchers", f_.watchers},
                        {"pollers", f_.pollers},
                        {"concurrency", f_.concurrency}};
  std::cout << out.dump() << std::endl;
  int errors = submit.errors + status.errors + poll.errors + watch_open.errors +
               idle_baseline.errors + loaded_baseline.errors;
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--coordinator") f.coordinator = v;
    else if (k == "--coordinator-card") f.card = v;
    else if (k == "--owner") f.owner = v;
    else if (k == "--provider") f.provider = v;
    else if (k == "--contract") f.contract = v;
    else if (k == "--submits") f.submits = std::atoi(v.c_str());
    else if (k == "--watchers") f.watchers = std::atoi(v.c_str());
    else if (k == "--pollers") f.pollers = std::atoi(v.c_str());
    else if (k == "--concurrency") f.concurrency = std::atoi(v.c_str());
    else {
      std::cerr << "load_bench: unknown flag " << k << std::endl;
      return 2;
    }
  }
  if (f.coordinator.empty() || f.card.empty() || f.owner.empty() || f.provider.empty() ||
      f.contract.empty() || f.concurrency < 1) {
    std::cerr << "usage: load_bench --coordinator H:P --coordinator-card CARD --owner KEYS/NAME "
                 "--provider KEYS/NAME --contract C [--submits N --watchers N --pollers N "
                 "--concurrency N]"
              << std::endl;
    return 2;
  }
  return Load(std::move(f)).Main();
}
