// The worker policy: which workers a contract lets the coordinator release keys to, and its
// evaluation on verified attestation claims into an explained decision.
//
// JSON form (the contract's `worker_policy`, or a file given to `triad contract draft --policy`):
//
//   {"tee": ["sev-snp", "tdx"],     acceptable TEE kinds; "sim" only when named here
//    "allow_debug": false,          opt; a debug guest / TD / sim worker, GPUs in devtools mode,
//                                   are refused unless true
//    "sev_snp": {"measurements": [hex48…], "min_tcb": {"bootloader": 3, "tee": 0, "snp": 8,
//                "microcode": 115, "fmc": 0 (opt)},
//                "host_data": [hex32…], "id_key_digests": [hex48…], "min_guest_svn": 0,
//                "allowed_vmpls": [0], "allow_migration_agent": false, "chip_ids": [hex64…],
//                "require_crl": false},                                 (all but the first two opt)
//    "tdx": {"mr_td": [hex48…], "tcb_status": ["UpToDate"],
//            "rtmr0".."rtmr3": [hex48…], "mr_config_id": [hex48…],
//            "allowed_advisory_ids": ["INTEL-SA-00837"…], "platform_ids": [hex…],
//            "min_tcb_evaluation_data_number": 17,
//            "td_attributes": {"mask": "hex16", "value": "hex16"}},      (all but the first two opt)
//    "sim": {"measurements": [hex48…], "tcb_status": ["UpToDate"] (opt)},
//    "nvidia_gpu": {"count": 2, "architectures": ["hopper", "blackwell"],
//                   "min_driver_version": "550.54.15", "min_vbios_version": "96.00.74.00.1C",
//                   "cc_mode": "on", "rim": "required", "ocsp": "required"},    (rim, ocsp opt)
//    "coco": {"initdata_digests": [hex32|hex48|hex64…],                                     opt
//             "image_digests": ["sha256:<hex>"…]},
//    "accepted_weaknesses": ["tdx-guest-unpinned", …]}                                     opt
//
// `coco` (Confidential Containers) applies to sev-snp and tdx workers: the TEE's SNP HOST_DATA or
// TDX MRCONFIGID must be one of the init-data digests (truncated or zero-padded to the field, as
// kata sets it), and the evidence must carry that init-data, whose agent policy must pin one of the
// image digests. The guest (Kata VM) measurement is the sev_snp / tdx section's as for any guest.
//
// Every kind in `tee` needs its section, and a section for a kind not in `tee` is refused. Every
// list of reference values accepts any of its entries (rolling upgrades); an optional list that is
// absent is not checked. Byte values are lower-case hex of the sizes the TEE defines;
// td_attributes are 64-bit numbers in 16 hex digits (big-endian, as Intel prints them): the TD's
// TDATTRIBUTES & mask must equal value.
//
// nvidia_gpu: the worker must attest exactly `count` NVIDIA GPUs of the listed architectures
// beside its CPU TEE, with confidential computing on in the production environment, devtools off
// (unless allow_debug), the GPUs ready, protected PCIe when count > 1, driver and VBIOS at least
// the minimums, and, unless "optional", every GPU's driver and VBIOS RIMs verified and matched
// ("rim") and OCSP good for its device chain and both RIM chains ("ocsp"). A contract whose
// training asks for N GPUs must have this section with count N (contracts/contract.h).
//
// accepted_weaknesses: what PolicyWeaknesses() finds weak in this policy and the parties agreed to
// accept (`triad contract draft --allow-weak-policy` writes it, so every party sees it when it
// signs). A weakness not listed here makes `contract draft` refuse the policy.
#ifndef TRIAD_CONTRACTS_POLICY_H_
#define TRIAD_CONTRACTS_POLICY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/claims.h"
#include "nlohmann/json.hpp"

