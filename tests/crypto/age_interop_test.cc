// Interoperability with the stock `age` and `age-keygen` binaries (Debian package `age`), both ways,
// binary and armored, on random data of the sizes where chunking has edges.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/age.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto::age {
namespace {

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

const size_t kSizes[] = {0, 1, kChunkSize - 1, kChunkSize, kChunkSize + 1, 3 * (1 << 20) + 12345};

// An identity made by age-keygen, read back by Triad.
struct AgeKey {
  std::string file;
  std::string recipient;
  std::vector<X25519Identity> ids;
};

AgeKey Keygen(const testing::TempDir& dir, const std::string& name) {
  AgeKey k;
  k.file = dir.File(name + ".key");
  std::string out;
  EXPECT_EQ(testing::RunCommand("age-keygen -o " + k.file, &out), 0) << out;
  ::chmod(k.file.c_str(), 0600);
  EXPECT_EQ(testing::RunCommand("age-keygen -y " + k.file, &out), 0) << out;
  k.recipient = out.substr(0, out.find('\n'));
  absl::StatusOr<std::vector<X25519Identity>> ids = ReadIdentityFile(k.file);
  EXPECT_TRUE(ids.ok()) << ids.status();
  if (ids.ok()) k.ids = std::move(*ids);
  EXPECT_EQ(k.ids.at(0).recipient().ToString(), k.recipient);
  return k;
}

TEST(AgeInteropTest, StockAgeFilesDecryptWithTriad) {
  testing::TempDir dir;
  AgeKey a = Keygen(dir, "a"), b = Keygen(dir, "b");
  for (size_t n : kSizes) {
    SCOPED_TRACE(n);
    std::string plain = Bytes(n, static_cast<uint32_t>(n) + 1);
    testing::WriteTestFile(dir.File("plain"), plain);
    for (bool armor : {false, true}) {
      std::string out;
      ASSERT_EQ(testing::RunCommand(absl::StrCat("age ", armor ? "-a " : "", "-r ", a.recipient, " -r ",
                                                 b.recipient, " -o ", dir.File("ct"), " ",
                                                 dir.File("plain")),
                                    &out),
                0)
          << out;
      std::string ct = testing::ReadTestFile(dir.File("ct"));
      for (const AgeKey* k : {&a, &b}) {
        absl::StatusOr<SecretBytes> got = DecryptToSecret(k->ids, ct, DecryptOptions{2});
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_TRUE(got->view() == plain);
      }
      // Streaming from the file itself (pread, parallel).
      int fd = ::open(dir.File("ct").c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      FdSource src(fd, "ct");
      std::string streamed;
      StringSink sink(&streamed);
      absl::Status st = Decrypt(a.ids, src, sink, DecryptOptions{3});
      ::close(fd);
      ASSERT_TRUE(st.ok()) << st;
      EXPECT_TRUE(streamed == plain);
    }
  }
}

TEST(AgeInteropTest, TriadFilesDecryptWithStockAge) {
  testing::TempDir dir;
  AgeKey a = Keygen(dir, "a"), b = Keygen(dir, "b");
  std::vector<X25519Recipient> to = {a.ids[0].recipient(), b.ids[0].recipient()};
  for (size_t n : kSizes) {
    SCOPED_TRACE(n);
    std::string plain = Bytes(n, static_cast<uint32_t>(n) + 2);
    for (bool armor : {false, true}) {
      absl::StatusOr<std::string> ct = Encrypt(to, plain, EncryptOptions{armor});
      ASSERT_TRUE(ct.ok()) << ct.status();
      testing::WriteTestFile(dir.File("ct"), *ct);
      for (const AgeKey* k : {&a, &b}) {
        std::string out;
        // Shell redirection, not -o: age creates no -o file for an empty plaintext.
        ASSERT_EQ(testing::RunCommand("age -d -i " + k->file + " " + dir.File("ct") + " >" + dir.File("out"),
                                      &out),
                  0)
            << out;
        EXPECT_TRUE(testing::ReadTestFile(dir.File("out")) == plain);
      }
    }
  }
}

// A keyholder's re-wrapped header, spliced onto the untouched payload, opens with stock age and
// the new recipient's identity, and no longer with the owner's.
TEST(AgeInteropTest, RewrappedFileDecryptsWithStockAge) {
  testing::TempDir dir;
  AgeKey broker = Keygen(dir, "broker"), worker = Keygen(dir, "worker");
  std::string plain = Bytes(300000, 11);
  testing::WriteTestFile(dir.File("plain"), plain);
  std::string out;
  ASSERT_EQ(testing::RunCommand("age -r " + broker.recipient + " -o " + dir.File("owner.age") + " " +
                                    dir.File("plain"),
                                &out),
            0)
      << out;
  std::string ct = testing::ReadTestFile(dir.File("owner.age"));
  absl::StatusOr<Header> header = Header::Parse(ct);
  ASSERT_TRUE(header.ok()) << header.status();
  absl::StatusOr<Header> rewrapped = RewrapHeader(*header, broker.ids, {worker.ids[0].recipient()});
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  testing::WriteTestFile(dir.File("worker.age"), rewrapped->encoded() + ct.substr(header->size()));
  ASSERT_EQ(testing::RunCommand("age -d -i " + worker.file + " -o " + dir.File("out") + " " +
                                    dir.File("worker.age"),
                                &out),
            0)
      << out;
  EXPECT_TRUE(testing::ReadTestFile(dir.File("out")) == plain);
  EXPECT_NE(testing::RunCommand("age -d -i " + broker.file + " -o " + dir.File("out2") + " " +
                                    dir.File("worker.age"),
                                &out),
            0);
  EXPECT_NE(out.find("no identity matched any of the recipients"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad::crypto::age
