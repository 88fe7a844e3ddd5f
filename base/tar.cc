#include "base/tar.h"

#include <archive.h>
#include <archive_entry.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace triad::base {
namespace {

// An entry owned for the span of one call.
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

absl::Status Bad(absl::string_view path, absl::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("tar member path \"", absl::CHexEscape(path), "\": ", rule));
}

std::string ArchiveError(struct archive* a) {
  const char* msg = archive_error_string(a);
  return msg != nullptr ? msg : "unknown libarchive error";
}

// Strips the "./" prefixes `tar -C dir .` writes.
absl::string_view StripDotSlash(absl::string_view path) {
  while (path.size() >= 2 && path[0] == '.' && path[1] == '/') path.remove_prefix(2);
  return path;
}

// Whether a ustar header holds `path`: a name field of 100 bytes, or a prefix of at most 155 bytes,
// a '/', and a name of at most 100 (POSIX ustar; libarchive splits at the first '/' that leaves at
// most 100 bytes after it).
bool FitsUstar(absl::string_view path) {
  if (path.size() <= 100) return true;
  size_t slash = path.find('/', path.size() - 101);
  return slash != absl::string_view::npos && slash <= 155 && slash + 1 < path.size();
}

}  // namespace

absl::Status ValidateTarPath(absl::string_view path) {
  if (path.empty()) return Bad(path, "empty");
  if (path.size() > kMaxTarPathBytes)
    return Bad(path, absl::StrCat("longer than ", kMaxTarPathBytes, " bytes"));
  for (char c : path) {
    // Printable ASCII only: what every tar and filesystem agree on, and no charset conversion.
    if (c < 0x20 || c > 0x7e || c == '\\')
      return Bad(path, "only printable ASCII other than '\\' is allowed");
  }
  if (path.front() == '/') return Bad(path, "absolute paths are not allowed");
  if (path.back() == '/') return Bad(path, "ends in '/'");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) return Bad(path, "empty path component");
    if (part == ".") return Bad(path, "\".\" path component");
    if (part == "..") return Bad(path, "\"..\" path component");
  }
  return absl::OkStatus();
}

// ---- TarWriter ----

TarWriter::TarWriter(Sink sink) : sink_(std::move(sink)) {}

TarWriter::~TarWriter() {
  if (archive_ != nullptr) archive_write_free(archive_);
}

absl::StatusOr<std::unique_ptr<TarWriter>> TarWriter::Create(Sink sink) {
  std::unique_ptr<TarWriter> w(new TarWriter(std::move(sink)));
  w->archive_ = archive_write_new();
  if (w->archive_ == nullptr)
    return absl::ResourceExhaustedError("tar: cannot allocate a libarchive writer");
  TRIAD_RETURN_IF_ERROR(w->Check(archive_write_set_format_ustar(w->archive_), "selecting ustar"));
  // No blocking: libarchive hands every piece straight to the sink instead of copying file data
  // into a block buffer of its own (and pads nothing after the end-of-archive blocks).
  TRIAD_RETURN_IF_ERROR(
      w->Check(archive_write_set_bytes_per_block(w->archive_, 0), "setting the block size"));
  // A sink's failure is kept in sink_status_ (every call checks it) and hidden from libarchive,
  // which is told the bytes were taken and whose later writes are dropped: a write callback that
  // fails makes the archive FATAL, and archive_write_free then skips the close that frees the
  // client writer's state and buffer (libarchive 3.6, archive_write.c: 33 bytes lost per broken
  // writer, found by LeakSanitizer).
  auto write = [](struct archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
    auto* w = static_cast<TarWriter*>(self);
    if (w->sink_status_.ok()) {
      w->sink_status_ = w->sink_(absl::string_view(static_cast<const char*>(buf), n));
    }
    return static_cast<la_ssize_t>(n);
  };
  TRIAD_RETURN_IF_ERROR(
      w->Check(archive_write_open(w->archive_, w.get(), nullptr, write, nullptr), "opening"));
  return w;
}

absl::Status TarWriter::Check(int rc, absl::string_view what) {
  if (rc == ARCHIVE_OK && sink_status_.ok()) return absl::OkStatus();
  failed_ = true;
  if (!sink_status_.ok()) return sink_status_;
  return absl::InternalError(absl::StrCat("tar: ", what, ": ", ArchiveError(archive_)));
}

