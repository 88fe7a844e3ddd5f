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

// Decryption to a sink, on N threads, the calling one included. Each thread claims the next segment
// and reads it (a sequential input is claimed and read under one lock, so that it is read in claim
// order; a random-access one is read at the segment's offset, by several threads at once), decrypts
// it into its slot of a ring, and marks the slot done. Whichever thread then finds
// the oldest unwritten slot done while no one is writing becomes the writer: it writes out every done
// slot in file order, then goes back to claiming. No thread only writes, so N threads decrypt on N
// cores, and a thread waits only when the ring is full because the sink is slower than decryption.
// Errors are written in file order: the first failing segment's plaintext before the failure goes
// out, then its error ends the run, whatever the other threads were doing.
class SinkPipeline {
 public:
  SinkPipeline(const SecretBytes& key, const ChunkInput& in, ByteSink& out, int threads)
      : key_(key), in_(in), out_(out), threads_(std::max(1, threads)) {}

  absl::Status Run();

 private:
  struct Slot {
    bool done = false;                 // decrypted (or failed), not yet written; guarded by mu_
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
  // Claims the next segment and reads it into its slot; null when there is nothing left to claim.
  // A read error becomes the slot's result, so that it is reported in file order.
  Slot* Claim(uint64_t* segment);
  // Marks the slot done, then writes out the done slots in order unless another thread is writing.
  void Finish(Slot& slot);
  absl::Status WriteOut(const Slot& slot);
  void Work(ChunkCipher& cipher);

  const SecretBytes& key_;
  const ChunkInput& in_;
  ByteSink& out_;
  int threads_;
  uint64_t total_ = 0;     // random access: ciphertext bytes of the chunks
  uint64_t segments_ = 0;  // random access: their segments
  std::vector<Slot> slots_;

  std::mutex read_mu_;               // sequential input: held while claiming and reading a segment
  std::mutex mu_;                    // guards everything below and Slot::done
  std::condition_variable space_cv_; // a slot was written out, or the run stopped
  uint64_t next_claim_ = 0;
  uint64_t next_write_ = 0;
  bool input_end_ = false;  // the final segment has been claimed, or a read has failed
  bool writing_ = false;    // a thread is writing slots out
  bool stop_ = false;       // an error was reached in file order: claim and write nothing more
  absl::Status status_;     // that error
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

absl::Status SinkPipeline::WriteOut(const Slot& slot) {
  if (slot.result.plaintext > 0) {
    TRIAD_RETURN_IF_ERROR(out_.Write(slot.pt.view().substr(0, slot.result.plaintext)));
  }
  return slot.result.status;
}

SinkPipeline::Slot* SinkPipeline::Claim(uint64_t* segment) {
  std::unique_lock<std::mutex> read_lock(read_mu_, std::defer_lock);
  if (!random()) read_lock.lock();
  uint64_t s;
  {
    std::unique_lock<std::mutex> lock(mu_);
    space_cv_.wait(lock, [this] {
      return stop_ || input_end_ || next_claim_ < next_write_ + slots_.size();
    });
    if (stop_ || input_end_) return nullptr;
    s = next_claim_++;
    // A random-access input's last segment is known before it is read: no thread may claim past it
    // while it is being read.
    if (random() && next_claim_ == segments_) input_end_ = true;
  }
  // The slot is free: its previous segment has been written out.
  Slot& slot = slots_[s % slots_.size()];
  slot.result = SegmentResult{};
  slot.final = false;
  absl::Status read = random() ? Locate(slot, s) : ReadSequential(slot, s);
  if (!read.ok()) {
    slot.final = true;
    slot.result.status = std::move(read);
  }
  if (slot.final) {
    std::lock_guard<std::mutex> lock(mu_);
    input_end_ = true;
  }
  *segment = s;
  return &slot;
}

void SinkPipeline::Finish(Slot& slot) {
  std::unique_lock<std::mutex> lock(mu_);
  slot.done = true;
  if (writing_) return;  // the writer will see this slot before it stops writing
  writing_ = true;
  while (!stop_ && next_write_ < next_claim_) {
    Slot& next = slots_[next_write_ % slots_.size()];
    if (!next.done) break;
    lock.unlock();
    absl::Status st = WriteOut(next);
    lock.lock();
    next.done = false;
    ++next_write_;
    if (!st.ok()) {
      stop_ = true;
      status_ = std::move(st);
    }
    space_cv_.notify_all();
  }
  writing_ = false;
}

void SinkPipeline::Work(ChunkCipher& cipher) {
  uint64_t s;
  while (Slot* slot = Claim(&s)) {
    if (slot->result.status.ok()) {
      slot->result = OpenSegment(cipher, s * kChunksPerSegment, slot->ct_data, slot->ct_len,
                                 slot->final, slot->pt.data());
    }
    Finish(*slot);
  }
}

absl::Status SinkPipeline::Run() {
  if (random()) {
    total_ = in_.kind == ChunkInput::Kind::kMemory ? in_.memory.size() : in_.size;
    if (total_ == 0) return NoChunksError();
    segments_ = SegmentCount(total_);
  }
  int workers = threads_;
  if (random() && segments_ < static_cast<uint64_t>(workers)) workers = static_cast<int>(segments_);
  slots_.resize(workers <= 1 ? 1 : 2 * static_cast<size_t>(workers));
  // Small inputs get small buffers. The plaintext buffers are written by decryption before anything
  // of them is read, so they are not zero-filled first (they are still wiped when released).
  const size_t ct_size = random() ? static_cast<size_t>(std::min<uint64_t>(kSegmentCiphertext, total_))
                                  : kSegmentCiphertext;
  for (Slot& slot : slots_) {
    slot.pt = SecretBytes::Uninitialized(std::min(kSegmentPlaintext, ct_size));
    if (in_.InPlace(0) == nullptr) slot.ct.resize(ct_size);
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<ChunkCipher> ciphers, MakeCiphers(key_, workers));
  {
    std::vector<std::thread> threads;
    struct Joiner {
      std::vector<std::thread>& threads;
      ~Joiner() {
        for (std::thread& t : threads) t.join();
      }
    } joiner{threads};
    for (int i = 1; i < workers; ++i) threads.emplace_back([this, &ciphers, i] { Work(ciphers[i]); });
    Work(ciphers[0]);
  }
  if (!status_.ok()) return status_;
  return CheckNotGrown(in_);
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
    // A mapped file is read with pread all the same: on a 1 GiB file in the page cache, copying
    // 256 KiB segments into buffers that stay in the cache took 5% less time than faulting the
    // mapping's pages in and unmapping them at the end (bench/age_throughput.sh, 2 cores), and a
    // file that shrinks while it is read is then an error rather than a SIGBUS.
    std::optional<absl::string_view> view = in.source->View();
    if (view.has_value() && !in.source->ViewIsMappedFile() && view->size() == *reader.source_size() &&
        in.offset <= view->size()) {
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
