#include "base/file.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::base {
namespace {

TEST(FileTest, WriteAtomicAndRead) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.File("a"), "hello", 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir.File("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(dir.File("a"), 100).value(), "hello");
  ASSERT_TRUE(WriteFileAtomic(dir.File("a"), "again").ok());
  EXPECT_EQ(ReadFile(dir.File("a"), 100).value(), "again");
}

TEST(FileTest, ReadIsBounded) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.File("a"), std::string(1000, 'x')).ok());
  absl::StatusOr<std::string> r = ReadFile(dir.File("a"), 999);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadFile(dir.File("missing"), 10).status().code(), absl::StatusCode::kNotFound);
}

TEST(FileTest, WriteNewRefusesToReplace) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteNewFile(dir.File("k"), "one").ok());
  EXPECT_EQ(WriteNewFile(dir.File("k"), "two").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(dir.File("k"), 10).value(), "one");
}

}  // namespace
}  // namespace triad::base
