#include "crypto/internal/age_stream.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace triad::crypto::age::internal {
namespace {

constexpr size_t kSegmentCiphertext = kChunksPerSegment * kEncChunkSize;
constexpr size_t kSegmentPlaintext = kChunksPerSegment * kChunkSize;

absl::Status PayloadError(absl::string_view message) {
  return AgeError(ErrorKind::kPayload, message);
}

absl::Status NoChunksError() {
  return PayloadError("no chunks after the nonce: the file is truncated");
}

absl::Status ChangedError(absl::string_view how) {
  return absl::AbortedError(absl::StrCat("age: the input ", how, " while it was being decrypted"));
}

struct SegmentResult {
  size_t plaintext = 0;  // bytes from the chunks that opened, in order, before any failure
  absl::Status status;
};

// Opens the chunks of one segment: `ct_len` bytes of ciphertext whose first chunk has counter
// `first_chunk`; the input ends with this segment iff `at_end`. Stops at the first chunk that fails.
//
// Chunk boundaries come from the size alone (every chunk but the last is full), so only a full
// chunk's final flag is in doubt. A full chunk that more data follows must open as non-final, the
// last chunk as final; when it does not, the other flag is tried so that the error can say what
// happened (a final chunk with data after it; a file cut at a chunk boundary), and so that the
// plaintext released before the error is exactly what a reader that takes one chunk at a time, as
// the reference implementation does, would have released (the C2SP test kit checks it).
SegmentResult OpenSegment(ChunkCipher& cipher, uint64_t first_chunk, const uint8_t* ct, size_t ct_len,
                          bool at_end, uint8_t* pt) {
  SegmentResult r;
  size_t off = 0;
  uint64_t chunk = first_chunk;
  while (off < ct_len) {
    const size_t len = std::min(kEncChunkSize, ct_len - off);
    const bool last = at_end && off + len == ct_len;
    const uint8_t* in = ct + off;
    uint8_t* out = pt + r.plaintext;
    if (len < kTagSize) {
      r.status = PayloadError(absl::StrCat("chunk ", chunk, " is truncated: ", len,
                                           " bytes, shorter than its 16-byte tag"));
      return r;
    }
    // age spec, "Payload": the final chunk "MUST NOT be empty unless the whole payload is empty".
    if (last && len == kTagSize && chunk > 0) {
      r.status = PayloadError(absl::StrCat("final chunk ", chunk, " is empty; only an empty file ",
                                           "may end in an empty chunk"));
      return r;
    }
    if (cipher.Open(chunk, last, in, len, out)) {
      r.plaintext += len - kTagSize;
      off += len;
      ++chunk;
      continue;
    }
    if (len == kEncChunkSize && cipher.Open(chunk, !last, in, len, out)) {
      r.plaintext += len - kTagSize;
      r.status = PayloadError(
          last ? absl::StrCat("the file ends after chunk ", chunk,
                              ", which is not the final chunk: the file is truncated")
               : absl::StrCat("chunk ", chunk, " is the final chunk, but more data follows it"));
      return r;
    }
    r.status = PayloadError(
        last ? absl::StrCat("chunk ", chunk, " does not authenticate as the final chunk: the file is ",
                            "truncated, extended or altered")
             : absl::StrCat("chunk ", chunk, " does not authenticate: the file is altered"));
    return r;
  }
  return r;
}

uint64_t SegmentCount(uint64_t chunk_bytes) {
  uint64_t chunks = (chunk_bytes + kEncChunkSize - 1) / kEncChunkSize;
  return (chunks + kChunksPerSegment - 1) / kChunksPerSegment;
}

// The decrypting threads' chunk ciphers, made before any thread starts.
absl::StatusOr<std::vector<ChunkCipher>> MakeCiphers(const SecretBytes& key, int n) {
  std::vector<ChunkCipher> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    TRIAD_ASSIGN_OR_RETURN(ChunkCipher c, ChunkCipher::Create(key, ChunkCipher::Direction::kOpen));
    out.push_back(std::move(c));
  }
  return out;
}

// A source with a known size must not have grown by the end (the extra bytes would otherwise be
// silently ignored).
absl::Status CheckNotGrown(const ChunkInput& in) {
  if (in.kind != ChunkInput::Kind::kRandomAccess) return absl::OkStatus();
  char byte;
  TRIAD_ASSIGN_OR_RETURN(size_t got, in.source->ReadAt(in.offset + in.size, &byte, 1));
  return got == 0 ? absl::OkStatus() : ChangedError("grew");
}