absl::Status TarWriter::BeginFile(absl::string_view path, uint64_t size) {
  if (failed_ || finished_) return absl::FailedPreconditionError("tar: the writer is finished");
  if (remaining_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("tar: the previous member is ", remaining_, " bytes short"));
  }
  TRIAD_RETURN_IF_ERROR(ValidateTarPath(path));
  if (!FitsUstar(path)) {
    return Bad(
        path,
        "does not fit a ustar header (at most 100 bytes after a directory part of at most 155)");
  }
  std::string p(path);
  if (!paths_.insert(p).second) return Bad(path, "appears twice");
  if (size > static_cast<uint64_t>(INT64_MAX)) return Bad(path, "too large");
  EntryPtr e(archive_entry_new());
  if (e == nullptr) return absl::ResourceExhaustedError("tar: cannot allocate an entry");
  archive_entry_set_pathname(e.get(), p.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e.get(), 0, 0);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  TRIAD_RETURN_IF_ERROR(
      Check(archive_write_header(archive_, e.get()), absl::StrCat("writing the header of ", p)));
  remaining_ = size;
  return absl::OkStatus();
}

absl::Status TarWriter::Write(absl::string_view data) {
  if (failed_ || finished_) return absl::FailedPreconditionError("tar: the writer is finished");
  if (data.size() > remaining_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tar: ", data.size(), " bytes written to a member that has ", remaining_, " left"));
  }
  while (!data.empty()) {
    la_ssize_t n = archive_write_data(archive_, data.data(), data.size());
    if (n <= 0 || !sink_status_.ok()) {
      failed_ = true;
      if (!sink_status_.ok()) return sink_status_;
      return absl::InternalError(absl::StrCat("tar: writing data: ", ArchiveError(archive_)));
    }
    data.remove_prefix(static_cast<size_t>(n));
    remaining_ -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status TarWriter::AddFile(absl::string_view path, absl::string_view data) {
  TRIAD_RETURN_IF_ERROR(BeginFile(path, data.size()));
  return Write(data);
}

absl::Status TarWriter::Finish() {
  if (failed_ || finished_) return absl::FailedPreconditionError("tar: the writer is finished");
  if (remaining_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("tar: the last member is ", remaining_, " bytes short"));
  }
  finished_ = true;
  return Check(archive_write_close(archive_), "closing");
}

// ---- TarReader ----

TarReader::TarReader(absl::string_view data, const TarLimits& limits)
    : data_(data), limits_(limits) {}

TarReader::~TarReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

absl::StatusOr<std::unique_ptr<TarReader>> TarReader::Open(absl::string_view archive,
                                                           const TarLimits& limits) {
  std::unique_ptr<TarReader> r(new TarReader(archive, limits));
  r->archive_ = archive_read_new();
  if (r->archive_ == nullptr)
    return absl::ResourceExhaustedError("tar: cannot allocate a libarchive reader");
  // Tar formats only (ustar, pax, GNU) and no decompression filter.
  if (archive_read_support_format_tar(r->archive_) != ARCHIVE_OK ||
      archive_read_open_memory(r->archive_, archive.data(), archive.size()) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("tar: ", ArchiveError(r->archive_)));
  }
  return r;
}