namespace triad::contracts {

// What every record of a job admitted on `sim` says.
inline constexpr char kSimulatedNotice[] = "SIMULATED: no hardware protection";

// Reference values hold raw bytes (hex in JSON).
struct SnpReference {
  std::vector<std::string> measurements;  // 48 bytes each; at least one
  SnpTcb min_tcb;                         // of the report's REPORTED_TCB, component by component
  bool check_fmc = false;                 // min_tcb.fmc was given (Turin)
  std::vector<std::string> host_data;     // 32 bytes each; empty: not checked
  std::vector<std::string> id_key_digests;  // 48 bytes each (ID_KEY_DIGEST); empty: not checked
  std::optional<uint32_t> min_guest_svn;
  std::vector<uint32_t> allowed_vmpls;  // empty: not checked
  bool allow_migration_agent = false;
  std::vector<std::string> chip_ids;  // 64 bytes each; empty: not checked
  bool require_crl = false;  // the ARK's CRL must have been checked (claims.snp.crl_checked)
};

struct TdxReference {
  std::vector<std::string> mr_td;                // 48 bytes each; at least one
  std::array<std::vector<std::string>, 4> rtmr;  // 48 bytes each; an empty list is not checked
  std::vector<std::string> mr_config_id;         // 48 bytes each; empty: not checked
  std::vector<std::string> tcb_status;           // acceptable Intel TCB status names; at least one
  std::optional<std::vector<std::string>> allowed_advisory_ids;  // absent: not checked
  std::vector<std::string> platform_ids;                         // empty: not checked
  std::optional<uint32_t> min_tcb_evaluation_data_number;        // absent: not checked
  struct Attributes {
    uint64_t mask = 0;
    uint64_t value = 0;
  };
  std::optional<Attributes> td_attributes;  // TDATTRIBUTES & mask == value; absent: not checked
};

struct SimReference {
  std::vector<std::string> measurements;  // 48 bytes each (SHA-384 of the worker); at least one
  std::vector<std::string> tcb_status;    // empty: not checked
};

// Requirements on the NVIDIA GPUs attesting beside the CPU TEE (CC mode is always required on).
struct GpuRequirements {
  uint32_t count = 1;                      // exactly this many GPUs, 1..contracts::kMaxGpus
  std::vector<std::string> architectures;  // from kGpuArchitectures; at least one
  std::string min_driver_version;          // "550.54.15": dot-separated decimal numbers
  std::string min_vbios_version;           // "96.00.74.00.1C": five dot-separated hex bytes
  bool rim_required = true;                // "rim": "required" (default) or "optional"
  bool ocsp_required = true;               // "ocsp": "required" (default) or "optional"
};
inline constexpr const char* kGpuArchitectures[] = {"hopper", "blackwell"};

// What PolicyWeaknesses() can find, by code.
inline constexpr const char* kWeaknessCodes[] = {
    "tdx-guest-unpinned",  // neither RTMR1 and RTMR2 nor MRCONFIGID is pinned
    "tdx-acpi-unpinned",   // RTMR0 is not pinned
    "snp-no-min-tcb",      // min_tcb is all zero
    "snp-any-vmpl",        // allowed_vmpls is not set
    "gpu-rim-optional",    // nvidia_gpu.rim is "optional"
    "gpu-ocsp-optional",   // nvidia_gpu.ocsp is "optional"
};

// Confidential Containers reference values (see `coco` above); raw digests, "sha256:<hex>" images.
struct CocoReference {
  std::vector<std::string> initdata_digests;  // 32, 48 or 64 bytes each; at least one
  std::vector<std::string> image_digests;     // "sha256:<64 hex>"; at least one
};

struct WorkerPolicy {
  std::vector<std::string> tee;  // from kTeeSevSnp, kTeeTdx, kTeeSim
  bool allow_debug = false;
  std::optional<SnpReference> sev_snp;
  std::optional<TdxReference> tdx;
  std::optional<SimReference> sim;
  std::optional<GpuRequirements> nvidia_gpu;
  std::optional<CocoReference> coco;
  std::vector<std::string> accepted_weaknesses;  // codes from kWeaknessCodes

  bool Accepts(absl::string_view tee_kind) const;

  // The JSON form above, optional keys written only when set.
  nlohmann::ordered_json ToJson() const;

