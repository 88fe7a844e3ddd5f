#include "storage/blob_store.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::storage {
namespace {

std::unique_ptr<BlobStore> OpenStore(const std::string& dir, LocalBlobStoreOptions options = {}) {
  auto s = OpenLocalBlobStore(dir, options);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

absl::StatusOr<std::string> Put(BlobStore& store, absl::string_view data, size_t piece = 1000,
                                absl::string_view expected = "") {
  TRIAD_ASSIGN_OR_RETURN(auto w, store.NewWriter(expected));
  for (size_t at = 0; at < data.size(); at += piece) TRIAD_RETURN_IF_ERROR(w->Write(data.substr(at, piece)));
  return w->Commit();
}

// Reads a blob chunk by chunk; the largest chunk seen goes to *max_chunk.
absl::StatusOr<std::string> Get(BlobStore& store, absl::string_view id, size_t* max_chunk = nullptr) {
  TRIAD_ASSIGN_OR_RETURN(auto r, store.Open(id));
  std::string out;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(absl::string_view chunk, r->Next());
    if (chunk.empty()) break;
    if (max_chunk != nullptr) *max_chunk = std::max(*max_chunk, chunk.size());
    out.append(chunk.data(), chunk.size());
  }
  return out;
}

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (struct dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

std::string ObjectPath(const std::string& dir, const std::string& id) {
  return dir + "/objects/" + id.substr(7, 2) + "/" + id.substr(9);
}

TEST(BlobStore, RoundTripInChunks) {
  triad::testing::TempDir dir;
  LocalBlobStoreOptions options;
  options.chunk_size = 4096;
  auto store = OpenStore(dir.path(), options);
  std::string data = crypto::RandomString(3 * 1024 * 1024 + 17);
  auto id = Put(*store, data, 65537);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, crypto::Sha256Id(data));
  EXPECT_TRUE(*store->Contains(*id));
  EXPECT_EQ(*store->Size(*id), data.size());
  size_t max_chunk = 0;
  auto back = Get(*store, *id, &max_chunk);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(max_chunk, 4096u);  // never more than one chunk held
  EXPECT_TRUE(store->Verify(*id).ok());
  EXPECT_EQ(FilesIn(dir.File("tmp")), 0u);
  // The same content again is the same blob.
  EXPECT_EQ(*Put(*store, data, 1 << 20), *id);
  // The empty blob is a blob.
  auto empty = Put(*store, "");
  EXPECT_EQ(*empty, crypto::Sha256Id(""));
  EXPECT_EQ(*Get(*store, *empty), "");
  // Reading past the verified end is refused.
  auto r = store->Open(*empty);
  EXPECT_TRUE((*r)->Next()->empty());
  EXPECT_EQ((*r)->Next().status().message(), "blob " + *empty + " was read to its end");
}

TEST(BlobStore, ExpectedIdMustMatch) {
  triad::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::string want = crypto::Sha256Id("the real thing");
  auto id = Put(*store, "something else", 3, want);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(id.status().message(), "blob content is " + crypto::Sha256Id("something else") + ", expected " + want);
  EXPECT_FALSE(*store->Contains(want));
  EXPECT_FALSE(*store->Contains(crypto::Sha256Id("something else")));
  EXPECT_EQ(FilesIn(dir.File("tmp")), 0u);
  EXPECT_EQ(*Put(*store, "the real thing", 3, want), want);
  EXPECT_EQ(store->NewWriter("sha256:nope").status().message(), "blob id is not sha256:<64 lower-case hex digits>");
}

TEST(BlobStore, CorruptionIsFoundAtTheEndOfTheRead) {
  triad::testing::TempDir dir;
  LocalBlobStoreOptions options;
  options.chunk_size = 1000;
  auto store = OpenStore(dir.path(), options);
  std::string data(5000, 'a');
  std::string id = *Put(*store, data);
  {
    std::fstream f(ObjectPath(dir.path(), id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4321);
    f.put('b');
  }
  std::string corrupt_id = crypto::Sha256Id(data.substr(0, 4321) + "b" + data.substr(4322));
  auto r = store->Open(id);
  ASSERT_TRUE(r.ok());
  // Every chunk comes out; only the end says the whole is wrong.
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*r)->Next()->size(), 1000u);
  auto end = (*r)->Next();
  EXPECT_EQ(end.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(end.status().message(), "blob " + id + " is corrupt: its content is " + corrupt_id);
  EXPECT_EQ(store->Verify(id).message(), "blob " + id + " is corrupt: its content is " + corrupt_id);
  ASSERT_EQ(::truncate(ObjectPath(dir.path(), id).c_str(), 10), 0);
  EXPECT_EQ(store->Verify(id).code(), absl::StatusCode::kDataLoss);
}

TEST(BlobStore, IdsCannotNamePathsOutsideTheStore) {
  triad::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string bad[] = {
      "",
      "../../etc/passwd",
      "sha256:../../../../../../../../../../../../../../../../../../../../../../../../etc/passwd",
      "sha256:" + std::string(64, 'A'),
      "sha256:" + std::string(63, 'a'),
      "sha256:" + std::string(65, 'a'),
      "sha512:" + std::string(64, 'a'),
      "sha256:" + std::string(62, 'a') + "/a",
      "sha256:" + std::string(63, 'a') + std::string(1, '\0'),
  };
  for (const std::string& id : bad) {
    const std::string reason = "blob id is not sha256:<64 lower-case hex digits>";
    EXPECT_EQ(ValidateBlobId(id).message(), reason);
    EXPECT_EQ(store->Open(id).status().message(), reason);
    EXPECT_EQ(store->Contains(id).status().message(), reason);
    EXPECT_EQ(store->Size(id).status().message(), reason);
    EXPECT_EQ(store->Remove(id).message(), reason);
    EXPECT_EQ(store->Verify(id).message(), reason);
    EXPECT_EQ(store->NewWriter(id).status().code(), id.empty() ? absl::StatusCode::kOk : absl::StatusCode::kInvalidArgument);
  }
  std::string absent = crypto::Sha256Id("absent");
  EXPECT_EQ(store->Open(absent).status().message(), "blob " + absent + " not found");
  EXPECT_EQ(store->Size(absent).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Remove(absent).message(), "blob " + absent + " not found");
}

TEST(BlobStore, SizeLimit) {
  triad::testing::TempDir dir;
  LocalBlobStoreOptions options;
  options.max_blob_bytes = 10;
  auto store = OpenStore(dir.path(), options);
  auto w = store->NewWriter();
  ASSERT_TRUE((*w)->Write("0123456789").ok());
  absl::Status st = (*w)->Write("x");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "blob is larger than the limit of 10 bytes");
  EXPECT_EQ((*w)->Commit().status().message(), "blob writer is finished");
  EXPECT_EQ(FilesIn(dir.File("tmp")), 0u);
}

