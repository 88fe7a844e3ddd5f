#include "storage/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace triad::storage {
namespace {

constexpr absl::string_view kIdPrefix = "sha256:";

using Fd = base::UniqueFd;

std::string IdFromDigest(const std::string& digest) { return absl::StrCat(kIdPrefix, base::HexEncode(digest)); }

absl::Status MakeDir(const std::string& dir, bool* created) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    if (created != nullptr) *created = true;
    return absl::OkStatus();
  }
  if (errno != EEXIST) return base::ErrnoStatus(errno, absl::StrCat("creating directory ", dir));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
  }
  if (created != nullptr) *created = false;
  return absl::OkStatus();
}

class LocalBlobStore;

class LocalBlobWriter final : public BlobWriter {
 public:
  LocalBlobWriter(const LocalBlobStore* store, std::string tmp_path, Fd fd, std::string expected_id)
      : store_(store),
        tmp_path_(std::move(tmp_path)),
        fd_(std::move(fd)),
        expected_id_(std::move(expected_id)),
        hasher_(crypto::HashAlg::kSha256) {}
  ~LocalBlobWriter() override { Discard(); }

  absl::Status Write(absl::string_view data) override;
  uint64_t size() const override { return size_; }
  absl::StatusOr<std::string> Commit() override;

 private:
  void Discard() {
    if (!spent_) {
      fd_.Close();
      ::unlink(tmp_path_.c_str());
      spent_ = true;
    }
  }

  const LocalBlobStore* store_;
  std::string tmp_path_;
  Fd fd_;
  std::string expected_id_;
  crypto::Hasher hasher_;
  uint64_t size_ = 0;
  bool spent_ = false;
};

class LocalBlobReader final : public BlobReader {
 public:
  LocalBlobReader(std::string id, Fd fd, uint64_t size, size_t chunk_size)
      : id_(std::move(id)), fd_(std::move(fd)), size_(size), buf_(chunk_size, '\0'), hasher_(crypto::HashAlg::kSha256) {}

  uint64_t size() const override { return size_; }

  absl::StatusOr<absl::string_view> Next() override {
    if (done_) return absl::FailedPreconditionError(absl::StrCat("blob ", id_, " was read to its end"));
    size_t have = 0;
    while (have < buf_.size()) {
      ssize_t n = ::read(fd_.get(), buf_.data() + have, buf_.size() - have);
      if (n < 0) {
        if (errno == EINTR) continue;
        done_ = true;
        return base::ErrnoStatus(errno, absl::StrCat("reading blob ", id_));
      }
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    read_ += have;
    if (read_ > size_) {
      done_ = true;
      return absl::DataLossError(absl::StrCat("blob ", id_, " grew while being read"));
    }
    if (have > 0) {
      hasher_.Update(absl::string_view(buf_.data(), have));
      return absl::string_view(buf_.data(), have);
    }
    done_ = true;
    if (read_ != size_) {
      return absl::DataLossError(absl::StrCat("blob ", id_, " is truncated: ", read_, " of ", size_, " bytes"));
    }
    std::string got = IdFromDigest(hasher_.Finish());
    if (got != id_) return absl::DataLossError(absl::StrCat("blob ", id_, " is corrupt: its content is ", got));
    return absl::string_view();
  }

 private:
  std::string id_;
  Fd fd_;
  uint64_t size_;
  std::string buf_;
  crypto::Hasher hasher_;
  uint64_t read_ = 0;
  bool done_ = false;
};

class LocalBlobStore final : public BlobStore {
 public:
  LocalBlobStore(std::string dir, LocalBlobStoreOptions options, Fd lock)
      : dir_(std::move(dir)), options_(options), lock_(std::move(lock)) {}

  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter(absl::string_view expected_id) override {
    if (!expected_id.empty()) TRIAD_RETURN_IF_ERROR(ValidateBlobId(expected_id));
    std::string tmp = absl::StrCat(TmpDir(), "/", base::HexEncode(crypto::RandomString(16)), ".part");
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("creating ", tmp));
    return std::unique_ptr<BlobWriter>(
        new LocalBlobWriter(this, std::move(tmp), std::move(fd), std::string(expected_id)));
  }

  absl::StatusOr<std::unique_ptr<BlobReader>> Open(absl::string_view id) override {
    TRIAD_RETURN_IF_ERROR(ValidateBlobId(id));
    std::string path = PathOf(id);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
      if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", id, " not found"));
      return base::ErrnoStatus(errno, absl::StrCat("opening blob ", id));
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return base::ErrnoStatus(errno, absl::StrCat("stat blob ", id));
    if (!S_ISREG(st.st_mode)) return absl::DataLossError(absl::StrCat("blob ", id, " is not a regular file"));
    return std::unique_ptr<BlobReader>(
        new LocalBlobReader(std::string(id), std::move(fd), static_cast<uint64_t>(st.st_size), options_.chunk_size));
  }

  absl::StatusOr<bool> Contains(absl::string_view id) override {
    TRIAD_RETURN_IF_ERROR(ValidateBlobId(id));
    struct stat st;
    if (::lstat(PathOf(id).c_str(), &st) == 0) return S_ISREG(st.st_mode);
    if (errno == ENOENT) return false;
    return base::ErrnoStatus(errno, absl::StrCat("stat blob ", id));
  }

