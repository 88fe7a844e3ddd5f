// Intel TDX quote verifications per second, on the real vectors of testdata/attestation
// at their MANIFEST times: with the collateral parsed once beforehand (how a coordinator that
// caches collateral per FMSPC verifies), and for comparison with the collateral JSON parsed every
// time. Every verification performs every check (signatures, chains, CRLs, TCB evaluation).
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "attestation/tdx.h"
#include "base/file.h"
#include "benchmark/benchmark.h"

namespace triad::attestation {
namespace {

std::string Read(const std::string& rel) {
  auto data =
      base::ReadFile(std::string(TRIAD_BENCH_TESTDATA_DIR) + "/attestation/" + rel, 1 << 20);
  return data.ok() ? *data : "";
}

struct Case {
  const char* quote;
  const char* collateral;
  int64_t now;
};
const Case kV4 = {"tdx/dcapqvl-v4-b0c06f/quote.bin", "tdx/dcapqvl-v4-b0c06f/collateral.json",
                  1751328000};
const Case kV5 = {"tdx/gotdx-v5-90c06f/quote.bin",
                  "tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json", 1772323200};

const TdxVerifier& Verifier() {
  static const TdxVerifier* verifier = [] {
    TrustAnchors anchors;
    anchors.intel_sgx_root_ca = Read("roots/intel_sgx_root_ca.pem");
    return new TdxVerifier(anchors);
  }();
  return *verifier;
}

void BM_TdxVerifyParsedCollateral(benchmark::State& state, Case c) {
  std::string quote = Read(c.quote);
  auto collateral = ParseTdxCollateral(Read(c.collateral));
  if (!collateral.ok()) {
    state.SkipWithError("collateral does not parse");
    return;
  }
  absl::Time now = absl::FromUnixSeconds(c.now);
  for (auto _ : state) {
    Verdict v = Verifier().VerifyQuote(quote, collateral->get(), now);
    if (!v.valid) {
      state.SkipWithError("quote does not verify");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TdxVerifyWithCollateralJson(benchmark::State& state, Case c) {
  Evidence e;
  e.tee = "tdx";
  e.report = Read(c.quote);
  e.collateral = Read(c.collateral);
  absl::Time now = absl::FromUnixSeconds(c.now);
  for (auto _ : state) {
    Verdict v = Verifier().Verify(e, now);
    if (!v.valid) {
      state.SkipWithError("quote does not verify");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TdxParseCollateral(benchmark::State& state) {
  std::string json = Read(kV4.collateral);
  for (auto _ : state) {
    auto c = ParseTdxCollateral(json);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_TdxVerifyParsedCollateral, v4_quote, kV4)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK_CAPTURE(BM_TdxVerifyParsedCollateral, v5_quote, kV5)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK_CAPTURE(BM_TdxVerifyWithCollateralJson, v4_quote, kV4)->UseRealTime();
BENCHMARK(BM_TdxParseCollateral)->UseRealTime();

}  // namespace
}  // namespace triad::attestation

BENCHMARK_MAIN();