  // Checks `j` against the schema's worker_policy section and the rules above, and reads it. On
  // failure: kInvalidArgument "worker policy: <problem>; …", and each problem in `problems` when
  // given
  // ("/tee: tee lists tdx but there is no tdx section").
  static absl::StatusOr<WorkerPolicy> FromJson(const nlohmann::json& j,
                                               std::vector<std::string>* problems = nullptr);
  // Strict JSON text, then FromJson.
  static absl::StatusOr<WorkerPolicy> FromText(absl::string_view text,
                                               std::vector<std::string>* problems = nullptr);
};

// A weakness of a policy: a way a compute provider could be admitted running something the
// parties did not mean to admit.
struct PolicyWeakness {
  std::string code;     // from kWeaknessCodes
  std::string message;  // what is missing and how to pin it, naming the policy fields
};
// Every weakness of `policy`, accepted or not, in the order of kWeaknessCodes:
//   tdx-guest-unpinned: "tdx: neither rtmr1 and rtmr2 nor mr_config_id is pinned, so any guest
//     kernel, initrd and command line boots with an accepted MRTD (which measures only the TDVF
//     firmware): pin rtmr1 and rtmr2 (--tdx-rtmr1, --tdx-rtmr2), or mr_config_id
//     (--tdx-mrconfigid) when the TD's configuration id covers them"
//   tdx-acpi-unpinned: "tdx: rtmr0 is not pinned, so the host chooses the ACPI tables … pin rtmr0
//     (--tdx-rtmr0, from triad measure tdx --fw-cfg)"
//   snp-no-min-tcb: "sev_snp: min_tcb is all zero: …", snp-any-vmpl: "sev_snp: allowed_vmpls is
//   not set: …", gpu-rim-optional, gpu-ocsp-optional.
std::vector<PolicyWeakness> PolicyWeaknesses(const WorkerPolicy& policy);
// Those not in policy.accepted_weaknesses.
std::vector<PolicyWeakness> UnacceptedWeaknesses(const WorkerPolicy& policy);

// The policy `triad contract draft` builds without --policy, from reference values (raw bytes).
struct HardwarePolicyOptions {
  // SEV-SNP: accepted launch measurements (48 bytes); min_tcb (required with them); VMPLs (default
  // 0 only); optional HOST_DATA (32 bytes) and ID_KEY_DIGEST (48 bytes) pins.
  std::vector<std::string> snp_measurements;
  std::optional<SnpTcb> snp_min_tcb;
  bool snp_min_tcb_fmc = false;  // snp_min_tcb.fmc is a floor (Turin)
  std::vector<uint32_t> snp_vmpls = {0};
  std::vector<std::string> snp_host_data;
  std::vector<std::string> snp_id_key_digests;
  // TDX: accepted MRTDs; RTMR1 and RTMR2 (kernel, initrd, command line) and/or MRCONFIGID pins,
  // and optionally RTMR0 (the VM's shape and the firmware's configuration) (48 bytes each); TCB
  // status UpToDate only.
  std::vector<std::string> tdx_mr_td;
  std::vector<std::string> tdx_rtmr0;
  std::vector<std::string> tdx_rtmr1;
  std::vector<std::string> tdx_rtmr2;
  std::vector<std::string> tdx_mr_config_id;
};
// Hardware TEEs only, debug refused; the kinds are those with measurements. Fails with
// kInvalidArgument when no measurement is given, a value has the wrong size, or SNP measurements
// come without snp_min_tcb ("--snp-min-tcb is required with --snp-measurement: …"). The result may
// still have weaknesses (TDX without RTMR pins): the caller checks UnacceptedWeaknesses.
absl::StatusOr<WorkerPolicy> HardwarePolicy(const HardwarePolicyOptions& options);

// The former default policy, kept for callers that predate HardwarePolicy: SNP with an all-zero
// min_tcb (a weakness) and VMPL 0, TDX with MRTD only (a weakness).
absl::StatusOr<WorkerPolicy> DefaultHardwarePolicy(const std::vector<std::string>& snp_measurements,
                                                   const std::vector<std::string>& tdx_mr_td);

struct PolicyDecision {
  bool admit = false;
  // Every failed rule, in precise words ("measurement 7a3f… not in [c1d2…]"); empty iff admit.
  std::vector<std::string> reasons;
  // Set when a `sim` worker was admitted: records must say kSimulatedNotice.
  bool simulated = false;

  // {"admit": bool, "simulated": bool, "reasons": [...]}
  nlohmann::ordered_json ToJson() const;
};

// Evaluates `policy` on `claims` (which attestation/ produced from verified evidence). Pure and
// thread-safe. Checks, each adding its own reason when it fails: the TEE kind is accepted (if not,
// nothing else is checked); debug is off unless allowed; then the reference values of that kind;
// then, when the policy has an nvidia_gpu section, the GPUs (see above), with reasons such as
//   "policy requires 2 NVIDIA GPUs, the worker attested 1"
//   "GPU confidential computing is off (NVML cc_feature 0)"
//   "GPU 0 (GPU-…): architecture blackwell not in [hopper]"
//   "GPU 0 (GPU-…): driver 535.86.09 is below minimum 550.54.15"
//   "GPU 0 (GPU-…): reference measurements not verified (rim: required): no driver RIM"
//   "GPU 0 (GPU-…): OCSP for the device chain is not checked (ocsp: required: good)"
// GPUs in the claims are ignored by a policy without the section.
PolicyDecision Evaluate(const WorkerPolicy& policy, const Claims& claims);

// Compares dotted version strings component by component: decimal ("550.54.15") or, with `hex`,
// hexadecimal ("96.00.74.00.1C"). -1, 0, 1; a missing trailing component counts as 0.
// Fails with kInvalidArgument on a malformed version.
absl::StatusOr<int> CompareVersions(absl::string_view a, absl::string_view b, bool hex);

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_POLICY_H_
