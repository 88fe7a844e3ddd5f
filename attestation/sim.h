// The sim TEE: evidence for development, CI and the quickstart, where no TEE exists. It carries the
// same claims as hardware evidence and is signed by an Ed25519 "simulation key" that the verifier
// is configured to trust (TrustAnchors::sim_keys). It gives NO hardware protection: it verifies
// only as tee "sim", never as sev-snp or tdx, and a contract accepts it only if its policy names
// `sim`.
//
// Format, version 1: exactly 272 (0x110) bytes, integers little-endian.
//
//   offset  size  field
//   0x000      8  magic "TRIADSIM"
//   0x008      4  format version = 1
//   0x00C      4  flags: bit 0 DEBUG; every other bit must be 0
//   0x010     64  report data (as the worker asked, e.g. the admission binding)
//   0x050     48  measurement: SHA-384 of the worker executable (/proc/self/exe)
//   0x080     48  TCB status: one of Intel's status names in ASCII ("UpToDate", "OutOfDate", ...),
//                 padded with NULs
//   0x0B0     32  signer: the raw Ed25519 public key of the simulation key
//   0x0D0     64  signature: Ed25519 (RFC 8032) over bytes 0x000..0x0CF
//
// The magic at offset 0 keeps sim evidence from ever parsing as an SNP report (whose first four
// bytes are its version, 2, 3 or 5) or a TDX quote (version 4 or 5), and the SNP and TDX verifiers
// name it when they see it.
#ifndef TRIAD_ATTESTATION_SIM_H_
#define TRIAD_ATTESTATION_SIM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/verifier.h"
#include "crypto/ed25519.h"

namespace triad::attestation {

// Verifies sim evidence: format, signer listed in anchors.sim_keys, signature. Claims: tee "sim",
// report_data, measurement, debug, tcb_status as carried, claims.sim.signer_key_id. Never null.
std::unique_ptr<Verifier> NewSimVerifier(const TrustAnchors& anchors);

struct SimEvidenceFields {
  std::string report_data;  // 64 bytes
  std::string measurement;  // 48 bytes
  std::string tcb_status = "UpToDate";
  bool debug = false;
};

// Builds and signs sim evidence. Fails with kInvalidArgument on wrong sizes or an unknown TCB
// status.
absl::StatusOr<std::string> MakeSimEvidence(const crypto::Ed25519PrivateKey& key,
                                            const SimEvidenceFields& fields);

// SHA-384 of a file, read in pieces (the worker executable: "/proc/self/exe").
absl::StatusOr<std::string> MeasureExecutable(const std::string& path);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_SIM_H_
