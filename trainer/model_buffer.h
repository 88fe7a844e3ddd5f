// ConsumableBuffer: decrypted model bytes that the trainer consumes while it loads them, so that the
// plaintext checkpoint and the loaded model never both exist in full. Torch-free.
//
// The trainer copies each tensor's bytes into a tensor of the compute dtype on the compute device,
// then calls Consume on those bytes: they are wiped at once and every page that lies wholly in
// consumed bytes is handed back to the operating system (madvise MADV_DONTNEED). Loading therefore
// peaks at one model plus a page per tensor boundary, not at two models.
//
// The buffer either owns its memory (Allocate: an anonymous mapping excluded from core dumps) or
// borrows memory the caller owns (the constructor: e.g. the worker's decrypted archive, or locked
// memory). Borrowed memory must be private anonymous memory (malloc, new, mmap MAP_PRIVATE |
// MAP_ANONYMOUS): a page handed back reads as zeros afterwards, which is what a wiped page holds.
// Locked pages (mlock) are unlocked before they are handed back; the kernel refuses otherwise.
//
// Not thread-safe: one loader consumes it at a time.
#ifndef TRIAD_TRAINER_MODEL_BUFFER_H_
#define TRIAD_TRAINER_MODEL_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>

#include "trainer/status.h"

namespace triad::trainer {

class ConsumableBuffer {
 public:
  // `size` bytes (> 0) of zeroed, page-aligned memory of its own, marked MADV_DONTDUMP. Fails with
  // kResourceExhausted when the mapping is refused.
  static Result<std::unique_ptr<ConsumableBuffer>> Allocate(size_t size);
  // Borrows [data, data + size), which must outlive this object; the owner frees it (and wipes what
  // was not consumed).
  ConsumableBuffer(char* data, size_t size);
  // Owned memory: wipes the bytes not yet consumed, then unmaps. Borrowed memory: nothing.
  ~ConsumableBuffer();
  ConsumableBuffer(const ConsumableBuffer&) = delete;
  ConsumableBuffer& operator=(const ConsumableBuffer&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return std::string_view(data_, size_); }
  // Whether `part` lies within this buffer.
  bool Contains(std::string_view part) const;

  // Wipes the bytes of `part` (which must lie within the buffer; ignored otherwise) and hands back
  // the pages that consumed bytes now cover wholly. Consuming a range twice is harmless.
  void Consume(std::string_view part);

  // Bytes consumed so far, and bytes of pages handed back so far (for tests and benchmarks).
  size_t consumed_bytes() const { return consumed_bytes_; }
  size_t released_bytes() const { return released_bytes_; }

 private:
  ConsumableBuffer(char* data, size_t size, size_t mapped);
  void Release(uintptr_t begin, uintptr_t end);

  char* data_;
  size_t size_;
  size_t mapped_;  // > 0: owned mapping of this many bytes
  // Consumed ranges as offsets, merged: begin -> end.
  std::map<size_t, size_t> consumed_;
  size_t consumed_bytes_ = 0;
  size_t released_bytes_ = 0;
};

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_MODEL_BUFFER_H_
