// Confidential Containers (CoCo) values every party computes offline: the init-data digest as the
// TEE reports it, and what the init-data's kata-agent policy lets the pod run.
//
// Init-data (confidential-containers/trustee kbs/docs/initdata.md, version 0.1.0) is a TOML
// document with `version`, `algorithm` (sha256, sha384, sha512) and a `[data]` table of strings
// (`policy.rego`, `aa.toml`, `cdh.toml`). Its digest is the hash, by `algorithm`, of the whole
// document's bytes as written; the host starts the TEE with that digest truncated or zero-padded to
// the field: SNP HOST_DATA (32 bytes), TDX MRCONFIGID (48 bytes). Kata takes the document from the
// pod annotation io.katacontainers.config.hypervisor.cc_init_data, base64 of its gzip.
//
// Triad reads only the subset of TOML that init-data needs (keys with string values, the `[data]`
// table, comments); anything else is refused, never guessed at.
#ifndef TRIAD_MEASURE_COCO_H_
#define TRIAD_MEASURE_COCO_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::measure {

inline constexpr size_t kMaxInitDataSize = 256 * 1024;
inline constexpr char kInitDataAnnotation[] = "io.katacontainers.config.hypervisor.cc_init_data";

struct InitData {
  std::string text;       // the document's bytes, exactly as hashed
  std::string version;    // "0.1.0"
  std::string algorithm;  // "sha256", "sha384" or "sha512"
  std::map<std::string, std::string> data;
};

// Parses an init-data document. kInvalidArgument, naming the line, for text that is not TOML Triad
// reads ("init-data: line 3: ..."), a missing or unknown version or algorithm, or a missing [data].
absl::StatusOr<InitData> ParseInitData(absl::string_view text);

// The digest of the document by its algorithm (32, 48 or 64 bytes).
std::string InitDataDigest(const InitData& init_data);
// The digest as the hardware field holds it: truncated, or padded with zero bytes, to `size`.
std::string FitDigest(absl::string_view digest, size_t size);
inline std::string SnpHostData(absl::string_view digest) { return FitDigest(digest, 32); }
inline std::string TdxMrConfigId(absl::string_view digest) { return FitDigest(digest, 48); }

// What the Triad worker agent policy pins (deploy/kubernetes/coco/agent-policy.rego): the worker
// image by digest, its exact argv, the environment variable names it may receive, and the mount
// destinations the runtime may set up.
struct WorkerPin {
  std::string image;         // "registry/name@sha256:<64 hex>"
  std::vector<std::string> args;
  std::vector<std::string> env_names;
  std::vector<std::string> mount_destinations;

  std::string image_digest() const;  // "sha256:<64 hex>"
};

// The fixed rules of the Triad worker agent policy (compiled in from agent-policy.rego).
absl::string_view AgentPolicyRules();

// The policy.rego for `pin`: the rules, then `triad_worker := {JSON}`.
std::string MakeAgentPolicy(const WorkerPin& pin);
// An init-data document (sha384, version 0.1.0) holding that policy.
std::string MakeInitData(const WorkerPin& pin);

// What the init-data's policy lets the pod run. kInvalidArgument with the reason when the document
// has no policy.rego ("init-data has no policy: ..."), when the policy is not the Triad worker agent
// policy ("... is not the Triad worker agent policy v1: ..."), or when it does not pin the worker
// image by digest ("... does not pin the worker image by digest: ...").
absl::StatusOr<WorkerPin> ReadWorkerPin(const InitData& init_data);

// A digest reference "name@sha256:<64 lower-case hex>"; kInvalidArgument otherwise.
absl::Status CheckImageReference(absl::string_view image);

// The pod annotation value: base64 of the gzip of the document (deterministic: no name, no time).
absl::StatusOr<std::string> InitDataAnnotation(absl::string_view text);
// And back; bounded by kMaxInitDataSize.
absl::StatusOr<std::string> DecodeInitDataAnnotation(absl::string_view annotation);

}  // namespace triad::measure

#endif  // TRIAD_MEASURE_COCO_H_