TEST(BlobStore, UncommittedWriteIsNeverVisible) {
  triad::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::string data = "half of an upload";
  {
    auto w = store->NewWriter(crypto::Sha256Id(data));
    ASSERT_TRUE((*w)->Write(data.substr(0, 5)).ok());
    EXPECT_EQ(FilesIn(dir.File("tmp")), 1u);
    EXPECT_FALSE(*store->Contains(crypto::Sha256Id(data)));
  }
  EXPECT_EQ(FilesIn(dir.File("tmp")), 0u);
  EXPECT_FALSE(*store->Contains(crypto::Sha256Id(data)));
}

// A process killed (SIGKILL) in the middle of a write leaves no blob; the next owner clears its
// temporary file.
TEST(BlobStore, KilledWriterLeavesNothingVisible) {
  triad::testing::TempDir dir;
  std::string data = crypto::RandomString(1 << 20);
  std::string id = crypto::Sha256Id(data);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = OpenLocalBlobStore(dir.path());
    if (!store.ok()) ::_exit(1);
    auto w = (*store)->NewWriter(id);
    if (!w.ok() || !(*w)->Write(data.substr(0, data.size() / 2)).ok()) ::_exit(1);
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(FilesIn(dir.File("tmp")), 1u);
  // While the writer lives, it owns the store.
  EXPECT_EQ(OpenLocalBlobStore(dir.path()).status().message(),
            "blob store " + dir.path() + " is in use by another process");
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  auto store = OpenStore(dir.path());
  EXPECT_FALSE(*store->Contains(id));
  EXPECT_EQ(FilesIn(dir.File("tmp")), 0u);
  EXPECT_EQ(*Put(*store, data, 4096, id), id);
}

TEST(BlobStore, RemoveAndOneOwnerAtATime) {
  triad::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::string id = *Put(*store, "bytes");
  EXPECT_EQ(OpenLocalBlobStore(dir.path()).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store->Remove(id).ok());
  EXPECT_FALSE(*store->Contains(id));
  store.reset();
  EXPECT_TRUE(OpenLocalBlobStore(dir.path()).ok());
  LocalBlobStoreOptions bad;
  bad.chunk_size = 0;
  EXPECT_EQ(OpenLocalBlobStore(dir.File("other"), bad).status().message(),
            "blob chunk size must be between 1 byte and 64 MiB");
}

}  // namespace
}  // namespace triad::storage
