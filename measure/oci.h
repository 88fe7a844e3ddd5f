// The digest of an OCI image, checked rather than read: `triad measure image DIR` walks an OCI image
// layout (OCI Image Format Specification v1.1, "image-layout.md": oci-layout, index.json,
// blobs/sha256/…) from its index to the one image manifest, its config and every layer, and checks
// that each blob's SHA-256 and size are what the document that names it says. The image digest is
// the SHA-256 of the manifest's bytes: what `image: NAME@sha256:…` pins and what the registry serves.
#ifndef TRIAD_MEASURE_OCI_H_
#define TRIAD_MEASURE_OCI_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace triad::measure {

struct OciImage {
  std::string digest;         // "sha256:<hex>" of the manifest
  std::string config_digest;  // "sha256:<hex>"
  std::vector<std::string> layer_digests;
  uint64_t total_size = 0;    // manifest + config + layers, bytes
};

// kInvalidArgument naming the file and the check for a layout that is not one image, a blob
// missing, a digest or size that does not match, or a document that is not the OCI form.
absl::StatusOr<OciImage> MeasureOciLayout(const std::string& dir);

}  // namespace triad::measure

#endif  // TRIAD_MEASURE_OCI_H_
