// The worker policy: which workers a contract lets the coordinator release keys to, and its
// evaluation on verified attestation claims into an explained decision.
//
// JSON form (the contract's `worker_policy`, or a file given to `triad contract draft --policy`):
//
//   {"tee": ["sev-snp", "tdx"],     acceptable TEE kinds; "sim" only when named here
//    "allow_debug": false,          opt; a debug guest / TD / sim worker is refused unless true
//    "sev_snp": {"measurements": [hex48…], "min_tcb": {"bootloader": 3, "tee": 0, "snp": 8,
//                "microcode": 115, "fmc": 0 (opt)},
//                "host_data": [hex32…], "min_guest_svn": 0, "allowed_vmpls": [0],
//                "allow_migration_agent": false, "chip_ids": [hex64…]},          (these five opt)
//    "tdx": {"mr_td": [hex48…], "tcb_status": ["UpToDate"],
//            "rtmr0".."rtmr3": [hex48…], "mr_config_id": [hex48…],
//            "allowed_advisory_ids": ["INTEL-SA-00837"…], "platform_ids": [hex…]},   (these opt)
//    "sim": {"measurements": [hex48…], "tcb_status": ["UpToDate"] (opt)},
//    "nvidia_gpu": {"cc_mode": "on", "min_driver_version": "550.54.15",
//                   "min_vbios_version": "96.00.74.00.1C"},                       opt
//    "coco": {"initdata_digests": [hex32|hex48|hex64…],                                     opt
//             "image_digests": ["sha256:<hex>"…]}}
//
// `coco` (Confidential Containers) applies to sev-snp and tdx workers: the TEE's SNP HOST_DATA or
// TDX MRCONFIGID must be one of the init-data digests (truncated or zero-padded to the field, as
// kata sets it), and the evidence must carry that init-data, whose agent policy must pin one of the
// image digests. The guest (Kata VM) measurement is the sev_snp / tdx section's as for any guest.
//
// Every kind in `tee` needs its section, and a section for a kind not in `tee` is refused. Every
// list of reference values accepts any of its entries (rolling upgrades); an optional list that is
// absent is not checked. Byte values are lower-case hex of the sizes the TEE defines.
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
  std::optional<uint32_t> min_guest_svn;
  std::vector<uint32_t> allowed_vmpls;  // empty: not checked
  bool allow_migration_agent = false;
  std::vector<std::string> chip_ids;  // 64 bytes each; empty: not checked
};

struct TdxReference {
  std::vector<std::string> mr_td;                // 48 bytes each; at least one
  std::array<std::vector<std::string>, 4> rtmr;  // 48 bytes each; an empty list is not checked
  std::vector<std::string> mr_config_id;         // 48 bytes each; empty: not checked
  std::vector<std::string> tcb_status;           // acceptable Intel TCB status names; at least one
  std::optional<std::vector<std::string>> allowed_advisory_ids;  // absent: not checked
  std::vector<std::string> platform_ids;                         // empty: not checked
};

struct SimReference {
  std::vector<std::string> measurements;  // 48 bytes each (SHA-384 of the worker); at least one
  std::vector<std::string> tcb_status;    // empty: not checked
};

// Requirements on an NVIDIA GPU attesting beside the CPU TEE (CC mode is always required to be on).
struct GpuRequirements {
  std::string min_driver_version;  // "550.54.15": dot-separated decimal numbers
  std::string min_vbios_version;   // "96.00.74.00.1C": five dot-separated hex bytes
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

// The default policy of `triad contract draft` without --policy: hardware TEEs only, debug refused,
// no minimum TCB beyond what the attestation verifiers enforce, TDX only UpToDate; the kinds are
// those for which reference measurements are given (SNP MEASUREMENT, TDX MRTD; raw 48-byte values).
// Fails with kInvalidArgument when both lists are empty or a value is not 48 bytes.
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
// nothing else is checked); debug is off unless allowed; then the reference values of that kind. A
// policy with an nvidia_gpu section rejects every claim set until GPU claims exist (fail closed).
PolicyDecision Evaluate(const WorkerPolicy& policy, const Claims& claims);

// Compares dotted version strings component by component: decimal ("550.54.15") or, with `hex`,
// hexadecimal ("96.00.74.00.1C"). -1, 0, 1; a missing trailing component counts as 0.
// Fails with kInvalidArgument on a malformed version.
absl::StatusOr<int> CompareVersions(absl::string_view a, absl::string_view b, bool hex);

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_POLICY_H_
