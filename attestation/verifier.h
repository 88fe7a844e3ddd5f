// Attestation evidence, trust anchors and the verifier interface.
//
// A verifier checks evidence offline: signatures, certificate chains to pinned vendor roots, CRLs
// and collateral, all at a verification time given by the caller (it never reads the clock), with
// every length bounded. The result is either normalized claims (contracts::Claims) or a rejection
// that names every failed check. Whether the claims are acceptable is the contract policy's
// decision, not the verifier's: a verifier rejects only evidence that is not authentic, not fresh,
// or not evaluable (e.g. TDX "TCB not supported").
#ifndef TRIAD_ATTESTATION_VERIFIER_H_
#define TRIAD_ATTESTATION_VERIFIER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "contracts/claims.h"
#include "crypto/ed25519.h"

namespace triad::attestation {

// One NVIDIA GPU's evidence, as NVML hands it over, with its collateral.
struct GpuEvidence {
  std::string uuid;    // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (nvmlDeviceGetUUID)
  std::string report;  // the SPDM attestation report, binary (GET_MEASUREMENTS request||response)
  std::string certs;   // the attestation certificate chain, PEM, the device certificate first
  // Collateral: NVIDIA RIMs (SWID XML, driver and VBIOS) and DER OCSP responses for the device
  // chain and the RIM chains. Authenticated by their own signatures; may be empty.
  std::vector<std::string> rims;
  std::vector<std::string> ocsp;
};

// What a worker hands over: the vendor's binary evidence and what is needed to verify it.
struct Evidence {
  std::string tee;     // contracts::kTeeSevSnp, kTeeTdx, kTeeSim
  std::string report;  // SNP attestation report; TDX DCAP quote; sim evidence
  // SNP: the VCEK/VLEK (DER, or PEM bundle whose extra certificates are used only as
  // intermediates), or the SNP extended-report certificate table (configfs-tsm `auxblob`). TDX and
  // sim: empty.
  std::string certs;
  // TDX: collateral JSON in the dcap-qvl QuoteCollateralV3 form. SNP: optional AMD CRLs (one DER
  // CRL, or PEM "X509 CRL" blocks) issued by the ARK or the ASK/ASVK. Sim: empty.
  std::string collateral;
  // The GPUs the worker attests beside its CPU TEE, in order (the index in the nonce derivation
  // of attestation/binding.h), and the system's confidential-computing state. Both empty for a
  // CPU-only worker; present together otherwise.
  // (Default member initializers, so that the older four-field aggregate initializations stay
  // warning-free.)
  std::vector<GpuEvidence> gpus = {};
  std::optional<contracts::GpuCcState> gpu_cc = std::nullopt;
  // Confidential Containers: the init-data document (TOML) the pod was started with, whose digest
  // the TEE reports as SNP HOST_DATA / TDX MRCONFIGID (attestation/coco.h). Empty otherwise.
  std::string initdata = {};
};

// Pinned trust anchors. Never taken from the evidence itself.
struct TrustAnchors {
  // AMD Root Keys by product name ("Milan", "Genoa", "Turin"), PEM.
  std::map<std::string, std::string> amd_ark;
  // AMD intermediates by product (ASK for VCEKs, ASVK for VLEKs), PEM; public, used when the
  // evidence does not carry them. They are checked against the ARK like any intermediate.
  std::map<std::string, std::string> amd_ask;
  std::map<std::string, std::string> amd_asvk;
  // Intel SGX Root CA, PEM.
  std::string intel_sgx_root_ca;
  // NVIDIA Device Identity CA (the root of GPU device certificates), PEM.
  std::string nvidia_device_identity_ca;
  // NVIDIA CoRIM signing Root CA (the root of the RIM signing certificates), PEM.
  std::string nvidia_corim_signing_root_ca;
  // Ed25519 keys whose sim evidence is accepted (as `sim`, never as anything else).
  std::vector<crypto::Ed25519PublicKey> sim_keys;

  // Loads a directory laid out like attestation/roots/ (amd_ark_<product>.pem,
  // amd_ask_<product>.pem, amd_asvk_<product>.pem, intel_sgx_root_ca.pem,
  // nvidia_device_identity_ca.pem, nvidia_corim_signing_root_ca.pem, sim_*.pub.pem). Missing
  // files leave that anchor empty (evidence needing it is then rejected for want of a root).
  static absl::StatusOr<TrustAnchors> LoadDir(const std::string& dir);
};

struct Verdict {
  bool valid = false;
  // Every failed check when invalid, each one line ("VCEK certificate expired at 2029-09-24T…").
  std::vector<std::string> reasons;
  // Filled when valid.
  contracts::Claims claims;
};

// Thread-safe; one instance may verify concurrently.
class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual Verdict Verify(const Evidence& evidence, absl::Time now) const = 0;
};

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_VERIFIER_H_
