// A forged AMD PKI for tests: an ARK/ASK/ASVK of our own, VCEKs/VLEKs with the AMD extensions, and
// SNP reports signed with them. Reports are laid out here from the ABI table independently of the
// parser under test. Used to reach the checks the real vectors cannot (other report versions, Turin
// reports, masked fields), and to show that an internally consistent chain is still rejected when
// its root is not pinned.
#ifndef TRIAD_TESTS_ATTESTATION_SNP_FORGE_H_
#define TRIAD_TESTS_ATTESTATION_SNP_FORGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::forge {

struct Extension {
  std::string oid;
  std::string value;  // the extnValue contents (DER of the inner value, or raw bytes)
};

// DER INTEGER / IA5String / OCTET STRING for extension values.
std::string DerInt(int v);
std::string DerIa5(const std::string& s);
std::string DerOctets(const std::string& s);

struct CertSpec {
  std::string cn;
  bool ca = false;
  bool pss = true;  // RSASSA-PSS/SHA-384 as AMD signs; false: PKCS#1 v1.5 with SHA-384
  absl::Time not_before = absl::FromUnixSeconds(1577836800);  // 2020-01-01
  absl::Time not_after = absl::FromUnixSeconds(2208988800);   // 2040-01-01
  std::vector<Extension> extensions;
};

// A certificate spec for an EC-signed (not RSASSA-PSS) certificate: NVIDIA's chains.
CertSpec EcSpec(const std::string& cn, bool ca);

crypto::SslPtr<EVP_PKEY> NewRsaKey();
crypto::SslPtr<EVP_PKEY> NewEcKey(const char* curve = "P-384");
// Issues a certificate for `subject_key`; self-signed when `issuer` is null.
crypto::SslPtr<X509> Issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                           EVP_PKEY* issuer_key);
std::string ToPem(X509* cert);
std::string ToDer(X509* cert);

// A product's forged ARK, ASK and ASVK (generated once per product and cached).
struct Pki {
  std::string product;  // "Milan", "Genoa", "Turin"
  crypto::SslPtr<EVP_PKEY> ark_key, ask_key, asvk_key;
  crypto::SslPtr<X509> ark, ask, asvk;
  // Anchors pinning this forged ARK (and offering the forged ASK/ASVK).
  TrustAnchors Anchors() const;
};
const Pki& ForgedPki(const std::string& product);

struct LeafSpec {
  bool vlek = false;
  std::string product_name = "Milan-B0";  // empty: no productName extension
  std::optional<int> bl = 3, tee = 0, snp = 8, ucode = 115, fmc;
  std::optional<std::string> hwid_ext;  // the raw extension value; nullopt: none
  absl::Time not_before = absl::FromUnixSeconds(1577836800);
  absl::Time not_after = absl::FromUnixSeconds(2208988800);
};
// A VCEK (CN SEV-VCEK, issued by the ASK) or VLEK (CN SEV-VLEK, issued by the ASVK).
crypto::SslPtr<X509> IssueLeaf(const Pki& pki, const LeafSpec& spec, EVP_PKEY* leaf_key);

struct ReportSpec {
  uint32_t version = 2;
  uint32_t guest_svn = 0;
  uint64_t policy = 0x30000;
  uint32_t vmpl = 0;
  uint32_t signature_algo = 1;
  uint32_t key_info = 0;  // bits 4:2 SIGNING_KEY (0 VCEK, 1 VLEK)
  std::string report_data = std::string(64, '\x11');
  std::string measurement = std::string(48, '\x22');
  std::string host_data = std::string(32, '\x33');
  uint64_t tcb = 0x7308000000000003;  // REPORTED/CURRENT/COMMITTED/LAUNCH TCB; Milan: bl 3, tee 0,
                                      // snp 8, ucode 115
  uint8_t cpuid_family = 0, cpuid_model = 0, cpuid_stepping = 0;  // written only for version >= 3
  std::string chip_id = std::string(64, '\x44');
  uint64_t launch_mit_vector = 0, current_mit_vector = 0;  // version 5
};
// Lays out and signs (ECDSA P-384/SHA-384 over 0x000..0x29F, R and S little-endian) a report.
std::string BuildReport(const ReportSpec& spec, EVP_PKEY* leaf_key);
// Signs an already laid-out report (`report`'s SIGNATURE replaced) as BuildReport does.
std::string SignReport(std::string report, EVP_PKEY* leaf_key);

}  // namespace triad::attestation::forge

#endif  // TRIAD_TESTS_ATTESTATION_SNP_FORGE_H_