// Decryption to a sink: segments go round a ring of slots. Worker threads claim segments in order,
// (read them, when the input has random access,) and decrypt them; the calling thread (reads them,
// when the input is sequential, and) writes each slot's plaintext in order, then frees the slot.
class SinkPipeline {
 public:
  SinkPipeline(const SecretBytes& key, const ChunkInput& in, ByteSink& out, int threads)
      : key_(key), in_(in), out_(out), threads_(std::max(1, threads)) {}

  absl::Status Run();

 private:
  enum class SlotState { kFree, kFilled, kBusy, kDone };
  struct Slot {
    SlotState state = SlotState::kFree;
    std::vector<uint8_t> ct;           // the ciphertext, unless the input is in memory
    const uint8_t* ct_data = nullptr;
    size_t ct_len = 0;
    bool final = false;
    SecretBytes pt;
    SegmentResult result;
  };

  bool random() const { return in_.kind != ChunkInput::Kind::kSequential; }
  // Sets the slot's ciphertext for segment `s` (random-access and memory inputs).
  absl::Status Locate(Slot& slot, uint64_t s);
  // Reads segment `s` into the slot (sequential inputs).
  absl::Status ReadSequential(Slot& slot, uint64_t s);
  void Decrypt(Slot& slot, uint64_t s, ChunkCipher& cipher);
  absl::Status WriteOut(const Slot& slot);
  void Worker(ChunkCipher& cipher);
  absl::Status RunSerial(ChunkCipher& cipher);
  absl::Status RunParallel(std::vector<ChunkCipher>& ciphers);
  bool CanClaim() const {
    return random() ? next_claim_ < segments_ && next_claim_ < next_write_ + slots_.size()
                    : next_claim_ < filled_;
  }

  const SecretBytes& key_;
  const ChunkInput& in_;
  ByteSink& out_;
  int threads_;
  uint64_t total_ = 0;     // random access: ciphertext bytes of the chunks
  uint64_t segments_ = 0;  // random access: their segments

  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // workers wait here for segments to claim
  std::condition_variable done_cv_;  // the calling thread waits here for decrypted slots
  uint64_t next_claim_ = 0;
  uint64_t next_write_ = 0;
  uint64_t filled_ = 0;      // sequential: segments read so far
  bool input_done_ = false;  // sequential: the final segment has been read
  bool stop_ = false;
};

absl::Status SinkPipeline::Locate(Slot& slot, uint64_t s) {
  uint64_t off = s * kSegmentCiphertext;
  slot.ct_len = static_cast<size_t>(std::min<uint64_t>(kSegmentCiphertext, total_ - off));
  slot.final = s + 1 == segments_;
  if (const uint8_t* direct = in_.InPlace(off)) {
    slot.ct_data = direct;
    return absl::OkStatus();
  }
  TRIAD_ASSIGN_OR_RETURN(size_t got, in_.source->ReadAt(in_.offset + off,
                                                        reinterpret_cast<char*>(slot.ct.data()),
                                                        slot.ct_len));
  if (got != slot.ct_len) return ChangedError("shrank");
  slot.ct_data = slot.ct.data();
  return absl::OkStatus();
}

absl::Status SinkPipeline::ReadSequential(Slot& slot, uint64_t s) {
  BufferedInput& in = *in_.sequential;
  TRIAD_ASSIGN_OR_RETURN(size_t got, in.ReadFull(reinterpret_cast<char*>(slot.ct.data()),
                                                 kSegmentCiphertext));
  if (got == 0 && s == 0) return NoChunksError();
  slot.ct_data = slot.ct.data();
  slot.ct_len = got;
  if (got < kSegmentCiphertext) {
    slot.final = true;
  } else {
    TRIAD_ASSIGN_OR_RETURN(slot.final, in.AtEnd());
  }
  return absl::OkStatus();
}

void SinkPipeline::Decrypt(Slot& slot, uint64_t s, ChunkCipher& cipher) {
  slot.result = OpenSegment(cipher, s * kChunksPerSegment, slot.ct_data, slot.ct_len, slot.final,
                            slot.pt.data());
}

absl::Status SinkPipeline::WriteOut(const Slot& slot) {
  if (slot.result.plaintext > 0) {
    TRIAD_RETURN_IF_ERROR(out_.Write(slot.pt.view().substr(0, slot.result.plaintext)));
  }
  return slot.result.status;
}

