// What scoping reads and witnessing the log cost, through the coordinator's real gRPC services on
// an in-process channel (the harness of tests/coordinator, a done job on sim evidence):
//   - a public read (Audit.GetCheckpoint, no signature) as the transport's own cost;
//   - a scoped read (Jobs.GetJob with a signed request from a party of the contract), whose extra
//     cost is the request's verification (signature, audience, freshness, replay, party, scope);
//   - a refused read (the same request signed by a stranger), what a flood of strangers costs;
//   - a scoped bundle export (Audit.ExportBundle);
//   - the client's signing of one request;
//   - one witness round by an owner's keyholder: fetch the checkpoint, fetch a consistency proof,
//     verify both, journal the new checkpoint (fsync) and cosign it, hand the cosignature back
//     (Audit.AddCosignature); the log grows by one entry before each round.
// Client and server share the process: CPU time per call is both sides together.
//
//   read_witness_bench [--gtest_filter=…]   TRIAD_BENCH_READS (default 2000), TRIAD_BENCH_ROUNDS
//                                           (default 300) set the counts
// bench/read_witness.sh runs it and writes bench/results/read_witness-<UTC time>.md.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "tests/verify/verify_fixture.h"

namespace triad::coordinator {
namespace {

using SteadyClock = std::chrono::steady_clock;

double ProcessCpuUs() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int EnvCount(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

struct Figures {
  std::string name;
  int n = 0;
  double p50_us = 0, p99_us = 0, mean_us = 0, cpu_us = 0;
};

// Times `call(i)` for i in [0, n), after an untimed `prepare(i)`: per-call wall latency and the
// process's CPU time per call.
Figures Time(const std::string& name, int n, const std::function<void(int)>& call,
             const std::function<void(int)>& prepare = nullptr) {
  std::vector<double> us;
  us.reserve(n);
  double cpu = 0;
  for (int i = 0; i < n; ++i) {
    if (prepare) prepare(i);
    double cpu0 = ProcessCpuUs();
    auto t0 = SteadyClock::now();
    call(i);
    us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    cpu += ProcessCpuUs() - cpu0;
  }
  cpu /= n;
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))];
  };
  return {name, n, at(0.5), at(0.99), sum / n, cpu};
}

class ReadWitnessBench : public AuditVerifyTest {};

