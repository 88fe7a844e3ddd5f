// Claims: what verified attestation evidence says about a worker, normalized across TEE kinds.
//
// attestation/ produces Claims only from evidence whose signatures, certificate chains and collateral
// verified; contracts/ evaluates the worker policy on them. Byte fields hold raw bytes (hex them for
// display); their sizes are fixed by the TEE kind and checked by the producer.
#ifndef TRIAD_CONTRACTS_CLAIMS_H_
#define TRIAD_CONTRACTS_CLAIMS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace triad::contracts {

// "sev-snp", "tdx", "sim", "nvidia-gpu".
inline constexpr char kTeeSevSnp[] = "sev-snp";
inline constexpr char kTeeTdx[] = "tdx";
inline constexpr char kTeeSim[] = "sim";
inline constexpr char kTeeNvidiaGpu[] = "nvidia-gpu";

// The most GPUs one worker may attest (an HGX board holds 8).
inline constexpr size_t kMaxGpus = 8;

// AMD SEV-SNP TCB_VERSION (SNP ABI "TCB_VERSION"): security patch levels of each component.
struct SnpTcb {
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
  uint8_t fmc = 0;  // Turin and later only; 0 elsewhere
  bool operator==(const SnpTcb& o) const {
    return bootloader == o.bootloader && tee == o.tee && snp == o.snp && microcode == o.microcode && fmc == o.fmc;
  }
};

struct SnpClaims {
  uint32_t version = 0;        // report version (2, 3, 5)
  std::string product;         // "Milan", "Genoa", "Turin"
  std::string signing_key;     // "vcek" or "vlek"
  uint64_t policy = 0;         // guest policy
  uint32_t vmpl = 0;
  uint32_t guest_svn = 0;
  std::string measurement;     // 48 bytes
  std::string host_data;       // 32 bytes
  std::string id_key_digest;   // 48 bytes
  std::string author_key_digest;  // 48 bytes
  std::string report_id;       // 32 bytes
  std::string chip_id;         // 64 bytes (all zero when masked, as with VLEK)
  SnpTcb reported_tcb;
  SnpTcb committed_tcb;
  SnpTcb current_tcb;
  bool smt_allowed = false;
  bool migration_agent_allowed = false;
  // An ARK-signed AMD CRL came with the evidence, verified, was current, and revokes neither the
  // ASK/ASVK nor (with the ASK's CRL) the VCEK/VLEK.
  bool crl_checked = false;
};

struct TdxClaims {
  uint16_t quote_version = 0;  // 4 or 5
  std::string mr_td;           // 48 bytes
  std::vector<std::string> rtmr;  // 4 x 48 bytes
  std::string mr_config_id;    // 48 bytes
  std::string mr_owner;        // 48 bytes
  std::string mr_owner_config; // 48 bytes
  std::string mr_seam;         // 48 bytes
  std::string mr_signer_seam;  // 48 bytes
  std::string mr_service_td;   // 48 bytes (TD report 1.5 only; empty otherwise)
  uint64_t td_attributes = 0;
  uint64_t xfam = 0;
  std::string tee_tcb_svn;     // 16 bytes
  std::string fmspc;           // 6 bytes
  std::string qe_tcb_status;   // Intel's name for the QE identity level
  // The lower of the TCB info's and the QE identity's tcbEvaluationDataNumber: how recent Intel's
  // TCB assessment behind tcb_status is (0 in records made before it was claimed).
  uint32_t tcb_evaluation_data_number = 0;
};

// The confidential-computing state of the system's NVIDIA GPUs as the worker read it from NVML
// (nvmlSystemGetConfComputeSettings, nvmlSystemGetConfComputeGpusReadyState), with NVML's values.
// The GPUs do not sign it: the CPU report data commits to it (attestation/binding.h), so it is
// what the attested worker read, and no one after it could change it.
struct GpuCcState {
  static constexpr uint32_t kEnvironmentUnavailable = 0;  // NVML_CC_SYSTEM_ENVIRONMENT_*
  static constexpr uint32_t kEnvironmentSim = 1;
  static constexpr uint32_t kEnvironmentProd = 2;
  uint32_t environment = kEnvironmentUnavailable;
  uint32_t cc_feature = 0;      // NVML_CC_SYSTEM_FEATURE_ENABLED = 1
  uint32_t devtools_mode = 0;   // NVML_CC_SYSTEM_DEVTOOLS_MODE_ON = 1 (profiling/debugging allowed)
  uint32_t multi_gpu_mode = 0;  // NVML_CC_SYSTEM_MULTIGPU_PROTECTED_PCIE = 1
  uint32_t gpus_ready = 0;      // NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE = 1

  bool cc_on() const { return cc_feature == 1; }
  bool production() const { return environment == kEnvironmentProd; }
  bool devtools() const { return devtools_mode != 0; }
  bool protected_pcie() const { return multi_gpu_mode == 1; }
  bool ready() const { return gpus_ready == 1; }
  bool operator==(const GpuCcState& o) const {
    return environment == o.environment && cc_feature == o.cc_feature &&
           devtools_mode == o.devtools_mode && multi_gpu_mode == o.multi_gpu_mode &&
           gpus_ready == o.gpus_ready;
  }
};

