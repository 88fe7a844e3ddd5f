// Fuzzes the revocation collateral: OCSP responses (parsing, CertID matching, signer authority,
// signature, validity window) and CRLs (DER and PEM parsing, issuer, signature, window, lookup).
// Input: a mode byte (even: OCSP, odd: CRL), u16le length + issuer certificate DER, u16le length +
// subject certificate DER, then the OCSP response or the CRL. Seeds: tests/fuzz/seeds/revocation
// (made by make_gpu_seeds.py with a throwaway CA).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attestation/internal/revocation.h"
#include "attestation/internal/x509_check.h"

namespace att = triad::attestation;

namespace {

bool Cert(absl::string_view& in, triad::crypto::SslPtr<X509>* out) {
  if (in.size() < 2) return false;
  size_t n = static_cast<uint8_t>(in[0]) | (static_cast<size_t>(static_cast<uint8_t>(in[1])) << 8);
  in.remove_prefix(2);
  if (n > in.size()) return false;
  auto c = att::internal::ParseDerCertificate(in.substr(0, n), 1);
  in.remove_prefix(n);
  if (!c.ok()) return false;
  *out = *std::move(c);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const bool crl_mode = (static_cast<uint8_t>(in[0]) & 1) != 0;
  in.remove_prefix(1);
  triad::crypto::SslPtr<X509> issuer, subject;
  if (!Cert(in, &issuer) || !Cert(in, &subject)) return 0;
  const absl::Time now = absl::FromUnixSeconds(1751328000);  // 2025-07-01
  if (!crl_mode) {
    auto responses = att::internal::ParseOcspResponses({std::string(in)});
    if (!responses.ok()) return 0;
    if (responses->size() != 1) __builtin_trap();
    att::internal::OcspCheck c =
        att::internal::CheckOcsp(*responses, subject.get(), issuer.get(), now, "subject");
    if (c.status != att::internal::CertStatus::kNotCovered && !c.problems.empty()) __builtin_trap();
    return 0;
  }
  auto crls = att::internal::ParseCrls(in);
  if (!crls.ok()) return 0;
  if (crls->empty() || crls->size() > att::internal::kMaxCrls) __builtin_trap();
  for (auto& crl : *crls) {
    att::internal::CheckCrlIssuedBy(crl.get(), issuer.get(), now, "CRL");
    att::internal::CrlRevokes(crl.get(), subject.get());
  }
  return 0;
}
