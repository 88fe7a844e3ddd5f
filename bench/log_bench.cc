// The transparency log at scale: appends 1,000,000 entries (by default) to a fresh store in batches,
// then times roots, inclusion and consistency proofs (and their verification), reopening, and a full
// integrity check. Prints a table and one JSON line; bench/log_bench.sh records both.
//
//   log_bench [--entries N] [--batch B] [--entry-bytes S] [--proofs K] [--single-commits C] --dir DIR
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "crypto/ed25519.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "storage/store.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace merkle = triad::crypto::merkle;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// This thread's CPU time in microseconds: on a shared, loaded machine the wall-clock tail is mostly
// waiting for a core; the CPU time is what the work costs.
double ThreadCpuUs() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

[[noreturn]] void Die(const std::string& what, const absl::Status& st) {
  std::fprintf(stderr, "log_bench: %s: %s\n", what.c_str(), std::string(st.message()).c_str());
  std::exit(1);
}

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what, v.status());
  return *std::move(v);
}

void Check(const absl::Status& st, const std::string& what) {
  if (!st.ok()) Die(what, st);
}

struct Stats {
  double mean_us, p50_us, p99_us, max_us;
};

Stats Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))]; };
  return {sum / us.size(), at(0.50), at(0.99), us.back()};
}

