// Helpers of the TDX tests: the shared vectors at their MANIFEST times, and ways to take them
// apart.
#ifndef TRIAD_TESTS_ATTESTATION_TDX_TEST_UTIL_H_
#define TRIAD_TESTS_ATTESTATION_TDX_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "attestation/internal/tdx_quote.h"
#include "attestation/tdx.h"
#include "attestation/verifier.h"

namespace triad::attestation::tdx_test {

// MANIFEST.md's fixed verification times.
inline constexpr int64_t kV4Now = 1751328000;   // 2025-07-01T00:00:00Z
inline constexpr int64_t kV5Now = 1772323200;   // 2026-03-01T00:00:00Z
inline constexpr int64_t kSprNow = 1688173200;  // 2023-07-01T01:00:00Z

// A file of testdata/attestation.
std::string Data(const std::string& relative);

struct Vector {
  std::string quote;
  std::string collateral;
  absl::Time now;
};
Vector DcapQvlV4();             // tdx/dcapqvl-v4-b0c06f: VALID UpToDate
Vector GoTdxV5();               // tdx/gotdx-v5-90c06f + the dcap-qvl v5 collateral: VALID UpToDate
Vector DcapQvlV5Unsupported();  // tdx/dcapqvl-v5-90c06f-tcb-unsupported: TCB not supported
Vector GoTdxV4Spr();            // tdx/gotdx-v4-spr-50806f: TCB not supported
Vector TrusteeDebug();          // tdx/trustee-v4-debug-50806f + gotdx collateral: VALID, debug

TrustAnchors PinnedAnchors();  // roots/intel_sgx_root_ca.pem
Evidence EvidenceOf(const Vector& v);
Verdict VerifyVector(const Vector& v);  // with the pinned root at v.now

// PCS responses ({"tcbInfo":{...},"signature":"..."}): the exact bytes of the signed object, and
// the signature.
std::string PcsSignedObject(const std::string& response, const std::string& key);
std::string PcsSignature(const std::string& response);

// Collateral JSON: one string field; a copy with fields replaced.
std::string Field(const std::string& collateral, const std::string& key);
std::string WithFields(const std::string& collateral,
                       const std::map<std::string, std::string>& fields);
// The collateral with each issuer chain cut to its first certificate (no root copy).
std::string WithoutRootCopies(const std::string& collateral);

// Quotes: where the signature data ends (after it, padding); the PEM PCK chain; the same quote with
// another PEM chain (lengths fixed up).
size_t QuoteDataEnd(const std::string& quote);
std::string ChainOf(const std::string& quote);
std::string WithPckChain(const std::string& quote, const std::string& pem);
// Serializes a parsed quote (the inverse of internal::ParseTdxQuote, without padding).
std::string SerializeQuote(const internal::TdxQuote& quote);
// The first `n` PEM certificate blocks of `pem`, each ending in a newline.
std::string FirstCertificates(const std::string& pem, size_t n);

// A self-signed P-256 certificate with the Intel SGX Root CA's subject and key identifier, made
// now.
struct ForgedRoot {
  std::string pem;
};
ForgedRoot MakeForgedRoot();

}  // namespace triad::attestation::tdx_test

#endif  // TRIAD_TESTS_ATTESTATION_TDX_TEST_UTIL_H_
