#include "crypto/byte_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

TEST(ByteStreamTest, RegularFileFromItsCurrentOffset) {
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("f"), "0123456789");
  int fd = ::open(dir.File("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 3, SEEK_SET), 3);
  {
    FdSource src(fd, "f");
    ASSERT_EQ(src.Size(), 7u);
    ASSERT_TRUE(src.View().has_value());
    EXPECT_EQ(*src.View(), "3456789");
    char buf[16];
    EXPECT_EQ(src.ReadAt(2, buf, 16).value(), 5u);
    EXPECT_EQ(std::string(buf, 5), "56789");
    EXPECT_EQ(src.Read(buf, 4).value(), 4u);
    EXPECT_EQ(std::string(buf, 4), "3456");
    EXPECT_EQ(src.Read(buf, 16).value(), 3u);
    EXPECT_EQ(src.Read(buf, 16).value(), 0u);
  }
  ::close(fd);
}

TEST(ByteStreamTest, PipeIsSequential) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "abc", 3), 3);
  ::close(p[1]);
  FdSource src(p[0], "pipe");
  EXPECT_FALSE(src.Size().has_value());
  EXPECT_FALSE(src.View().has_value());
  char buf[8];
  EXPECT_EQ(src.ReadAt(0, buf, 1).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(src.Read(buf, 8).value(), 3u);
  EXPECT_EQ(src.Read(buf, 8).value(), 0u);
  ::close(p[0]);
}

TEST(ByteStreamTest, SinksAndErrors) {
  std::string s;
  StringSink ss(&s);
  ASSERT_TRUE(ss.Write("ab").ok());
  ASSERT_TRUE(ss.Write("c").ok());
  EXPECT_EQ(s, "abc");
  SecretBytes secret;
  SecretSink sec(&secret);
  ASSERT_TRUE(sec.Write("xyz").ok());
  EXPECT_EQ(secret.view(), "xyz");
  FdSink bad(-1, "nowhere");
  EXPECT_EQ(bad.Write("x").message(), "writing nowhere: Bad file descriptor");
  StringSource src("hello");
  char buf[8];
  EXPECT_EQ(src.ReadAt(10, buf, 8).value(), 0u);
  EXPECT_EQ(src.ReadAt(3, buf, 8).value(), 2u);
}

}  // namespace
}  // namespace triad::crypto