std::string Entry(uint64_t i, size_t bytes) {
  // Shaped like the coordinator's entries: a small JSON event, padded to the asked size.
  std::string e = absl::StrFormat(
      "{\"type\":\"job.progress\",\"job\":\"job-%08d\",\"step\":%d,\"time\":\"2025-06-15T15:06:40Z\",\"pad\":\"", i / 100,
      i % 100);
  if (e.size() + 2 < bytes) e.append(bytes - e.size() - 2, 'x');
  e += "\"}";
  return e;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t entries = 1000000;
  uint64_t batch = 1000;
  size_t entry_bytes = 256;
  int proofs = 10000;
  int single_commits = 500;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--entries") entries = std::stoull(value);
    else if (flag == "--batch") batch = std::stoull(value);
    else if (flag == "--entry-bytes") entry_bytes = std::stoul(value);
    else if (flag == "--proofs") proofs = std::stoi(value);
    else if (flag == "--single-commits") single_commits = std::stoi(value);
    else if (flag == "--dir") dir = value;
    else {
      std::fprintf(stderr, "log_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (dir.empty() || entries < 2 || batch == 0 || proofs <= 0) {
    std::fprintf(stderr, "usage: log_bench --dir DIR [--entries N] [--batch B] [--entry-bytes S] [--proofs K] "
                         "[--single-commits C]\n");
    return 2;
  }
  std::string path = dir + "/log_bench.db";
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  auto pem = triad::crypto::Ed25519PrivateKey::Generate().ToPem();
  auto signer = [&] {
    return Check(triad::crypto::NoteSigner::Create("bench.triad.example/log",
                                                   Check(triad::crypto::Ed25519PrivateKey::FromPem(pem), "key")),
                 "signer");
  };
  auto store = Check(triad::storage::Store::Open(path, signer()), "opening store");

  // 1. Batched appends: one transaction, one fsync and one signed checkpoint per batch.
  std::vector<double> commit_us;
  auto t0 = Clock::now();
  for (uint64_t done = 0; done < entries;) {
    uint64_t n = std::min(batch, entries - done);
    auto txn = Check(store->Begin(), "begin");
    for (uint64_t k = 0; k < n; ++k) Check(txn.AppendLog(Entry(done + k, entry_bytes)), "append");
    auto c0 = Clock::now();
    Check(txn.Commit(), "commit");
    commit_us.push_back(Seconds(Clock::now() - c0) * 1e6);
    done += n;
  }
  double append_s = Seconds(Clock::now() - t0);
  Stats commit = Summarize(commit_us);

  // 2. Single-entry commits (one state change, one entry, one checkpoint, one fsync each).
  std::vector<double> single_us;
  for (int i = 0; i < single_commits; ++i) {
    auto s0 = Clock::now();
    auto txn = Check(store->Begin(), "begin");
    Check(txn.AppendLog(Entry(entries + i, entry_bytes)), "append");
    Check(txn.Commit(), "commit");
    single_us.push_back(Seconds(Clock::now() - s0) * 1e6);
  }
  Stats single = Summarize(single_us);
  uint64_t size = Check(store->log().Size(), "size");
  const triad::storage::Log& log = store->log();
  std::string root = Check(log.Root(size), "root");

  // 3. Proofs at the full size, random leaves; each also verified (timed separately).
  std::mt19937_64 rng(1000000);
  std::vector<double> incl_us, incl_verify_us, cons_us, cons_verify_us, root_us, incl_cpu_us, cons_cpu_us;
  size_t incl_hashes_max = 0, cons_hashes_max = 0;
  double incl_hashes_sum = 0, cons_hashes_sum = 0;
  for (int i = 0; i < proofs; ++i) {
    uint64_t m = rng() % size;
    double c0 = ThreadCpuUs();
    auto p0 = Clock::now();
    auto proof = Check(log.InclusionProof(m, size), "inclusion proof");
    incl_us.push_back(Seconds(Clock::now() - p0) * 1e6);
    incl_cpu_us.push_back(ThreadCpuUs() - c0);
    std::string leaf = merkle::LeafHash(Check(log.Entry(m), "entry"));
    auto v0 = Clock::now();
    Check(merkle::VerifyInclusion(m, size, leaf, proof, root), "verify inclusion");
    incl_verify_us.push_back(Seconds(Clock::now() - v0) * 1e6);
    incl_hashes_sum += proof.size();
    incl_hashes_max = std::max(incl_hashes_max, proof.size());

    uint64_t m1 = 1 + rng() % (size - 1);
    auto r0 = Clock::now();
    std::string old_root = Check(log.Root(m1), "root");
    root_us.push_back(Seconds(Clock::now() - r0) * 1e6);
    double c1 = ThreadCpuUs();
    auto q0 = Clock::now();
    auto cproof = Check(log.ConsistencyProof(m1, size), "consistency proof");
    cons_us.push_back(Seconds(Clock::now() - q0) * 1e6);
    cons_cpu_us.push_back(ThreadCpuUs() - c1);
    auto w0 = Clock::now();
    Check(merkle::VerifyConsistency(m1, size, cproof, old_root, root), "verify consistency");
    cons_verify_us.push_back(Seconds(Clock::now() - w0) * 1e6);
    cons_hashes_sum += cproof.size();
    cons_hashes_max = std::max(cons_hashes_max, cproof.size());
  }
  Stats incl = Summarize(incl_us), inclv = Summarize(incl_verify_us), cons = Summarize(cons_us),
        consv = Summarize(cons_verify_us), roots = Summarize(root_us), incl_cpu = Summarize(incl_cpu_us),
        cons_cpu = Summarize(cons_cpu_us);

  // 4. Restart: reopen (schema check and root-against-checkpoint check), then a full rebuild.
  store.reset();
  auto o0 = Clock::now();
  store = Check(triad::storage::Store::Open(path, signer()), "reopening store");
  double reopen_s = Seconds(Clock::now() - o0);
  if (Check(store->log().Root(size), "root") != root) Die("after reopening", absl::DataLossError("root changed"));
  auto i0 = Clock::now();
  Check(store->log().VerifyIntegrity(store->log_verifier()), "integrity");
  double integrity_s = Seconds(Clock::now() - i0);
  uint64_t db_bytes = FileSize(path) + FileSize(path + "-wal");

  double rate = entries / append_s;
  std::printf("entries                      %llu (%zu bytes each), batches of %llu\n",
              static_cast<unsigned long long>(entries), entry_bytes, static_cast<unsigned long long>(batch));
  std::printf("batched appends              %.0f entries/s (%.1f s total)\n", rate, append_s);
  std::printf("commit of a batch            mean %.0f us, p50 %.0f us, p99 %.0f us, max %.0f us\n", commit.mean_us,
              commit.p50_us, commit.p99_us, commit.max_us);
  std::printf("single-entry transactions    %.0f commits/s (mean %.0f us, p99 %.0f us, %d runs)\n",
              1e6 / single.mean_us, single.mean_us, single.p99_us, single_commits);
  std::printf("inclusion proof (size %llu) mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us; %.1f hashes avg, %zu max (%zu bytes)\n",
              static_cast<unsigned long long>(size), incl.mean_us, incl.p50_us, incl.p99_us, incl.max_us,
              incl_hashes_sum / proofs, incl_hashes_max, incl_hashes_max * merkle::kHashSize);
  std::printf("  CPU time of the proof      mean %.1f us, p50 %.1f us, p99 %.1f us\n", incl_cpu.mean_us,
              incl_cpu.p50_us, incl_cpu.p99_us);
  std::printf("  verify (crypto/merkle)     mean %.1f us, p99 %.1f us\n", inclv.mean_us, inclv.p99_us);
  std::printf("consistency proof (m..size)  mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us; %.1f hashes avg, %zu max (%zu bytes)\n",
              cons.mean_us, cons.p50_us, cons.p99_us, cons.max_us, cons_hashes_sum / proofs, cons_hashes_max,
              cons_hashes_max * merkle::kHashSize);
  std::printf("  CPU time of the proof      mean %.1f us, p50 %.1f us, p99 %.1f us\n", cons_cpu.mean_us,
              cons_cpu.p50_us, cons_cpu.p99_us);
  std::printf("  verify (crypto/merkle)     mean %.1f us, p99 %.1f us\n", consv.mean_us, consv.p99_us);
  std::printf("root at a past size          mean %.1f us, p99 %.1f us\n", roots.mean_us, roots.p99_us);
  std::printf("reopen (Store::Open)         %.3f s\n", reopen_s);
  std::printf("full integrity rebuild       %.1f s\n", integrity_s);
  std::printf("database size                %.1f MiB\n", db_bytes / 1048576.0);
  std::printf(
      "{\"entries\":%llu,\"entry_bytes\":%zu,\"batch\":%llu,\"appends_per_s\":%.0f,\"commit_p50_us\":%.0f,"
      "\"commit_p99_us\":%.0f,\"single_commit_mean_us\":%.0f,\"inclusion_mean_us\":%.2f,\"inclusion_p99_us\":%.2f,"
      "\"inclusion_cpu_p99_us\":%.2f,\"inclusion_hashes_max\":%zu,\"inclusion_verify_mean_us\":%.2f,\"consistency_mean_us\":%.2f,"
      "\"consistency_p99_us\":%.2f,\"consistency_hashes_max\":%zu,\"root_mean_us\":%.2f,\"reopen_s\":%.3f,"
      "\"integrity_s\":%.1f,\"db_bytes\":%llu}\n",
      static_cast<unsigned long long>(entries), entry_bytes, static_cast<unsigned long long>(batch), rate,
      commit.p50_us, commit.p99_us, single.mean_us, incl.mean_us, incl.p99_us, incl_cpu.p99_us, incl_hashes_max, inclv.mean_us,
      cons.mean_us, cons.p99_us, cons_hashes_max, roots.mean_us, reopen_s, integrity_s,
      static_cast<unsigned long long>(db_bytes));
  return 0;
}
