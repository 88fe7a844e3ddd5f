// Attestation verifications per second: the full check of real SEV-SNP evidence (report parse, the
// VCEK/VLEK parse, the chain to the pinned ARK with three RSA-4096 PSS verifications, the ECDSA
// P-384 report signature, TCB and hwID checks), the parser alone, and sim evidence. The verifier
// and its pinned anchors are built once, as a coordinator does; the evidence bytes are verified
// from scratch each time. Run by bench/attest_verify.sh, which records the machine's load with the
// results.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "attestation/internal/snp_report.h"
#include "attestation/sim.h"
#include "attestation/snp.h"
#include "attestation/verifier.h"

namespace triad::attestation {
namespace {

const absl::Time kNow =
    absl::FromUnixSeconds(1748736000);  // 2025-06-01, inside every SNP vector's validity

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "attest_verify_bench: cannot read %s\n", path.c_str());
    std::abort();
  }
  return ss.str();
}

std::string Snp(const std::string& rel) {
  return Read(std::string(TRIAD_BENCH_TESTDATA_DIR) + "/attestation/snp/" + rel);
}

const TrustAnchors& Anchors() {
  static const TrustAnchors* a = [] {
    absl::StatusOr<TrustAnchors> loaded =
        TrustAnchors::LoadDir(std::string(TRIAD_BENCH_SOURCE_DIR) + "/attestation/roots");
    if (!loaded.ok()) std::abort();
    return new TrustAnchors(*loaded);
  }();
  return *a;
}

void BM_SnpVerify(benchmark::State& state, const char* report, const char* certs) {
  static const Verifier* verifier = NewSnpVerifier(Anchors()).release();
  Evidence ev{"sev-snp", Snp(report), Snp(certs), ""};
  if (!verifier->Verify(ev, kNow).valid) {
    state.SkipWithError("evidence does not verify");
    return;
  }
  for (auto _ : state) {
    Verdict v = verifier->Verify(ev, kNow);
    benchmark::DoNotOptimize(v.valid);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_SnpVerify, milan_vcek, "gsg-milan/report.bin", "gsg-milan/vcek.der")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SnpVerify, milan_vlek, "trustee-milan-vlek/report.bin",
                  "trustee-milan-vlek/vlek.der")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SnpVerify, genoa_vcek_pem, "azure-genoa-hcl/report.bin",
                  "azure-genoa-hcl/vcek.pem")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SnpVerify, milan_vcek_threads, "gsg-milan/report.bin", "gsg-milan/vcek.der")
    ->ThreadRange(1, 2)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_SnpParse(benchmark::State& state) {
  std::string report = Snp("gsg-milan/report.bin");
  for (auto _ : state) {
    auto r = internal::ParseSnpReport(report);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnpParse)->UseRealTime();

void BM_SimVerify(benchmark::State& state) {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  TrustAnchors anchors;
  anchors.sim_keys.push_back(key.public_key());
  std::unique_ptr<Verifier> verifier = NewSimVerifier(anchors);
  absl::StatusOr<std::string> report = MakeSimEvidence(
      key, SimEvidenceFields{std::string(64, '\1'), std::string(48, '\2'), "UpToDate", false});
  Evidence ev{"sim", *report, "", ""};
  for (auto _ : state) {
    Verdict v = verifier->Verify(ev, kNow);
    benchmark::DoNotOptimize(v.valid);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimVerify)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace triad::attestation

BENCHMARK_MAIN();
