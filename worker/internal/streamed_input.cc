#include "worker/internal/streamed_input.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/byte_stream.h"
#include "crypto/hash.h"

namespace triad::worker::internal {
namespace {

constexpr uint64_t kNonceSize = 16;
constexpr uint64_t kChunkSize = 64 * 1024;
constexpr uint64_t kTagSize = 16;
// An owner's header names one recipient (docs/custody.md); a few kilobytes at most. Anything that
// has not ended its header by then is not one.
constexpr size_t kMaxHeaderSize = 64 * 1024;

// The download as a sequential source: every byte hashed and counted against the limit; the
// transport's error kept apart so that the caller returns it unchanged.
class DownloadSource final : public crypto::ByteSource {
 public:
  DownloadSource(const NextChunk& next, const StreamedInputOptions& options)
      : next_(next), options_(options), hasher_(crypto::HashAlg::kSha256) {}

  // Bytes already read past the header, served before the rest of the stream.
  void PushFront(std::string bytes) {
    pending_ = std::move(bytes);
    offset_ = 0;
  }

  // Appends the stream's next chunk to `out`; false at its end.
  absl::StatusOr<bool> More(std::string* out) {
    if (!transport_.ok()) return transport_;
    if (!too_long_.ok()) return too_long_;
    if (ended_) return false;  // the stream is not asked again once it ended
    absl::StatusOr<std::optional<std::string>> chunk = next_();
    if (!chunk.ok()) {
      transport_ = chunk.status();
      return chunk.status();
    }
    if (!chunk->has_value()) {
      ended_ = true;
      return false;
    }
    const std::string& c = **chunk;
    if (c.size() > options_.max_size - total_) {
      too_long_ = absl::OutOfRangeError(
          absl::StrCat("input ", options_.artifact_id, " is longer than ", options_.max_size,
                       " bytes", options_.expected_size > 0 ? " (its registered size)" : ""));
      return too_long_;
    }
    total_ += c.size();
    hasher_.Update(c);
    out->append(c);
    return true;
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (offset_ == pending_.size()) {
      pending_.clear();
      offset_ = 0;
      TRIAD_ASSIGN_OR_RETURN(bool more, More(&pending_));
      if (!more) return 0;
    }
    size_t k = std::min(n, pending_.size() - offset_);
    std::memcpy(buf, pending_.data() + offset_, k);
    offset_ += k;
    return k;
  }

  // Reads the rest of the stream (hashed, bounded, discarded); its end or its error.
  absl::Status Drain() {
    std::string scratch;
    while (true) {
      scratch.clear();
      TRIAD_ASSIGN_OR_RETURN(bool more, More(&scratch));
      if (!more) return absl::OkStatus();
    }
  }

  // The error that ended the stream, if it was the transport's or the length's.
  std::optional<absl::Status> StreamError() const {
    if (!transport_.ok()) return transport_;
    if (!too_long_.ok()) return too_long_;
    return std::nullopt;
  }
  uint64_t total() const { return total_; }
  std::string Digest() { return hasher_.Finish(); }

 private:
  const NextChunk& next_;
  const StreamedInputOptions& options_;
  crypto::Hasher hasher_;
  std::string pending_;
  size_t offset_ = 0;
  uint64_t total_ = 0;
  absl::Status transport_;
  absl::Status too_long_;
  bool ended_ = false;
};

// Plaintext into one buffer: sized once when the plaintext's size is known (no reallocation that
// would hold it twice), grown otherwise.
class SecretSink final : public crypto::ByteSink {
 public:
  explicit SecretSink(std::optional<uint64_t> size) {
    if (size) {
      out_ = crypto::SecretBytes::Uninitialized(static_cast<size_t>(*size));
      fixed_ = true;
    }
  }
  absl::Status Write(absl::string_view data) override {
    if (used_ + data.size() > out_.size()) {
      if (fixed_) {
        return absl::DataLossError(
            "the input decrypts to more bytes than its registered size allows");
      }
      out_.resize(std::max(out_.size() * 2, used_ + data.size()));
    }
    std::memcpy(out_.data() + used_, data.data(), data.size());
    used_ += data.size();
    return absl::OkStatus();
  }
  absl::StatusOr<crypto::SecretBytes> Finish() && {
    if (fixed_ && used_ != out_.size()) {
      return absl::DataLossError(absl::StrCat("the input decrypts to ", used_, " bytes, not the ",
                                              out_.size(), " its registered size implies"));
    }
    if (!fixed_) {
      crypto::SecretBytes exact = crypto::SecretBytes::Uninitialized(used_);
      if (used_ > 0) std::memcpy(exact.data(), out_.data(), used_);
      return exact;
    }
    return std::move(out_);
  }

