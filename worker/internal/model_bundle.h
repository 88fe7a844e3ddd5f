// The archives a worker handles in memory, with base/tar.h. The model owner's archive (E2E-SPEC step 2: a tar of config.json, the *.safetensors shards,
// model.safetensors.index.json when sharded, and tokenizer.json), read in place from the decrypted
// plaintext: the trainer gets views into the caller's SecretBytes, nothing is copied. The adapter
// archive the worker seals for the owners (step 7) is written straight into SecretBytes.
#ifndef TRIAD_WORKER_INTERNAL_MODEL_BUNDLE_H_
#define TRIAD_WORKER_INTERNAL_MODEL_BUNDLE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret.h"
#include "absl/strings/string_view.h"
#include "trainer/trainer.h"

namespace triad::worker::internal {

// Reads the archive's top-level regular files ("name" or "./name"); members in subdirectories and
// other top-level files (generation_config.json, README.md, …) are ignored. The views in the result
// point into `archive`, which must outlive them. Fails with kInvalidArgument ("model archive: …")
// on a malformed tar, a file given twice, or a missing config.json, tokenizer.json or
// *.safetensors.
absl::StatusOr<trainer::ModelFiles> ModelFilesFromTar(absl::string_view archive);

// A ustar archive of the adapter's files followed by training_report.json, in that order, written
// into SecretBytes (reserved up front, so it never reallocates and leaves no plaintext behind).
absl::StatusOr<crypto::SecretBytes> PackAdapter(const std::vector<trainer::OutputFile>& adapter,
                                                absl::string_view training_report_json);

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_MODEL_BUNDLE_H_
