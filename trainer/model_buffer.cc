#include "trainer/model_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace triad::trainer {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

// Not optimized away: the bytes are read by no one afterwards, which is the point.
void WipeBytes(char* p, size_t n) {
  if (n == 0) return;
  std::memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

}  // namespace

Result<std::unique_ptr<ConsumableBuffer>> ConsumableBuffer::Allocate(size_t size) {
  if (size == 0) return InvalidArgument("consumable buffer: size 0");
  const size_t page = PageSize();
  if (size > SIZE_MAX - page) return Status(Code::kResourceExhausted, "consumable buffer: too large");
  const size_t mapped = (size + page - 1) / page * page;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return Status(Code::kResourceExhausted, "consumable buffer: mapping " +
                                                std::to_string(mapped) +
                                                " bytes failed: " + std::strerror(errno));
  }
  // Plaintext has no business in a core dump (the worker also disables them as a whole).
  ::madvise(p, mapped, MADV_DONTDUMP);
  return std::unique_ptr<ConsumableBuffer>(
      new ConsumableBuffer(static_cast<char*>(p), size, mapped));
}

ConsumableBuffer::ConsumableBuffer(char* data, size_t size) : ConsumableBuffer(data, size, 0) {}

ConsumableBuffer::ConsumableBuffer(char* data, size_t size, size_t mapped)
    : data_(data), size_(size), mapped_(mapped) {}

ConsumableBuffer::~ConsumableBuffer() {
  if (mapped_ == 0) return;
  // Wipe only what was not consumed: consumed pages were wiped already, and writing to a page
  // handed back would only fault it in again.
  size_t at = 0;
  for (const auto& [b, e] : consumed_) {
    WipeBytes(data_ + at, b - at);
    at = e;
  }
  WipeBytes(data_ + at, size_ - at);
  ::munmap(data_, mapped_);
}

bool ConsumableBuffer::Contains(std::string_view part) const {
  const auto p = reinterpret_cast<uintptr_t>(part.data()),
             d = reinterpret_cast<uintptr_t>(data_);
  return p >= d && part.size() <= size_ && p - d <= size_ - part.size();
}

void ConsumableBuffer::Consume(std::string_view part) {
  if (part.empty() || !Contains(part)) return;
  size_t b = static_cast<size_t>(part.data() - data_), e = b + part.size();
  // The consumed ranges that touch [b, e) merge with it; the gaps between them are wiped now.
  auto it = consumed_.upper_bound(b);
  if (it != consumed_.begin() && std::prev(it)->second >= b) --it;
  std::vector<std::pair<size_t, size_t>> merged;
  size_t at = b;
  while (it != consumed_.end() && it->first <= e) {
    if (it->first > at) {
      WipeBytes(data_ + at, it->first - at);
      consumed_bytes_ += it->first - at;
    }
    at = std::max(at, it->second);
    merged.push_back(*it);
    it = consumed_.erase(it);
  }
  if (e > at) {
    WipeBytes(data_ + at, e - at);
    consumed_bytes_ += e - at;
  }
  const size_t begin = merged.empty() ? b : std::min(b, merged.front().first);
  const size_t end = merged.empty() ? e : std::max(e, merged.back().second);
  consumed_[begin] = end;

  // Pages wholly inside [begin, end), less those already wholly inside one of the merged ranges
  // (handed back before).
  const uintptr_t base = reinterpret_cast<uintptr_t>(data_), page = PageSize();
  auto up = [&](size_t off) { return (base + off + page - 1) / page * page; };
  auto down = [&](size_t off) { return (base + off) / page * page; };
  uintptr_t from = up(begin);
  const uintptr_t to = down(end);
  for (const auto& [mb, me] : merged) {
    const uintptr_t rb = up(mb), re = down(me);
    if (rb >= re) continue;
    if (rb > from) Release(from, std::min(rb, to));
    from = std::max(from, re);
  }
  if (to > from) Release(from, to);
}

void ConsumableBuffer::Release(uintptr_t begin, uintptr_t end) {
  if (end <= begin) return;
  void* p = reinterpret_cast<void*>(begin);
  const size_t n = end - begin;
  if (::madvise(p, n, MADV_DONTNEED) != 0 && errno == EINVAL) {
    // Locked pages cannot be discarded; their bytes are wiped already, so unlock and discard.
    ::munlock(p, n);
    if (::madvise(p, n, MADV_DONTNEED) != 0) return;
  }
  released_bytes_ += n;
}

}  // namespace triad::trainer
