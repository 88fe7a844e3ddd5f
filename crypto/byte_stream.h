// Byte streams for the crypto that works on data of any size (age encryption and decryption): a source
// to read from and a sink to write to, with implementations over file descriptors, memory and
// SecretBytes, so that files, stdin/stdout and in-memory buffers all go through the same code.
#ifndef TRIAD_CRYPTO_BYTE_STREAM_H_
#define TRIAD_CRYPTO_BYTE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret.h"

namespace triad::crypto {

// Where bytes come from. Read is not thread-safe; ReadAt (when offered) is.
class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Reads up to `n` bytes into `buf` and returns how many it read: 0 only at the end of the input,
  // fewer than `n` whenever the source has fewer ready (call again).
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;

  // Random access, for sources that have it (regular files, memory); lets a reader work on several
  // parts at once. A source offering it returns its total size (counted from where Read started);
  // ReadAt(offset, …) then reads at `offset` from that start, never moves Read's position, may be
  // called from several threads at once, and reads fewer than `n` bytes only at the end.
  // A caller uses either Read or ReadAt on one source, not both.
  virtual std::optional<uint64_t> Size() const { return std::nullopt; }
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const;

  // Sources that offer random access and hold their content in memory (a buffer, a memory-mapped
  // file) may also return it, from where Read started, Size() bytes long: readers then use it in
  // place instead of copying it out. Valid as long as the source.
  virtual std::optional<absl::string_view> View() const { return std::nullopt; }
  // True when View() is a file mapped into memory rather than a buffer: its pages fault in on first
  // touch and are unmapped at the end, and the file can shrink under it. A reader that reads every
  // byte once may do better with ReadAt (age decryption does).
  virtual bool ViewIsMappedFile() const { return false; }
};

// Where bytes go. Not thread-safe.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Writes all of `data` or fails.
  virtual absl::Status Write(absl::string_view data) = 0;
};

// Reads a file descriptor it does not own. A regular file offers ReadAt and Size (from the
// descriptor's offset when the source was made, to the file's size then), read with pread, and is
// also memory-mapped read-only for View (so that large files are encrypted in place, without a copy;
// as with any mapping, truncating the file while it is read raises SIGBUS; age decryption reads with
// ReadAt instead, see ViewIsMappedFile). Pipes, terminals and sockets are read with read. `name`
// appears in error messages.
class FdSource : public ByteSource {
 public:
  FdSource(int fd, std::string name);
  ~FdSource() override;
  FdSource(const FdSource&) = delete;
  FdSource& operator=(const FdSource&) = delete;

  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> Size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override;
  std::optional<absl::string_view> View() const override;
  bool ViewIsMappedFile() const override { return map_ != nullptr; }

 private:
  int fd_;
  std::string name_;
  uint64_t origin_ = 0;            // file offset where the source starts (regular files)
  uint64_t position_ = 0;          // Read's position, from origin_
  std::optional<uint64_t> size_;   // set for regular files
  void* map_ = nullptr;            // the whole file, when mapped
  size_t map_size_ = 0;
};

// Writes to a file descriptor it does not own, retrying short writes and EINTR.
class FdSink : public ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  absl::Status Write(absl::string_view data) override;

 private:
  int fd_;
  std::string name_;
};

// Reads borrowed memory; `data` must outlive the source. Offers ReadAt and Size.
class StringSource : public ByteSource {
 public:
  explicit StringSource(absl::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> Size() const override { return data_.size(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override;
  std::optional<absl::string_view> View() const override { return data_; }

 private:
  absl::string_view data_;
  size_t position_ = 0;
};

// Appends to a borrowed std::string (for data that is not secret: ciphertext).
class StringSink : public ByteSink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  absl::Status Write(absl::string_view data) override;

 private:
  std::string* out_;
};

// Appends to borrowed SecretBytes (for plaintext); old buffers are wiped as it grows.
class SecretSink : public ByteSink {
 public:
  explicit SecretSink(SecretBytes* out) : out_(out) {}
  absl::Status Write(absl::string_view data) override;

 private:
  SecretBytes* out_;
};

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_BYTE_STREAM_H_
