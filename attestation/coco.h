// Confidential Containers (CoCo): evidence from the attestation agent (AA) of a Kata pod, and the
// init-data claims that go with it.
//
// Worker side (`triad worker run --tee coco`): inside a CoCo pod the TEE is the Kata VM, and a
// container asks the AA's REST front end for evidence:
//   GET http://127.0.0.1:8006/aa/evidence?runtime_data=<base64url, no padding>&encoding=base64
// (confidential-containers/guest-components api-server-rest). The AA hands the decoded bytes to the
// TEE as report data (padded to 64 bytes); Triad passes exactly the 64 bytes of the admission
// binding, so the hardware report carries the binding itself and the coordinator checks it as for
// any worker. The answer is the AA's JSON: for SEV-SNP {"attestation_report": {…}, "cert_chain":
// [{"cert_type": "VCEK", "data": [bytes]}…]} in the serde form of the `sev` crate (6.x), which is
// turned back into the 1184-byte ATTESTATION_REPORT (ABI Table 22/23; the report signature then
// proves the conversion exact); for TDX {"cc_eventlog": …, "quote": "<base64>"}. The evidence must
// carry the report data asked for, or it is refused. The init-data document the pod was started
// with (mounted into the worker's container) travels with the evidence (Evidence::initdata).
//
// GPUs (`--tee coco --device cuda`): the worker attests them through NVML inside the container and
// binds them as any worker does (gpu_collector.h CollectEvidence: GPU i over N_i, this attester
// asked for D2). The agent's NVIDIA attester (guest-components attestation-agent/attester/src/
// nvidia, GET /aa/additional-evidence) is not used: it reports every device over one nonce, the
// first 32 bytes of the runtime data, without UUIDs, and its answer is not bound into the CPU
// report, so it cannot carry binding.h's per-position nonces.
//
// Verifier side: AddCocoClaims binds that document to the hardware: its digest must be the TEE's
// HOST_DATA (SNP) or MRCONFIGID (TDX); then its agent policy says which worker image the pod runs.
#ifndef TRIAD_ATTESTATION_COCO_H_
#define TRIAD_ATTESTATION_COCO_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/attester.h"
#include "attestation/verifier.h"
#include "contracts/claims.h"

namespace triad::attestation {

inline constexpr size_t kMaxCocoResponse = 1 << 20;

// Converts the AA's evidence JSON into Evidence (tee, report, certs; no initdata). kInvalidArgument
// naming what is wrong for anything else ("coco: the attestation agent's answer is not JSON", "...
// attestation_report.measurement must be 48 bytes").
absl::StatusOr<Evidence> EvidenceFromCocoAgent(absl::string_view json);

// Reads and checks the init-data (it must pin the worker image: measure::ReadWorkerPin), then asks
// the agent once with an all-zero report data to learn the TEE and to check that what it returns
// matches the init-data (HOST_DATA / MRCONFIGID): a worker that would be refused stops here, with
// the reason. Each Attest then asks the agent for `report_data` and fails with kUnavailable when
// the agent is unreachable or times out, kInternal when it answers an HTTP error, kInvalidArgument
// when the answer is not evidence or carries other report data.
absl::StatusOr<std::unique_ptr<Attester>> NewCocoAttester(const CocoAttesterOptions& options = {});

// When `evidence.initdata` is set: checks that its digest is the one the verified `claims` report
// (SNP HOST_DATA, TDX MRCONFIGID), reads its agent policy, and fills claims->coco. kInvalidArgument
// with the reason otherwise; OK and no change when evidence.initdata is empty.
absl::Status AddCocoClaims(const Evidence& evidence, contracts::Claims* claims);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_COCO_H_
