// A stand-in for Intel's PKI, for tests only: a self-made root with Intel's names, a PCK platform
// CA, a TCB signing certificate and a PCK certificate carrying the SGX extension of a real PCK.
// With it a test re-signs a real quote's header and body, and real TCB info / QE identity JSON
// after editing them, to reach what no real vector shows: statuses below UpToDate, revocations, odd
// keys. Never trusted outside the test binary: its root is pinned only by the tests that use it.
#ifndef TRIAD_TESTS_ATTESTATION_TDX_FAKE_PKI_H_
#define TRIAD_TESTS_ATTESTATION_TDX_FAKE_PKI_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attestation/internal/tdx_quote.h"
#include "attestation/verifier.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::tdx_test {

class FakeIntelPki {
 public:
  // `pck_key_curve`: "P-256" (as Intel) or another curve to test key checks.
  explicit FakeIntelPki(const char* pck_key_curve = "P-256");

  TrustAnchors Anchors() const;

  // Re-signs `quote` (parsed; its header, body, QE report and QE auth data are kept) with a fresh
  // attestation key, a QE report bound to it and signed by the PCK key, and this PKI's PCK chain.
  std::string Sign(internal::TdxQuote quote) const;

  struct CollateralOptions {
    std::string tcb_info_json;           // signed as given
    std::string qe_identity_json;        // signed as given
    std::vector<long> root_crl_revoked;  // serials
    std::vector<long> pck_crl_revoked;
    absl::Time crl_this_update;
    absl::Time crl_next_update;
  };
  std::string Collateral(const CollateralOptions& options) const;

  // Serials of the certificates, for revocation.
  static constexpr long kPckCaSerial = 0x11;
  static constexpr long kTcbSigningSerial = 0x12;
  static constexpr long kPckSerial = 0x13;

 private:
  crypto::SslPtr<EVP_PKEY> root_key_, ca_key_, tcb_key_, pck_key_;
  crypto::SslPtr<X509> root_, ca_, tcb_, pck_;
};

}  // namespace triad::attestation::tdx_test

#endif  // TRIAD_TESTS_ATTESTATION_TDX_FAKE_PKI_H_