TEST_F(ReadWitnessBench, Figures) {
  const int reads = EnvCount("TRIAD_BENCH_READS", 2000);
  const int rounds = EnvCount("TRIAD_BENCH_ROUNDS", 300);
  ASSERT_FALSE(DoneJobBundle().empty());
  std::vector<Figures> rows;

  rows.push_back(Time("public read: Audit.GetCheckpoint (unsigned)", reads, [&](int) {
    grpc::ClientContext ctx;
    pb::CheckpointReply cp;
    ASSERT_TRUE(h_.audit->GetCheckpoint(&ctx, pb::CheckpointRequest(), &cp).ok());
  }));

  // Signed as a client does (SignRequest with the audience read once from the card; the harness's
  // own Signed() re-reads its key on every call).
  const std::string audience = h_.fingerprint();
  std::vector<pb::SignedRequest> signed_reads(reads), stranger_reads(reads);
  rows.push_back(Time("client: sign one get-job request (Ed25519, DSSE)", reads, [&](int i) {
    signed_reads[i].set_envelope_json(
        SignRequest("get-job", {{"job_id", job_}}, do_.key, h_.clock.Now(), audience).ToJson());
  }));
  for (int i = 0; i < reads; ++i) {
    stranger_reads[i].set_envelope_json(
        SignRequest("get-job", {{"job_id", job_}}, eve_.key, h_.clock.Now(), audience).ToJson());
  }

  rows.push_back(Time("scoped read: Jobs.GetJob signed by a party", reads, [&](int i) {
    grpc::ClientContext ctx;
    pb::GetJobRequest req;
    req.set_id(job_);
    *req.mutable_request() = signed_reads[i];
    pb::JobStatus s;
    grpc::Status st = h_.jobs->GetJob(&ctx, req, &s);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }));

  rows.push_back(Time("refused read: Jobs.GetJob signed by a stranger", reads, [&](int i) {
    grpc::ClientContext ctx;
    pb::GetJobRequest req;
    req.set_id(job_);
    *req.mutable_request() = stranger_reads[i];
    pb::JobStatus s;
    ASSERT_EQ(h_.jobs->GetJob(&ctx, req, &s).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }));

  const int exports = std::max(1, reads / 10);
  std::vector<pb::SignedRequest> export_reqs(exports);
  for (int i = 0; i < exports; ++i)
    export_reqs[i] = h_.Signed("export-bundle", {{"job_id", job_}}, do_.key);
  size_t bundle_bytes = 0;
  rows.push_back(Time("scoped read: Audit.ExportBundle (done job)", exports, [&](int i) {
    grpc::ClientContext ctx;
    pb::ExportRequest req;
    req.set_job_id(job_);
    *req.mutable_request() = export_reqs[i];
    pb::ExportReply reply;
    grpc::Status st = h_.audit->ExportBundle(&ctx, req, &reply);
    ASSERT_TRUE(st.ok()) << st.error_message();
    bundle_bytes = reply.bundle_json().size();
  }));

  // Witnessing: the model owner's keyholder, as `keyholder serve` does it after each round.
  keyholder::Keyholder& witness = *mo_keyholder_.k;
  // The last checkpoint it saw (it saw some while it released the job's keys).
  uint64_t known = 0;
  {
    absl::StatusOr<std::optional<std::string>> note = witness.journal().LastCheckpoint();
    ASSERT_TRUE(note.ok() && note->has_value());
    known = verify::OpenCardCheckpoint(h_.card(), **note)->size;
  }
  std::vector<double> append_us;
  // Before each round, untimed: the log grows by one entry (one commit, one signed checkpoint).
  auto grow = [&](int i) {
    auto a0 = SteadyClock::now();
    absl::StatusOr<storage::WriteTxn> txn = h_.store().Begin();
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->AppendLog(absl::StrFormat(R"({"type":"triad.log/v1","kind":"bench.filler",)"
                                               R"("time":"2025-07-10T00:00:00Z","n":%d})",
                                               i))
                    .ok());
    ASSERT_TRUE(txn->Commit().ok());
    append_us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - a0).count());
  };
  auto witness_round = [&](int) {
    grpc::ClientContext c1;
    pb::CheckpointReply cp;
    ASSERT_TRUE(h_.audit->GetCheckpoint(&c1, pb::CheckpointRequest(), &cp).ok());
    absl::StatusOr<crypto::Checkpoint> shown =
        verify::OpenCardCheckpoint(h_.card(), cp.signed_note());
    ASSERT_TRUE(shown.ok()) << shown.status();
    grpc::ClientContext c2;
    pb::ConsistencyRequest creq;
    creq.set_from_size(known);
    creq.set_to_size(shown->size);
    pb::ProofReply proof;
    ASSERT_TRUE(h_.audit->GetConsistencyProof(&c2, creq, &proof).ok());
    absl::StatusOr<std::string> cosigned =
        witness.Witness(cp.signed_note(), known,
                        std::vector<std::string>(proof.hashes().begin(), proof.hashes().end()));
    ASSERT_TRUE(cosigned.ok()) << cosigned.status();
    grpc::ClientContext c3;
    pb::CosignRequest req;
    req.set_signed_note(*cosigned);
    pb::CosignReply ack;
    grpc::Status st = h_.audit->AddCosignature(&c3, req, &ack);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(ack.accepted(), 1u);
    known = shown->size;
  };
  Figures round = Time("one witness round (2 reads, verify, journal fsync, cosign, AddCosignature)",
                       rounds, witness_round, grow);
  double append_mean = 0;
  for (double v : append_us) append_mean += v;
  append_mean /= append_us.size();
  rows.push_back(round);

  const Figures& base = rows[0];
  std::printf(
      "| operation | calls | p50 us | p99 us | mean us | CPU us/call (both sides) | mean / public "
      "read |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const Figures& f : rows) {
    std::printf("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f |\n", f.name.c_str(), f.n, f.p50_us,
                f.p99_us, f.mean_us, f.cpu_us, f.mean_us / base.mean_us);
  }
  std::printf(
      "\nbundle: %zu bytes; log append before each round: mean %.1f us (one SQLite commit "
      "with fsync and a signed checkpoint)\n",
      bundle_bytes, append_mean);
  std::printf(
      "cosignatures per second by one witness (rounds back to back, append excluded): %.0f\n",
      1e6 / round.mean_us);
  std::printf(
      "{\"public_read_mean_us\":%.1f,\"scoped_read_mean_us\":%.1f,\"refused_read_mean_us\":%.1f,"
      "\"sign_mean_us\":%.1f,\"export_mean_us\":%.1f,\"witness_round_mean_us\":%.1f,"
      "\"cosignatures_per_s\":%.0f}\n",
      rows[0].mean_us, rows[2].mean_us, rows[3].mean_us, rows[1].mean_us, rows[4].mean_us,
      round.mean_us, 1e6 / round.mean_us);
}

}  // namespace
}  // namespace triad::coordinator
