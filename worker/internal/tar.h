// TEMPORARY: a minimal in-memory tar reader and ustar writer for the worker, until base/tar.{h,cc}
// (libarchive, written on the coordinator branch) lands on main; then the worker switches to it and
// this file goes. Only what the worker needs: the model archive a model owner pushes (a flat
// directory of regular files, written by `triad model push` or GNU/BSD tar) and the adapter archive
// the worker delivers.
//
// Format: POSIX.1-1988 ustar (IEEE Std 1003.1, "pax" chapter, ustar Interchange Format): 512-byte
// header blocks, each member's data padded to 512 bytes, two zero blocks at the end. The reader
// also accepts GNU tar's "ustar  \0" magic, its 'L' long names and base-256 sizes, and pax 'x'/'g'
// extended headers (their "path" and "size" records), because stock tar writes them.
#ifndef TRIAD_WORKER_INTERNAL_TAR_H_
#define TRIAD_WORKER_INTERNAL_TAR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret.h"

namespace triad::worker::internal {

inline constexpr size_t kTarBlockSize = 512;

struct TarMember {
  std::string name;        // as stored, e.g. "config.json" or "./config.json"
  absl::string_view data;  // borrowed: a view into the archive (reading) or the caller's buffer
};

// Lists the regular files of an archive held in memory, in archive order; each member's data is a
// view into `archive` (nothing is copied, so plaintext archives stay in their SecretBytes).
// Directories and pax global headers are skipped. Fails with kInvalidArgument naming the member
// and the check: a bad header checksum or magic, a size beyond the archive, a link or special file
// ("… is a symbolic link; only regular files are accepted"), an unterminated archive. Never echoes
// member contents.
absl::StatusOr<std::vector<TarMember>> ReadTar(absl::string_view archive);

// Writes a ustar archive of regular files (mode 0644, owner 0, time 0) into SecretBytes. Fails with
// kInvalidArgument for an empty or over-long (> 100 bytes) name or one holding a NUL.
absl::StatusOr<crypto::SecretBytes> WriteTar(absl::Span<const TarMember> members);

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_TAR_H_
