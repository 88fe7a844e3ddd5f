// Claims: what verified attestation evidence says about a worker, normalized across TEE kinds.
//
// attestation/ produces Claims only from evidence whose signatures, certificate chains and collateral
// verified; contracts/ evaluates the worker policy on them. Byte fields hold raw bytes (hex them for
// display); their sizes are fixed by the TEE kind and checked by the producer.
#ifndef TRIAD_CONTRACTS_CLAIMS_H_
#define TRIAD_CONTRACTS_CLAIMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace triad::contracts {

// "sev-snp", "tdx", "sim", "nvidia-gpu".
inline constexpr char kTeeSevSnp[] = "sev-snp";
inline constexpr char kTeeTdx[] = "tdx";
inline constexpr char kTeeSim[] = "sim";
inline constexpr char kTeeNvidiaGpu[] = "nvidia-gpu";

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
  std::string tee;             // kTeeSevSnp, kTeeTdx, kTeeSim
  std::string report_data;     // 64 bytes, as the worker asked for it
  // The launch measurement: SNP `measurement`, TDX `MRTD`, sim SHA-384 of the worker executable.
  std::string measurement;
  bool debug = false;          // SNP policy DEBUG bit; TDX td_attributes DEBUG bit; sim flag
  // Intel's TCB status name for TDX ("UpToDate", "OutOfDate", "ConfigurationNeeded",
  // "SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDateConfigurationNeeded");
  // for SNP "UpToDate" once the VCEK's TCB matches the report (SNP has no status list; minimum SVNs
  // are checked by the policy); for sim whatever the sim evidence says.
  std::string tcb_status;
  std::vector<std::string> advisory_ids;
  // SNP chip_id (64 bytes) or TDX FMSPC-qualified platform id; may be empty when masked.
  std::string platform_id;
  std::optional<SnpClaims> snp;
  std::optional<TdxClaims> tdx;
  std::optional<SimClaims> sim;
  std::optional<CocoClaims> coco;  // set for evidence that came through a CoCo attestation agent

  bool simulated() const { return tee == kTeeSim; }

  // JSON with byte fields in lower-case hex; stable key order (for records and --json output).
  nlohmann::ordered_json ToJson() const;
  static absl::StatusOr<Claims> FromJson(const nlohmann::json& j);
};

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_CLAIMS_H_