absl::StatusOr<std::optional<TarMember>> TarReader::Next() {
  if (failed_) return absl::FailedPreconditionError("tar: the reader is spent after an error");
  in_member_ = false;
  touched_ = false;
  auto fail = [this](absl::Status st) {
    failed_ = true;
    return st;
  };
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(archive_, &e);
    if (rc == ARCHIVE_EOF) return std::optional<TarMember>();
    if (rc != ARCHIVE_OK)
      return fail(absl::InvalidArgumentError(absl::StrCat("tar: ", ArchiveError(archive_))));
    if (paths_.size() >= limits_.max_members) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("tar: more than ", limits_.max_members, " members")));
    }
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr)
      return fail(absl::InvalidArgumentError("tar: a member has no readable path"));
    absl::string_view path = StripDotSlash(raw);
    std::string shown = absl::CHexEscape(raw);
    mode_t type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e) != nullptr) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "tar member \"", shown, "\" is a hard link; only regular files are allowed")));
    }
    if (type == AE_IFDIR) {
      // Directories carry nothing; their path is still checked, and "." (the archive's root)
      // skipped.
      if (!path.empty() && path.back() == '/') path.remove_suffix(1);
      if (path.empty() || path == ".") continue;
      if (absl::Status st = ValidateTarPath(path); !st.ok()) return fail(st);
      if (!paths_.insert(std::string(path) + "/").second) {
        return fail(
            absl::InvalidArgumentError(absl::StrCat("tar member \"", shown, "\" appears twice")));
      }
      continue;
    }
    if (type != AE_IFREG) {
      const char* what = type == AE_IFLNK    ? "a symbolic link"
                         : type == AE_IFCHR  ? "a character device"
                         : type == AE_IFBLK  ? "a block device"
                         : type == AE_IFIFO  ? "a FIFO"
                         : type == AE_IFSOCK ? "a socket"
                                             : "not a regular file";
      return fail(absl::InvalidArgumentError(absl::StrCat("tar member \"", shown, "\" is ", what,
                                                          "; only regular files are allowed")));
    }
    if (archive_entry_sparse_count(e) > 0) {
      return fail(
          absl::InvalidArgumentError(absl::StrCat("tar member \"", shown, "\" is a sparse file")));
    }
    if (absl::Status st = ValidateTarPath(path); !st.ok()) return fail(st);
    if (!paths_.insert(std::string(path)).second) {
      return fail(
          absl::InvalidArgumentError(absl::StrCat("tar member \"", shown, "\" appears twice")));
    }
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
      return fail(
          absl::InvalidArgumentError(absl::StrCat("tar member \"", shown, "\" has no size")));
    }
    uint64_t size = static_cast<uint64_t>(archive_entry_size(e));
    if (size > limits_.max_member_bytes) {
      return fail(absl::InvalidArgumentError(absl::StrCat("tar member \"", shown, "\" is ", size,
                                                          " bytes, more than the limit of ",
                                                          limits_.max_member_bytes)));
    }
    if (size > limits_.max_total_bytes - total_) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "tar: members exceed the limit of ", limits_.max_total_bytes, " bytes in all")));
    }
    total_ += size;
    member_size_ = size;
    in_member_ = true;
    return std::optional<TarMember>(TarMember{std::string(path), size});
  }
}

absl::StatusOr<size_t> TarReader::Read(char* buf, size_t n) {
  if (failed_) return absl::FailedPreconditionError("tar: the reader is spent after an error");
  if (!in_member_) return absl::FailedPreconditionError("tar: no current member; call Next()");
  touched_ = true;
  la_ssize_t got = archive_read_data(archive_, buf, n);
  if (got < 0) {
    failed_ = true;
    return absl::InvalidArgumentError(absl::StrCat("tar: ", ArchiveError(archive_)));
  }
  return static_cast<size_t>(got);
}

absl::StatusOr<absl::string_view> TarReader::View() {
  if (failed_) return absl::FailedPreconditionError("tar: the reader is spent after an error");
  if (!in_member_) return absl::FailedPreconditionError("tar: no current member; call Next()");
  if (touched_)
    return absl::FailedPreconditionError("tar: View() must come before any Read() of a member");
  touched_ = true;
  if (member_size_ == 0) return absl::string_view();
  const void* block = nullptr;
  size_t n = 0;
  la_int64_t offset = 0;
  int rc = archive_read_data_block(archive_, &block, &n, &offset);
  if (rc != ARCHIVE_OK) {
    failed_ = true;
    return absl::InvalidArgumentError(absl::StrCat("tar: ", ArchiveError(archive_)));
  }
  // Read from memory, libarchive hands out the member's bytes where they lie in the archive.
  const char* p = static_cast<const char*>(block);
  if (offset != 0 || n != member_size_ || p < data_.data() || p + n > data_.data() + data_.size()) {
    failed_ = true;
    return absl::InvalidArgumentError(
        "tar: a member's data is not one contiguous range of the archive");
  }
  return absl::string_view(p, n);
}

}  // namespace triad::base