absl::Status SinkPipeline::Run() {
  if (random()) {
    total_ = in_.kind == ChunkInput::Kind::kMemory ? in_.memory.size() : in_.size;
    if (total_ == 0) return NoChunksError();
    segments_ = SegmentCount(total_);
  }
  int workers = threads_;
  if (random() && segments_ < static_cast<uint64_t>(workers)) workers = static_cast<int>(segments_);
  size_t slots = workers <= 1 ? 1 : 2 * static_cast<size_t>(workers);
  slots_.resize(slots);
  // Small inputs get small buffers. The plaintext buffers are written by decryption before anything
  // of them is read, so they are not zero-filled first (they are still wiped when released).
  const size_t ct_size = random() ? static_cast<size_t>(std::min<uint64_t>(kSegmentCiphertext, total_))
                                  : kSegmentCiphertext;
  for (Slot& slot : slots_) {
    slot.pt = SecretBytes::Uninitialized(std::min(kSegmentPlaintext, ct_size));
    if (in_.InPlace(0) == nullptr) slot.ct.resize(ct_size);
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<ChunkCipher> ciphers, MakeCiphers(key_, std::max(1, workers)));
  TRIAD_RETURN_IF_ERROR(workers <= 1 ? RunSerial(ciphers[0]) : RunParallel(ciphers));
  return CheckNotGrown(in_);
}

absl::Status SinkPipeline::RunSerial(ChunkCipher& cipher) {
  Slot& slot = slots_[0];
  for (uint64_t s = 0;; ++s) {
    if (random()) {
      if (s == segments_) break;
      TRIAD_RETURN_IF_ERROR(Locate(slot, s));
    } else {
      TRIAD_RETURN_IF_ERROR(ReadSequential(slot, s));
    }
    Decrypt(slot, s, cipher);
    TRIAD_RETURN_IF_ERROR(WriteOut(slot));
    if (slot.final) break;
  }
  return absl::OkStatus();
}

void SinkPipeline::Worker(ChunkCipher& cipher) {
  while (true) {
    uint64_t s;
    Slot* slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || CanClaim(); });
      if (stop_) return;
      s = next_claim_++;
      slot = &slots_[s % slots_.size()];
      slot->state = SlotState::kBusy;
    }
    if (random()) {
      absl::Status st = Locate(*slot, s);
      if (st.ok()) {
        Decrypt(*slot, s, cipher);
      } else {
        slot->result = SegmentResult{0, std::move(st)};
      }
    } else {
      Decrypt(*slot, s, cipher);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      slot->state = SlotState::kDone;
    }
    done_cv_.notify_one();
  }
}

absl::Status SinkPipeline::RunParallel(std::vector<ChunkCipher>& ciphers) {
  std::vector<std::thread> threads;
  threads.reserve(ciphers.size());
  for (ChunkCipher& c : ciphers) threads.emplace_back([this, &c] { Worker(c); });
  struct Joiner {
    SinkPipeline* p;
    std::vector<std::thread>* threads;
    ~Joiner() {
      {
        std::lock_guard<std::mutex> lock(p->mu_);
        p->stop_ = true;
      }
      p->work_cv_.notify_all();
      for (std::thread& t : *threads) t.join();
    }
  } joiner{this, &threads};

  const size_t ring = slots_.size();
  // A read error ends the input; the segments before it are still written (or fail) first, so that
  // errors come in file order whatever the threads do.
  absl::Status read_error;
  while (true) {
    if (!random()) {
      // Keep every free slot filled, so the workers never wait for input.
      while (!input_done_ && filled_ < next_write_ + ring) {
        Slot& slot = slots_[filled_ % ring];  // free: written out, and no worker holds it
        read_error = ReadSequential(slot, filled_);
        if (!read_error.ok()) {
          input_done_ = true;
          break;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          slot.state = SlotState::kFilled;
          ++filled_;
          input_done_ = slot.final;
        }
        work_cv_.notify_one();
      }
      if (input_done_ && next_write_ == filled_) return read_error;
    } else if (next_write_ == segments_) {
      break;
    }
    Slot& slot = slots_[next_write_ % ring];
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [&slot] { return slot.state == SlotState::kDone; });
    }
    TRIAD_RETURN_IF_ERROR(WriteOut(slot));
    {
      std::lock_guard<std::mutex> lock(mu_);
      slot.state = SlotState::kFree;
      ++next_write_;
    }
    work_cv_.notify_all();
  }
  return absl::OkStatus();
}

}  // namespace

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

