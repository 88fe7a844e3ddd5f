// Attesters: the worker side. An attester asks its TEE for evidence over 64 bytes of report data
// (normally attestation/binding.h's ExpectedReportData) and returns Evidence for the verifiers.
//
//   - configfs-tsm (Linux >= 6.7, Documentation/ABI/testing/configfs-tsm): for each request a
//   report
//     entry is created under the tsm/report directory; `inblob` gets the report data, `provider`
//     says which TEE answers ("sev_guest" -> sev-snp, "tdx_guest" -> tdx), `outblob` is the SNP
//     ATTESTATION_REPORT or TDX quote, and for SNP `auxblob` holds the certificate table
//     (VCEK/VLEK, ASK, ARK) from the host. `generation` is read before the write and after the
//     reads: it must have advanced by exactly our one write, or another writer raced us and the
//     request fails. The entry is removed afterwards.
//   - sim: signs sim evidence (attestation/sim.h) with a simulation key; measurement = SHA-384 of
//   the
//     worker executable.
//
// `--tee auto` (NewAttester("auto")) picks configfs-tsm when a provider answers and otherwise
// fails; it never falls back to sim: sim must be asked for by name.
#ifndef TRIAD_ATTESTATION_ATTESTER_H_
#define TRIAD_ATTESTATION_ATTESTER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "crypto/ed25519.h"

namespace triad::attestation {

class Attester {
 public:
  virtual ~Attester() = default;
  // "sev-snp", "tdx" or "sim": the Evidence::tee of what Attest returns.
  virtual const std::string& tee() const = 0;
  // Evidence over exactly 64 bytes of report data (kInvalidArgument otherwise). Thread-safe.
  virtual absl::StatusOr<Evidence> Attest(absl::string_view report_data) const = 0;
};

// ---- configfs-tsm
// ---------------------------------------------------------------------------------

inline constexpr char kConfigfsTsmReportDir[] = "/sys/kernel/config/tsm/report";
// The kernel's TSM_OUTBLOB_MAX is 32 KiB; an SNP certificate table is a few KiB.
inline constexpr size_t kMaxOutblobSize = 64 * 1024;
inline constexpr size_t kMaxAuxblobSize = 1 << 20;

// The file operations the configfs-tsm attester makes, so tests can stand in for the kernel (in
// configfs, mkdir creates the entry's attribute files and rmdir removes them; writes to `inblob`
// bump `generation`). The real one is plain POSIX.
class TsmFs {
 public:
  virtual ~TsmFs() = default;
  virtual bool IsDirectory(const std::string& path) const = 0;
  virtual absl::Status MakeDirectory(const std::string& path) const = 0;
  virtual absl::Status RemoveDirectory(const std::string& path) const = 0;
  // Reads a whole attribute; kNotFound when absent; kResourceExhausted above `max_bytes`.
  virtual absl::StatusOr<std::string> Read(const std::string& path, size_t max_bytes) const = 0;
  // One open/write/close of an existing attribute (configfs commits binary attributes on close).
  virtual absl::Status Write(const std::string& path, absl::string_view data) const = 0;
};

// The real filesystem. Lives for the whole program.
const TsmFs& PosixTsmFs();

struct ConfigfsTsmOptions {
  std::string report_dir = kConfigfsTsmReportDir;
  const TsmFs* fs = nullptr;  // null: PosixTsmFs(); otherwise must outlive the attester
};

// Probes `report_dir` (creates an entry, reads `provider`, removes it) and returns an attester for
// that provider. Fails with kNotFound when the directory is missing ("no configfs-tsm attestation
// provider: ... does not exist"), kFailedPrecondition for a provider Triad does not know.
absl::StatusOr<std::unique_ptr<Attester>> NewConfigfsTsmAttester(
    const ConfigfsTsmOptions& options = {});

// ---- sim
// --------------------------------------------------------------------------------------------

struct SimAttesterOptions {
  std::string executable = "/proc/self/exe";  // measured once, at construction
  std::string tcb_status = "UpToDate";
  bool debug = false;
};

absl::StatusOr<std::unique_ptr<Attester>> NewSimAttester(crypto::Ed25519PrivateKey key,
                                                         const SimAttesterOptions& options = {});

// ---- coco (attestation/coco.h)
// -------------------------------------------------------------------------------

inline constexpr char kTeeCoco[] = "coco";  // the --tee name; its evidence says sev-snp or tdx
inline constexpr char kDefaultCocoAgent[] = "http://127.0.0.1:8006";
inline constexpr char kDefaultCocoInitData[] = "/etc/triad/coco/initdata.toml";

struct CocoAttesterOptions {
  std::string agent = kDefaultCocoAgent;  // http://HOST:PORT, HOST a loopback address
  std::string initdata_file = kDefaultCocoInitData;
  absl::Duration timeout = absl::Seconds(60);  // per request: connect, send, read
};

// ---- --tee
// ------------------------------------------------------------------------------------------

struct AttesterConfig {
  ConfigfsTsmOptions tsm;
  std::string sim_key_file;  // Ed25519 PKCS#8 PEM (mode 0600), needed for "sim"
  SimAttesterOptions sim;
  CocoAttesterOptions coco;  // for "coco"
};

// `tee` is "auto", "sev-snp", "tdx", "sim" or "coco" (the CoCo attestation agent: NewCocoAttester
// with config.coco; never chosen by "auto"). "auto": configfs-tsm, failing with kNotFound
// ("--tee auto: no TEE attestation provider ... use --tee sim for development") when there is none.
// "sev-snp" and "tdx": configfs-tsm, failing unless its provider is that TEE. "sim": the sim
// attester with the key in config.sim_key_file. kInvalidArgument for any other value.
absl::StatusOr<std::unique_ptr<Attester>> NewAttester(absl::string_view tee,
                                                      const AttesterConfig& config);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_ATTESTER_H_
