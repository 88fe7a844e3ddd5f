// The model owner's archive (E2E-SPEC step 2: a tar of config.json, the *.safetensors shards,
// model.safetensors.index.json when sharded, and tokenizer.json), read in place from the decrypted
// plaintext: the trainer gets views into the caller's SecretBytes, nothing is copied.
#ifndef TRIAD_WORKER_INTERNAL_MODEL_BUNDLE_H_
#define TRIAD_WORKER_INTERNAL_MODEL_BUNDLE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trainer/trainer.h"

namespace triad::worker::internal {

// Reads the archive's top-level regular files ("name" or "./name"); members in subdirectories and
// other top-level files (generation_config.json, README.md, …) are ignored. The views in the result
// point into `archive`, which must outlive them. Fails with kInvalidArgument ("model archive: …")
// on a malformed tar, a file given twice, or a missing config.json, tokenizer.json or
// *.safetensors.
absl::StatusOr<trainer::ModelFiles> ModelFilesFromTar(absl::string_view archive);

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_MODEL_BUNDLE_H_