absl::StatusOr<SecretBytes> PayloadKey(const SecretBytes& file_key, absl::string_view nonce) {
  return HkdfSha256(file_key.view(), nonce, "payload");
}

ChunkInput ChunkInput::Memory(absl::string_view chunks) {
  ChunkInput in;
  in.kind = Kind::kMemory;
  in.memory = chunks;
  return in;
}

const uint8_t* ChunkInput::InPlace(uint64_t off) const {
  if (kind == Kind::kMemory) return reinterpret_cast<const uint8_t*>(memory.data()) + off;
  if (kind == Kind::kRandomAccess && direct != nullptr) {
    return reinterpret_cast<const uint8_t*>(direct) + off;
  }
  return nullptr;
}

ChunkInput ChunkInput::After(BufferedInput& reader) {
  ChunkInput in;
  if (reader.random_access()) {
    in.kind = Kind::kRandomAccess;
    in.source = &reader.source();
    in.offset = reader.position();
    in.size = *reader.source_size() - std::min(*reader.source_size(), reader.position());
    std::optional<absl::string_view> view = in.source->View();
    if (view.has_value() && view->size() == *reader.source_size() && in.offset <= view->size()) {
      in.direct = view->data() + in.offset;
    }
  } else {
    in.kind = Kind::kSequential;
    in.sequential = &reader;
  }
  return in;
}

absl::Status DecryptChunksToSink(const SecretBytes& payload_key, const ChunkInput& in, ByteSink& out,
                                 int threads) {
  return SinkPipeline(payload_key, in, out, threads).Run();
}

absl::StatusOr<SecretBytes> DecryptChunksToSecret(const SecretBytes& payload_key, const ChunkInput& in,
                                                  int threads) {
  if (in.kind == ChunkInput::Kind::kSequential) {
    return absl::InternalError("age: in-memory decryption needs random access to the input");
  }
  const bool memory = in.InPlace(0) != nullptr;
  const uint64_t total = in.kind == ChunkInput::Kind::kMemory ? in.memory.size() : in.size;
  if (total == 0) return NoChunksError();
  // The layout is known from the size alone; reject a malformed last chunk before allocating.
  const uint64_t chunks = (total + kEncChunkSize - 1) / kEncChunkSize;
  const uint64_t last_len = total - (chunks - 1) * kEncChunkSize;
  if (last_len < kTagSize) {
    return PayloadError(absl::StrCat("chunk ", chunks - 1, " is truncated: ", last_len,
                                     " bytes, shorter than its 16-byte tag"));
  }
  if (last_len == kTagSize && chunks > 1) {
    return PayloadError(absl::StrCat("final chunk ", chunks - 1,
                                     " is empty; only an empty file may end in an empty chunk"));
  }
  const uint64_t plaintext = total - chunks * kTagSize;
  if (plaintext > std::numeric_limits<size_t>::max() / 2) {
    return absl::ResourceExhaustedError("age: the plaintext is too large for memory");
  }
  const uint64_t segments = SegmentCount(total);
  const int workers = static_cast<int>(std::min<uint64_t>(std::max(1, threads), segments));
  TRIAD_ASSIGN_OR_RETURN(std::vector<ChunkCipher> ciphers, MakeCiphers(payload_key, workers));

  SecretBytes out = SecretBytes::Uninitialized(static_cast<size_t>(plaintext));
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  uint64_t failed_segment = std::numeric_limits<uint64_t>::max();
  absl::Status failure;
  auto fail = [&](uint64_t s, absl::Status st) {
    std::lock_guard<std::mutex> lock(mu);
    // The first failing segment in file order decides the error, whatever the timing.
    if (s < failed_segment) {
      failed_segment = s;
      failure = std::move(st);
    }
    failed.store(true, std::memory_order_relaxed);
  };
  auto work = [&](ChunkCipher& cipher) {
    std::vector<uint8_t> buf(memory ? 0 : kSegmentCiphertext);
    while (!failed.load(std::memory_order_relaxed)) {
      uint64_t s = next.fetch_add(1);
      if (s >= segments) return;
      uint64_t off = s * kSegmentCiphertext;
      size_t len = static_cast<size_t>(std::min<uint64_t>(kSegmentCiphertext, total - off));
      const uint8_t* ct;
      if (memory) {
        ct = in.InPlace(off);
      } else {
        absl::StatusOr<size_t> got =
            in.source->ReadAt(in.offset + off, reinterpret_cast<char*>(buf.data()), len);
        if (!got.ok() || *got != len) {
          fail(s, got.ok() ? ChangedError("shrank") : got.status());
          return;
        }
        ct = buf.data();
      }
      SegmentResult r = OpenSegment(cipher, s * kChunksPerSegment, ct, len, s + 1 == segments,
                                    out.data() + s * kSegmentPlaintext);
      if (!r.status.ok()) {
        fail(s, std::move(r.status));
        return;
      }
    }
  };
  {
    std::vector<std::thread> threads_started;
    for (int i = 1; i < workers; ++i) threads_started.emplace_back(work, std::ref(ciphers[i]));
    work(ciphers[0]);
    for (std::thread& t : threads_started) t.join();
  }
  if (failed.load()) {
    out.clear();
    return failure;
  }
  TRIAD_RETURN_IF_ERROR(CheckNotGrown(in));
  return out;
}