  absl::StatusOr<uint64_t> Size(absl::string_view id) override {
    TRIAD_RETURN_IF_ERROR(ValidateBlobId(id));
    struct stat st;
    if (::lstat(PathOf(id).c_str(), &st) != 0) {
      if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", id, " not found"));
      return base::ErrnoStatus(errno, absl::StrCat("stat blob ", id));
    }
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status Verify(absl::string_view id) override {
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> r, Open(id));
    for (;;) {
      TRIAD_ASSIGN_OR_RETURN(absl::string_view chunk, r->Next());
      if (chunk.empty()) return absl::OkStatus();
    }
  }

  absl::Status Remove(absl::string_view id) override {
    TRIAD_RETURN_IF_ERROR(ValidateBlobId(id));
    if (::unlink(PathOf(id).c_str()) != 0) {
      if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", id, " not found"));
      return base::ErrnoStatus(errno, absl::StrCat("removing blob ", id));
    }
    return base::SyncDirectory(FanoutDir(id));
  }

  // Publishes a fully written, fsynced temporary file under `id`.
  absl::Status Publish(const std::string& tmp, const std::string& id) const {
    bool created = false;
    TRIAD_RETURN_IF_ERROR(MakeDir(FanoutDir(id), &created));
    if (created) TRIAD_RETURN_IF_ERROR(base::SyncDirectory(ObjectsDir()));
    // rename() replaces an existing copy atomically; the content is the same by construction.
    if (::rename(tmp.c_str(), PathOf(id).c_str()) != 0) {
      return base::ErrnoStatus(errno, absl::StrCat("publishing blob ", id));
    }
    return base::SyncDirectory(FanoutDir(id));
  }

  uint64_t max_blob_bytes() const { return options_.max_blob_bytes; }
  std::string ObjectsDir() const { return dir_ + "/objects"; }
  std::string TmpDir() const { return dir_ + "/tmp"; }

 private:
  std::string FanoutDir(absl::string_view id) const {
    return absl::StrCat(ObjectsDir(), "/", id.substr(kIdPrefix.size(), 2));
  }
  std::string PathOf(absl::string_view id) const {
    return absl::StrCat(FanoutDir(id), "/", id.substr(kIdPrefix.size() + 2));
  }

  std::string dir_;
  LocalBlobStoreOptions options_;
  Fd lock_;
};

absl::Status LocalBlobWriter::Write(absl::string_view data) {
  if (spent_) return absl::FailedPreconditionError("blob writer is finished");
  if (data.size() > store_->max_blob_bytes() - size_) {
    Discard();
    return absl::ResourceExhaustedError(
        absl::StrCat("blob is larger than the limit of ", store_->max_blob_bytes(), " bytes"));
  }
  hasher_.Update(data);
  size_ += data.size();
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status st = base::ErrnoStatus(errno, absl::StrCat("writing ", tmp_path_));
      Discard();
      return st;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalBlobWriter::Commit() {
  if (spent_) return absl::FailedPreconditionError("blob writer is finished");
  std::string id = IdFromDigest(hasher_.Finish());
  if (!expected_id_.empty() && id != expected_id_) {
    Discard();
    return absl::InvalidArgumentError(absl::StrCat("blob content is ", id, ", expected ", expected_id_));
  }
  if (::fsync(fd_.get()) != 0) {
    absl::Status st = base::ErrnoStatus(errno, absl::StrCat("fsync ", tmp_path_));
    Discard();
    return st;
  }
  fd_.Close();
  absl::Status st = store_->Publish(tmp_path_, id);
  if (!st.ok()) {
    Discard();
    return st;
  }
  spent_ = true;
  return id;
}

}  // namespace

absl::Status ValidateBlobId(absl::string_view id) {
  bool ok = id.size() == kIdPrefix.size() + 64 && id.substr(0, kIdPrefix.size()) == kIdPrefix;
  for (size_t i = kIdPrefix.size(); ok && i < id.size(); ++i) {
    char c = id[i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!ok) return absl::InvalidArgumentError("blob id is not sha256:<64 lower-case hex digits>");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BlobStore>> OpenLocalBlobStore(const std::string& dir,
                                                              const LocalBlobStoreOptions& options) {
  if (options.chunk_size == 0 || options.chunk_size > (size_t{64} << 20)) {
    return absl::InvalidArgumentError("blob chunk size must be between 1 byte and 64 MiB");
  }
  TRIAD_RETURN_IF_ERROR(MakeDir(dir, nullptr));
  std::string lock_path = dir + "/.lock";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (lock.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", lock_path));
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("blob store ", dir, " is in use by another process"));
    }
    return base::ErrnoStatus(errno, absl::StrCat("locking ", lock_path));
  }
  auto store = std::make_unique<LocalBlobStore>(dir, options, std::move(lock));
  TRIAD_RETURN_IF_ERROR(MakeDir(store->ObjectsDir(), nullptr));
  TRIAD_RETURN_IF_ERROR(MakeDir(store->TmpDir(), nullptr));
  // Whatever is in tmp/ was being written when a previous owner stopped; it was never published.
  std::string tmp = store->TmpDir();
  DIR* d = ::opendir(tmp.c_str());
  if (d == nullptr) return base::ErrnoStatus(errno, absl::StrCat("listing ", tmp));
  std::vector<std::string> stale;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") stale.push_back(tmp + "/" + name);
  }
  ::closedir(d);
  for (const std::string& f : stale) ::unlink(f.c_str());
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace triad::storage