 private:
  crypto::SecretBytes out_;
  size_t used_ = 0;
  bool fixed_ = false;
};

}  // namespace

std::optional<uint64_t> AgePlaintextSize(uint64_t payload_size) {
  if (payload_size < kNonceSize + kTagSize) return std::nullopt;
  const uint64_t body = payload_size - kNonceSize;
  const uint64_t enc = kChunkSize + kTagSize;
  const uint64_t chunks = (body + enc - 1) / enc;
  const uint64_t last = body - (chunks - 1) * enc;
  if (last < kTagSize || (last == kTagSize && chunks > 1)) return std::nullopt;
  return body - chunks * kTagSize;
}

absl::StatusOr<crypto::SecretBytes> DecryptStreamed(const NextChunk& next,
                                                    const crypto::age::X25519Identity& identity,
                                                    const crypto::age::Header& rewrapped,
                                                    const StreamedInputOptions& options) {
  StreamedInputOptions o = options;
  if (o.expected_size > 0) o.max_size = o.expected_size;  // the registered size bounds it exactly
  if (o.max_size == 0) return absl::InvalidArgumentError("streamed input: no size bound");
  DownloadSource source(next, o);
  const std::string what = absl::StrCat("input ", o.artifact_id);

  // The original header: up to its MAC line ("--- " … "\n"), which ends every age header.
  std::string front;
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    // The first "\n--- " is the MAC line: stanza lines start with "-> " or are base64.
    size_t mac = front.find("\n--- ");
    if (mac != std::string::npos && mac < kMaxHeaderSize) {
      size_t nl = front.find('\n', mac + 1);
      if (nl != std::string::npos) header_end = nl + 1;
    }
    if (header_end != std::string::npos) break;
    if (front.size() > kMaxHeaderSize) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": no age header in its first ", kMaxHeaderSize, " bytes"));
    }
    absl::StatusOr<bool> more = source.More(&front);
    if (!more.ok()) return more.status();
    if (!*more) {
      return absl::DataLossError(absl::StrCat(what, ": the stream ended inside its age header (",
                                              front.size(), " bytes)"));
    }
  }
  TRIAD_ASSIGN_OR_RETURN(
      crypto::age::Header original,
      base::Annotate(crypto::age::Header::Parse(absl::string_view(front).substr(0, header_end)),
                     what));
  source.PushFront(front.substr(original.size()));

  std::optional<uint64_t> plaintext_size;
  if (o.expected_size > original.size()) {
    plaintext_size = AgePlaintextSize(o.expected_size - original.size());
  }
  SecretSink sink(plaintext_size);
  crypto::age::DecryptOptions dopts;
  dopts.threads = o.threads;
  absl::Status st = crypto::age::Decrypt({&identity, 1}, rewrapped, source, sink, dopts);
  if (std::optional<absl::Status> stream = source.StreamError()) return *stream;
  if (!st.ok()) {
    // Bytes that are not the registered file are the more precise reason (the coordinator served
    // other bytes than the owner registered): the rest of the stream is read to tell.
    absl::Status drained = source.Drain();
    if (std::optional<absl::Status> stream = source.StreamError()) return *stream;
    if (drained.ok()) {
      const std::string got = absl::StrCat("sha256:", base::HexEncode(source.Digest()));
      if (got != o.artifact_id) {
        return absl::DataLossError(absl::StrCat(what, " digest mismatch: got ", got));
      }
    }
    return base::Annotate(st, absl::StrCat("decrypting ", what));
  }
  // The payload authenticated under the file key; the bytes are the registered ones only if they
  // hash to the artifact's id (the coordinator could serve another file under the same key).
  const std::string got = absl::StrCat("sha256:", base::HexEncode(source.Digest()));
  if (got != o.artifact_id) {
    return absl::DataLossError(absl::StrCat(what, " digest mismatch: got ", got));
  }
  if (o.expected_size > 0 && source.total() != o.expected_size) {
    return absl::DataLossError(
        absl::StrCat(what, " is ", source.total(), " bytes, not its registered ", o.expected_size));
  }
  return base::Annotate(std::move(sink).Finish(), absl::StrCat("decrypting ", what));
}

}  // namespace triad::worker::internal
