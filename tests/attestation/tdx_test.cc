#include "attestation/tdx.h"

#include <iostream>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

std::string Vec(const std::string& rel) {
  return testing::ReadTestFile(testing::SharedDir() + "/testdata/attestation/" + rel);
}

TEST(Explore, All) {
  TrustAnchors anchors;
  anchors.intel_sgx_root_ca = Vec("roots/intel_sgx_root_ca.pem");
  TdxVerifier v(anchors);
  struct Case { const char* quote; const char* coll; int64_t now; };
  for (Case c : {Case{"tdx/dcapqvl-v4-b0c06f/quote.bin", "tdx/dcapqvl-v4-b0c06f/collateral.json", 1751328000},
                 Case{"tdx/gotdx-v5-90c06f/quote.bin", "tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json", 1772323200},
                 Case{"tdx/dcapqvl-v5-90c06f-tcb-unsupported/quote.bin", "tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json", 1772323200},
                 Case{"tdx/gotdx-v4-spr-50806f/quote.bin", "tdx/gotdx-v4-spr-50806f/collateral.json", 1688173200},
                 Case{"tdx/trustee-v4-debug-50806f/quote.bin", "tdx/gotdx-v4-spr-50806f/collateral.json", 1688173200},
                 Case{"tdx/no-collateral/gcp-cos113-v4-00806f050000.bin", "", 1751328000},
                 Case{"tdx/dcapqvl-v4-b0c06f/quote.bin", "tdx/dcapqvl-v4-b0c06f/collateral.json", 1751328000 + 86400 * 30},
                 Case{"tdx/gotdx-v4-spr-50806f/quote.bin", "tdx/gotdx-v4-spr-50806f/collateral.json", 1751328000},
                 }) {
    Evidence e;
    e.tee = "tdx";
    e.report = Vec(c.quote);
    if (*c.coll) e.collateral = Vec(c.coll);
    Verdict r = v.Verify(e, absl::FromUnixSeconds(c.now));
    std::cout << c.quote << " valid=" << r.valid << "\n";
    for (auto& s : r.reasons) std::cout << "   - " << s << "\n";
    if (r.valid) std::cout << r.claims.ToJson().dump(1) << "\n";
  }
}

}  // namespace
}  // namespace triad::attestation
