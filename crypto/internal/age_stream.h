// The age payload (age spec, "Payload"): a 16-byte nonce, then the plaintext in 64 KiB chunks, each
// sealed with ChaCha20-Poly1305 under payload key = HKDF-SHA-256(file key, salt = nonce,
// info = "payload"), nonce = 11-byte big-endian chunk counter || final flag. The final chunk is
// shorter than 64 KiB or exactly 64 KiB; it is empty only when the whole plaintext is.
//
// Decryption works on segments of kChunksPerSegment chunks, several at a time on worker threads;
// chunks never depend on each other.
#ifndef TRIAD_CRYPTO_INTERNAL_AGE_STREAM_H_
#define TRIAD_CRYPTO_INTERNAL_AGE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/age.h"
#include "crypto/byte_stream.h"
#include "crypto/internal/age_format.h"
#include "crypto/internal/age_primitives.h"
#include "crypto/secret.h"

namespace triad::crypto::age::internal {

inline constexpr size_t kPayloadNonceSize = 16;
inline constexpr size_t kEncChunkSize = kChunkSize + kTagSize;
// 4 chunks = 256 KiB of plaintext: a segment's ciphertext and plaintext buffers stay in a core's L2
// cache between reading, decrypting and writing, and threads still meet only once per segment.
inline constexpr size_t kChunksPerSegment = 4;

absl::StatusOr<SecretBytes> PayloadKey(const SecretBytes& file_key, absl::string_view nonce);

// Where the chunks come from (everything after the payload nonce).
struct ChunkInput {
  enum class Kind { kMemory, kRandomAccess, kSequential };
  Kind kind = Kind::kMemory;
  absl::string_view memory;                 // kMemory
  const ByteSource* source = nullptr;       // kRandomAccess: the chunks are source[offset, offset+size)
  uint64_t offset = 0;
  uint64_t size = 0;
  const char* direct = nullptr;             // kRandomAccess: the same bytes in memory, if the source
                                            // has them (ByteSource::View), read in place

  BufferedInput* sequential = nullptr;      // kSequential: read to its end

  static ChunkInput Memory(absl::string_view chunks);
  // The chunk bytes at `offset` when they can be read in place (kMemory, or `direct`), else null.
  const uint8_t* InPlace(uint64_t offset) const;
  // From a reader positioned just after the nonce: random access when its source has it.
  static ChunkInput After(BufferedInput& in);
};

// Decrypts the chunks to `out`, in order, on `threads` threads (>= 1). On failure, `out` holds the
// plaintext of exactly the chunks before the first failing one.
absl::Status DecryptChunksToSink(const SecretBytes& payload_key, const ChunkInput& in, ByteSink& out,
                                 int threads);

// Decrypts the chunks into one buffer, on `threads` threads; `in` is kMemory or kRandomAccess.
// Returns all the plaintext or an error and nothing.
absl::StatusOr<SecretBytes> DecryptChunksToSecret(const SecretBytes& payload_key, const ChunkInput& in,
                                                  int threads);

// Writes the payload of `plaintext`, held whole in memory: the nonce, then the chunks, sealed on
// `threads` threads and written in order. The bytes equal PayloadWriter's for the same key and nonce.
absl::Status SealPayload(const SecretBytes& file_key, absl::string_view nonce,
                         absl::string_view plaintext, ByteSink& out, int threads);

// Seals chunks as plaintext arrives; keeps the last full chunk back until it knows whether it is the
// final one. Writes ciphertext to `out` in batches.
class PayloadWriter {
 public:
  // Writes the nonce and prepares the chunk cipher.
  static absl::StatusOr<std::unique_ptr<PayloadWriter>> Create(const SecretBytes& file_key,
                                                               absl::string_view nonce, ByteSink& out);
  absl::Status Write(absl::string_view plaintext);
  absl::Status Close();

 private:
  PayloadWriter(ChunkCipher cipher, ByteSink& out);
  absl::Status SealChunk(const uint8_t* data, size_t len, bool final);
  absl::Status FlushOut();

  ChunkCipher cipher_;
  ByteSink& out_;
  uint64_t counter_ = 0;
  SecretBytes pending_;       // plaintext not sealed yet, at most one chunk
  size_t pending_len_ = 0;
  std::string out_buf_;       // sealed chunks not written yet
  size_t out_len_ = 0;
  bool closed_ = false;
};

// The threads to use for `requested` (0: one per hardware thread).
int ResolveThreads(int requested);

}  // namespace triad::crypto::age::internal

#endif  // TRIAD_CRYPTO_INTERNAL_AGE_STREAM_H_