// One NVIDIA RIM (reference measurements) that verified and matched a GPU's report.
struct GpuRimClaims {
  std::string kind;     // "driver" or "vbios"
  std::string version;  // the RIM's colloquialVersion, equal to the report's driver/VBIOS version
  std::string tag_id;
  std::string signer;   // common name of the RIM's signing certificate
  // "good": an OCSP response for every certificate of the RIM's chain below the root said good;
  // "incomplete": some had none; "not checked": no response covered any.
  std::string revocation;
};

// What a verified NVIDIA GPU attestation report (Hopper, Blackwell) says. Byte fields raw.
struct GpuClaims {
  uint32_t index = 0;        // position in the evidence; the GPU nonce derivation uses it
  std::string uuid;          // "GPU-…" as NVML names it (committed to by the CPU report data)
  std::string chip;          // "GH100", "GB100": from the verified device certificate
  std::string architecture;  // "hopper", "blackwell" (from the chip), or "" when unknown
  std::string report_digest;  // SHA-384 of the report bytes as carried in the evidence
  std::string nonce;           // the requester's nonce, 32 bytes
  std::string driver_version;  // "550.90.07" (opaque type 3)
  std::string vbios_version;   // "96.00.9F.00.01" (opaque type 6, as NVIDIA prints it)
  std::string chip_sku;        // opaque types 15, 17, 18, as text
  std::string project;
  std::string project_sku;
  std::string device_certificate;  // the device certificate's common name
  // SHA-256 of the certificate that issued the device certificate (the GPU's own DICE identity,
  // "GSP BROM", unique per chip): tells two physical GPUs apart.
  std::string device_id;
  std::string fwid;                // 48 bytes from the report (opaque type 20), or empty
  bool fwid_bound = false;  // the device certificate's FWID was present and equal to it
  uint32_t trailing_zero_bytes = 0;  // zero padding after the SPDM signature (outside it)
  std::vector<std::pair<int, std::string>> measurements;  // block index, value (SHA-384)
  std::vector<GpuRimClaims> rims;  // the RIMs that verified and matched, driver and/or VBIOS
  // Both a driver and a VBIOS RIM verified, and every active index of both equals its block.
  bool measurements_match = false;
  // OCSP of the device chain (every certificate but the device certificate and the root):
  // "good", "incomplete" or "not checked", as for GpuRimClaims::revocation.
  std::string device_revocation = "not checked";

  // Byte fields in lower-case hex; stable key order.
  nlohmann::ordered_json ToJson() const;
};

struct SimClaims {
  std::string signer_key_id;  // key id of the simulation key that signed the evidence
};

// Confidential Containers (Kata with SEV-SNP or TDX): what the init-data document that came with the
// evidence lets the pod run. attestation/coco.h fills it only after checking that the document's
// digest is the one the TEE reports (SNP HOST_DATA, TDX MRCONFIGID).
struct CocoClaims {
  std::string initdata_algorithm;  // "sha256", "sha384" or "sha512"
  std::string initdata_digest;     // 32, 48 or 64 bytes
  std::string image;               // the worker image the agent policy pins, "NAME@sha256:<hex>"
  std::string image_digest;        // "sha256:<hex>" of that image
};

struct Claims {
  std::string tee;             // kTeeSevSnp, kTeeTdx, kTeeSim (the CPU TEE)
  std::string report_data;     // 64 bytes, as the worker asked for it
  // The launch measurement: SNP `measurement`, TDX `MRTD`, sim SHA-384 of the worker executable.
  std::string measurement;
  bool debug = false;          // SNP policy DEBUG bit; TDX td_attributes DEBUG bit; sim flag
  // Intel's TCB status name for TDX ("UpToDate", "OutOfDate", "ConfigurationNeeded",
  // "SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDateConfigurationNeeded");
  // empty for SNP, which has no status list: the TCB the VCEK/VLEK certifies is snp.reported_tcb,
  // and whether it is recent enough is the policy's min_tcb; for sim whatever the sim evidence says.
  std::string tcb_status;
  std::vector<std::string> advisory_ids;
  // SNP chip_id (64 bytes) or TDX FMSPC-qualified platform id; may be empty when masked.
  std::string platform_id;
  std::optional<SnpClaims> snp;
  std::optional<TdxClaims> tdx;
  std::optional<SimClaims> sim;
  // NVIDIA GPUs attested beside the CPU TEE, in evidence order, and the system's CC state; empty
  // and absent for a CPU-only worker. Written to JSON only when present, so the claims of CPU-only
  // evidence are unchanged.
  std::vector<GpuClaims> gpus;
  std::optional<GpuCcState> gpu_cc;
  std::optional<CocoClaims> coco;  // set for evidence that came through a CoCo attestation agent

  bool simulated() const { return tee == kTeeSim; }

  // JSON with byte fields in lower-case hex; stable key order (for records and --json output).
  nlohmann::ordered_json ToJson() const;
  static absl::StatusOr<Claims> FromJson(const nlohmann::json& j);
};

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_CLAIMS_H_
