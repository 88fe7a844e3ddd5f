// AMD SEV-SNP certificates: the extended-report certificate table, loading the VCEK/VLEK with its
// intermediates from DER, PEM or that table, the AMD X.509 extensions, and the chain to a pinned
// ARK.
#ifndef TRIAD_ATTESTATION_INTERNAL_SNP_CERTS_H_
#define TRIAD_ATTESTATION_INTERNAL_SNP_CERTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {

// ---- Certificate table
// -----------------------------------------------------------------------------
//
// "SEV-ES Guest-Hypervisor Communication Block Standardization" (AMD publication 56421)
// revision 2.03, section 4.1.8.1 (MSG_REPORT_REQ, the certificate table): an array of 24-byte
// entries { GUID[16], offset u32 LE, length u32 LE } ended by an all-zero entry; offsets count from
// the start of the table; the certificates (DER) follow the entries. The GUID bytes are the 16
// bytes of the GUID text in the order written (as uuid_parse gives them). This is what configfs-tsm
// `auxblob` holds for the sev_guest provider.
inline constexpr size_t kSnpCertTableEntrySize = 24;
inline constexpr size_t kSnpCertTableMaxEntries = 64;
inline constexpr size_t kSnpCertTableMaxSize = 1 << 20;

// GUID texts of the entries Triad uses (GHCB 2.03 section 4.1.8.1, and AMD's sev-guest tools).
inline constexpr char kSnpGuidVcek[] = "63da758d-e664-4564-adc5-f4b93be8accd";
inline constexpr char kSnpGuidVlek[] = "a8074bc2-a25a-483e-aae6-39c045a0b8a1";
inline constexpr char kSnpGuidAsk[] = "4ab7b379-bbac-4fe4-a02f-05aef327c782";
inline constexpr char kSnpGuidArk[] = "c0b406a4-a803-4952-9743-3fb6014cd0ae";

// The 16 bytes of a GUID text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; empty if malformed.
std::string GuidBytes(absl::string_view text);
// The text form (lower case) of 16 GUID bytes.
std::string GuidText(absl::string_view bytes);

struct SnpCertTableEntry {
  std::string guid;  // 16 bytes
  std::string data;  // the certificate (DER), or whatever the host put there for unknown GUIDs
};

// Parses a certificate table. Fails with kInvalidArgument when it has no terminator, more than
// kSnpCertTableMaxEntries entries, an entry pointing outside the blob or into the entry array, an
// empty entry, or a GUID twice; kResourceExhausted when larger than kSnpCertTableMaxSize. Trailing
// bytes after the last certificate (page padding) are allowed.
absl::StatusOr<std::vector<SnpCertTableEntry>> ParseSnpCertTable(absl::string_view blob);
// Builds a table (entries, terminator, then the data in order); for tests and fuzz seeds.
std::string SerializeSnpCertTable(const std::vector<SnpCertTableEntry>& entries);

// ---- Loading the VCEK/VLEK and intermediates
// --------------------------------------------------------

enum class AmdLeafKind { kVcek, kVlek };
const char* AmdLeafKindName(AmdLeafKind k);  // "VCEK", "VLEK"

struct SnpCertSet {
  crypto::SslPtr<X509> leaf;
  AmdLeafKind kind = AmdLeafKind::kVcek;
  // Every other certificate given; used only as untrusted intermediates, never as a root.
  std::vector<crypto::SslPtr<X509>> intermediates;
};

inline constexpr size_t kMaxSnpCertsSize = 1 << 20;
inline constexpr int kMaxSnpCertsInBundle = 16;

// Loads the certificates that came with an SNP report: one DER certificate, a PEM bundle, or a
// certificate table (above). The leaf is the one certificate whose subject CN is "SEV-VCEK" or
// "SEV-VLEK" (in a table: the VCEK or VLEK entry). Fails with kInvalidArgument naming the problem
// (no leaf, two leaves, a malformed certificate), kResourceExhausted over kMaxSnpCertsSize.
absl::StatusOr<SnpCertSet> LoadSnpCerts(absl::string_view certs);

// ---- AMD extensions
// ----------------------------------------------------------------------------------
//
// VCEK/VLEK extensions, "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
// Specification" (AMD publication 57230), table "VCEK Certificate Extensions": under
// 1.3.6.1.4.1.3704.1: .2 productName (IA5String), .3.1 blSPL, .3.2 teeSPL, .3.3 snpSPL, .3.8
// ucodeSPL, .3.9 fmcSPL (Turin), each an INTEGER; .4 hwID (VCEK only).
struct AmdExtensions {
  std::optional<std::string> product_name;
  std::optional<uint8_t> bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl;
  // hwID, decoded from either encoding KDS has used: the raw bytes, or a DER OCTET STRING holding
  // them. 64 bytes (Milan, Genoa) or 8 bytes (Turin, which identifies chips by CHIP_ID[0:8]).
  std::optional<std::string> hwid;
  // One line per extension that is present but malformed (an SPL that is not an INTEGER in 0..255,
  // a productName that is not an IA5String, a hwID of another size, an extension given twice); its
  // field above stays empty and `malformed` holds its OID.
  std::vector<std::string> errors;
  std::vector<std::string> malformed;
  bool IsMalformed(absl::string_view oid) const;
};

inline constexpr char kOidProductName[] = "1.3.6.1.4.1.3704.1.2";
inline constexpr char kOidBlSpl[] = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr char kOidTeeSpl[] = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr char kOidSnpSpl[] = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr char kOidUcodeSpl[] = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr char kOidFmcSpl[] = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr char kOidHwid[] = "1.3.6.1.4.1.3704.1.4";

// Reads the extensions above; never fails as a whole (see AmdExtensions::errors).
AmdExtensions ReadAmdExtensions(X509* cert);

// The product named by a VCEK/VLEK: its productName extension up to any '-' ("Milan-B0" ->
// "Milan"), else its issuer CN ("SEV-Milan", "SEV-VLEK-Milan" -> "Milan"). Empty when neither names
// one.
std::string AmdProductFromCert(X509* cert, const AmdExtensions& ext);

// ---- Chain
// -------------------------------------------------------------------------------------------

// Verifies leaf -> intermediate -> ark at `now` with OpenSSL, the ARK being the only trust anchor
// (its self-signature is checked too), and requires the chain to be exactly three certificates each
// signed with RSASSA-PSS/SHA-384. `untrusted` are candidate intermediates. Returns every failed
// check, one line each (empty when the chain is valid). `leaf_name` names the leaf in messages
// ("VCEK"). When the chain is valid and `path` is given, it receives leaf, ASK/ASVK, ARK (borrowed
// from the arguments).
std::vector<std::string> VerifyAmdChain(X509* leaf, const std::vector<X509*>& untrusted, X509* ark,
                                        absl::Time now, absl::string_view leaf_name,
                                        std::vector<X509*>* path = nullptr);

// Parses one PEM certificate; fails unless `pem` holds exactly one.
absl::StatusOr<crypto::SslPtr<X509>> ParsePemCertificate(absl::string_view pem);
// The subject (or issuer) CN of a certificate; empty if none.
std::string SubjectCn(X509* cert);
std::string IssuerCn(X509* cert);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_SNP_CERTS_H_