// ---- encryption ----

namespace {

// Parallel sealing of a plaintext held in memory: workers seal segments into a ring of slots, the
// calling thread writes them in order (the mirror image of SinkPipeline).
class SealPipeline {
 public:
  SealPipeline(const SecretBytes& key, absl::string_view plaintext, ByteSink& out, int threads)
      : key_(key), plaintext_(plaintext), out_(out), threads_(threads) {
    // At least one chunk: an empty plaintext is one empty final chunk.
    chunks_ = std::max<uint64_t>(1, (plaintext.size() + kChunkSize - 1) / kChunkSize);
    segments_ = (chunks_ + kChunksPerSegment - 1) / kChunksPerSegment;
  }

  absl::Status Run() {
    const int workers = static_cast<int>(std::min<uint64_t>(std::max(1, threads_), segments_));
    std::vector<ChunkCipher> ciphers;
    for (int i = 0; i < workers; ++i) {
      TRIAD_ASSIGN_OR_RETURN(ChunkCipher c, ChunkCipher::Create(key_, ChunkCipher::Direction::kSeal));
      ciphers.push_back(std::move(c));
    }
    slots_.resize(workers <= 1 ? 1 : 2 * static_cast<size_t>(workers));
    for (Slot& slot : slots_) slot.ct.resize(kSegmentCiphertext);
    if (workers <= 1) {
      for (uint64_t s = 0; s < segments_; ++s) {
        Seal(slots_[0], s, ciphers[0]);
        TRIAD_RETURN_IF_ERROR(WriteOut(slots_[0]));
      }
      return absl::OkStatus();
    }
    std::vector<std::thread> threads;
    for (ChunkCipher& c : ciphers) threads.emplace_back([this, &c] { Worker(c); });
    absl::Status st = WriteAll();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads) t.join();
    return st;
  }

 private:
  struct Slot {
    bool done = false;
    std::vector<uint8_t> ct;
    size_t len = 0;
    absl::Status status;
  };

  void Seal(Slot& slot, uint64_t s, ChunkCipher& cipher) {
    slot.len = 0;
    slot.status = absl::OkStatus();
    const uint64_t first = s * kChunksPerSegment;
    const uint64_t end = std::min(chunks_, first + kChunksPerSegment);
    for (uint64_t i = first; i < end && slot.status.ok(); ++i) {
      const size_t off = static_cast<size_t>(i * kChunkSize);
      const size_t len = std::min(kChunkSize, plaintext_.size() - std::min(off, plaintext_.size()));
      slot.status = cipher.Seal(i, i + 1 == chunks_,
                                reinterpret_cast<const uint8_t*>(plaintext_.data()) + off, len,
                                slot.ct.data() + slot.len);
      slot.len += len + kTagSize;
    }
  }

  absl::Status WriteOut(const Slot& slot) {
    TRIAD_RETURN_IF_ERROR(slot.status);
    return out_.Write(absl::string_view(reinterpret_cast<const char*>(slot.ct.data()), slot.len));
  }

