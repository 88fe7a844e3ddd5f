// Tar archives in memory (libarchive): how a model's files and an adapter's files travel as one
// plaintext before age encrypts them, and how they are taken apart after decryption.
//
// Writing produces POSIX ustar with regular files only, mode 0644, owner 0:0, mtime 0 and no user
// or group names, so the same files always give the same bytes. Reading accepts what `tar` writes
// (ustar, pax, GNU) and is strict, because the archive comes from another party: only regular files
// (directory entries are skipped; links, devices, FIFOs and sparse files are refused), relative
// normalized paths (no absolute path, no "..", no empty or "." component after an optional leading
// "./"), no name twice, no compression, and bounded counts and sizes.
//
// Neither side ever touches the filesystem or copies file data into buffers of its own: data goes
// from the caller's buffer straight to the sink (writer), and from the archive's memory straight
// into the caller's buffer (reader), so a caller holding plaintext in SecretBytes keeps it there.
// Not thread-safe; one reader or writer per thread.
#ifndef TRIAD_BASE_TAR_H_
#define TRIAD_BASE_TAR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct archive;

namespace triad::base {

// The longest member path ustar can carry (155-byte prefix, '/', 100-byte name).
inline constexpr size_t kMaxTarPathBytes = 255;

struct TarLimits {
  size_t max_members = 10000;                     // regular files and directories together
  uint64_t max_member_bytes = uint64_t{1} << 40;  // one file
  uint64_t max_total_bytes = uint64_t{1} << 40;   // all files
};

// OK when `path` may name a member: 1..kMaxTarPathBytes bytes, relative, components separated by
// single '/', none empty, "." or "..", no trailing '/', no control character. Otherwise
// kInvalidArgument "tar member path \"…\": <rule>".
absl::Status ValidateTarPath(absl::string_view path);

// Writes a ustar archive to `sink`, one regular file after another.
class TarWriter {
 public:
  // Receives the archive's bytes in order; an error stops the writer.
  using Sink = std::function<absl::Status(absl::string_view)>;

  static absl::StatusOr<std::unique_ptr<TarWriter>> Create(Sink sink);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Starts a member of `size` bytes. Fails (kInvalidArgument) on an invalid or repeated path or one
  // a ustar header cannot hold ("does not fit a ustar header"), or when the previous member did not
  // get all of its bytes (kFailedPrecondition).
  absl::Status BeginFile(absl::string_view path, uint64_t size);
  // Appends to the current member; more than its size is kInvalidArgument.
  absl::Status Write(absl::string_view data);
  // BeginFile(path, data.size()) and Write(data).
  absl::Status AddFile(absl::string_view path, absl::string_view data);
  // Ends the archive (two zero blocks). Nothing may be written after.
  absl::Status Finish();

 private:
  explicit TarWriter(Sink sink);
  absl::Status Check(int rc, absl::string_view what);

  Sink sink_;
  absl::Status sink_status_;
  struct archive* archive_ = nullptr;
  std::set<std::string> paths_;
  uint64_t remaining_ = 0;  // bytes the current member still needs
  bool finished_ = false;
  bool failed_ = false;
};

struct TarMember {
  std::string path;  // normalized: without a leading "./"
  uint64_t size = 0;
};

// Reads an archive held in memory.
class TarReader {
 public:
  // `archive` is borrowed and must outlive the reader.
  static absl::StatusOr<std::unique_ptr<TarReader>> Open(absl::string_view archive,
                                                         const TarLimits& limits = {});
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next regular file, or nullopt at the end of the archive. Unread data of the previous member
  // is skipped. Failures are kInvalidArgument naming the member and the rule ("tar member \"a\" is
  // a symbolic link; only regular files are allowed", "tar member \"x\" appears twice", "tar: more
  // than 10000 members"); after one, the reader is spent.
  absl::StatusOr<std::optional<TarMember>> Next();
  // Reads up to `n` bytes of the current member into `buf`; 0 at its end.
  absl::StatusOr<size_t> Read(char* buf, size_t n);
  // The whole data of the current member as a view into the archive (no copy: plaintext held in
  // SecretBytes stays there), valid as long as the archive. Instead of Read, once per member;
  // kFailedPrecondition after Read, kInvalidArgument if the data is not one contiguous range of the
  // archive (it always is for the uncompressed, non-sparse members this reader accepts).
  absl::StatusOr<absl::string_view> View();

 private:
  TarReader(absl::string_view data, const TarLimits& limits);

  absl::string_view data_;
  TarLimits limits_;
  struct archive* archive_ = nullptr;
  std::set<std::string> paths_;
  uint64_t total_ = 0;
  uint64_t member_size_ = 0;
  bool in_member_ = false;
  bool touched_ = false;  // Read or View was called on the current member
  bool failed_ = false;
};

}  // namespace triad::base

#endif  // TRIAD_BASE_TAR_H_
