// An input decrypted as it downloads: the worker never holds a whole ciphertext beside its
// plaintext, so decrypting a model takes the model's size in memory, not twice it.
#ifndef TRIAD_WORKER_INTERNAL_STREAMED_INPUT_H_
#define TRIAD_WORKER_INTERNAL_STREAMED_INPUT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/age.h"
#include "crypto/age_keys.h"
#include "crypto/secret.h"

namespace triad::worker::internal {

// The next chunk of the download, std::nullopt at its end, or the transport's error (returned
// unchanged by DecryptStreamed, so that a caller can retry a transient one).
using NextChunk = std::function<absl::StatusOr<std::optional<std::string>>()>;

struct StreamedInputOptions {
  std::string artifact_id;     // "sha256:<hex>" of the whole ciphertext: checked at the end
  uint64_t expected_size = 0;  // the registered ciphertext size; 0 when unknown
  uint64_t max_size = 0;       // refuse a longer stream; expected_size replaces it when known
  int threads = 0;             // decryption threads (crypto::age::DecryptOptions)
};

// Reads the original age header off the front of the stream (and sets it aside: the worker's key
// opens only `rewrapped`, the header the owner's keyholder re-wrapped for it), decrypts the payload
// under `rewrapped` chunk by chunk as it arrives, into one buffer sized from expected_size, and
// hashes every byte. Returns the plaintext only when the whole stream decrypted, was no longer than
// max_size, and hashes to artifact_id; otherwise the reason (the transport's status unchanged;
// kOutOfRange for a stream too long; kDataLoss for bytes that do not hash to artifact_id, also when
// they did not decrypt: the rest of the stream is then read to tell; else why they did not
// decrypt), and no plaintext (what was written is wiped).
absl::StatusOr<crypto::SecretBytes> DecryptStreamed(const NextChunk& next,
                                                    const crypto::age::X25519Identity& identity,
                                                    const crypto::age::Header& rewrapped,
                                                    const StreamedInputOptions& options);

// The plaintext size of an age payload (16-byte nonce, then 64 KiB chunks each with its 16-byte
// tag) of `payload_size` bytes; std::nullopt when no valid payload has that size.
std::optional<uint64_t> AgePlaintextSize(uint64_t payload_size);

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_STREAMED_INPUT_H_