  void Worker(ChunkCipher& cipher) {
    while (true) {
      uint64_t s;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [this] {
          return stop_ || (next_claim_ < segments_ && next_claim_ < next_write_ + slots_.size());
        });
        if (stop_) return;
        s = next_claim_++;
      }
      Slot& slot = slots_[s % slots_.size()];
      Seal(slot, s, cipher);
      {
        std::lock_guard<std::mutex> lock(mu_);
        slot.done = true;
      }
      done_cv_.notify_one();
    }
  }

  absl::Status WriteAll() {
    for (; next_write_ < segments_;) {
      Slot& slot = slots_[next_write_ % slots_.size()];
      {
        std::unique_lock<std::mutex> lock(mu_);
        done_cv_.wait(lock, [&slot] { return slot.done; });
      }
      TRIAD_RETURN_IF_ERROR(WriteOut(slot));
      {
        std::lock_guard<std::mutex> lock(mu_);
        slot.done = false;
        ++next_write_;
      }
      work_cv_.notify_all();
    }
    return absl::OkStatus();
  }

  const SecretBytes& key_;
  absl::string_view plaintext_;
  ByteSink& out_;
  int threads_;
  uint64_t chunks_ = 0;
  uint64_t segments_ = 0;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  uint64_t next_claim_ = 0;
  uint64_t next_write_ = 0;
  bool stop_ = false;
};

}  // namespace

absl::Status SealPayload(const SecretBytes& file_key, absl::string_view nonce,
                         absl::string_view plaintext, ByteSink& out, int threads) {
  if (nonce.size() != kPayloadNonceSize) return absl::InternalError("age: payload nonce must be 16 bytes");
  TRIAD_ASSIGN_OR_RETURN(SecretBytes key, PayloadKey(file_key, nonce));
  TRIAD_RETURN_IF_ERROR(out.Write(nonce));
  return SealPipeline(key, plaintext, out, threads).Run();
}


PayloadWriter::PayloadWriter(ChunkCipher cipher, ByteSink& out)
    : cipher_(std::move(cipher)), out_(out), pending_(kChunkSize) {
  out_buf_.resize(kSegmentCiphertext);
}

absl::StatusOr<std::unique_ptr<PayloadWriter>> PayloadWriter::Create(const SecretBytes& file_key,
                                                                     absl::string_view nonce,
                                                                     ByteSink& out) {
  if (nonce.size() != kPayloadNonceSize) return absl::InternalError("age: payload nonce must be 16 bytes");
  TRIAD_ASSIGN_OR_RETURN(SecretBytes key, PayloadKey(file_key, nonce));
  TRIAD_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(key, ChunkCipher::Direction::kSeal));
  std::unique_ptr<PayloadWriter> w(new PayloadWriter(std::move(cipher), out));
  std::memcpy(w->out_buf_.data(), nonce.data(), nonce.size());
  w->out_len_ = nonce.size();
  return w;
}

absl::Status PayloadWriter::FlushOut() {
  if (out_len_ == 0) return absl::OkStatus();
  absl::Status st = out_.Write(absl::string_view(out_buf_.data(), out_len_));
  out_len_ = 0;
  return st;
}

absl::Status PayloadWriter::SealChunk(const uint8_t* data, size_t len, bool final) {
  if (out_len_ + len + kTagSize > out_buf_.size()) TRIAD_RETURN_IF_ERROR(FlushOut());
  TRIAD_RETURN_IF_ERROR(cipher_.Seal(counter_++, final, data, len,
                                     reinterpret_cast<uint8_t*>(out_buf_.data()) + out_len_));
  out_len_ += len + kTagSize;
  return absl::OkStatus();
}

absl::Status PayloadWriter::Write(absl::string_view plaintext) {
  if (closed_) return absl::FailedPreconditionError("age: write after close");
  const uint8_t* p = reinterpret_cast<const uint8_t*>(plaintext.data());
  size_t n = plaintext.size();
  while (n > 0) {
    // A full pending chunk followed by more data is not the final one.
    if (pending_len_ == kChunkSize) {
      TRIAD_RETURN_IF_ERROR(SealChunk(pending_.data(), kChunkSize, false));
      pending_len_ = 0;
    }
    if (pending_len_ == 0) {
      // Whole chunks that more data follows are sealed straight from the caller's buffer.
      while (n > kChunkSize) {
        TRIAD_RETURN_IF_ERROR(SealChunk(p, kChunkSize, false));
        p += kChunkSize;
        n -= kChunkSize;
      }
    }
    size_t take = std::min(kChunkSize - pending_len_, n);
    std::memcpy(pending_.data() + pending_len_, p, take);
    pending_len_ += take;
    p += take;
    n -= take;
  }
  return absl::OkStatus();
}

absl::Status PayloadWriter::Close() {
  if (closed_) return absl::FailedPreconditionError("age: closed twice");
  closed_ = true;
  // Empty only when nothing was written at all: a full chunk is always kept back for this.
  TRIAD_RETURN_IF_ERROR(SealChunk(pending_.data(), pending_len_, true));
  pending_.clear();
  return FlushOut();
}

}  // namespace triad::crypto::age::internal
