#include "crypto/secret.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

TEST(SecretBytesTest, CopyCloneCompare) {
  SecretBytes a = SecretBytes::CopyFrom("key");
  SecretBytes b = a.Clone();
  EXPECT_TRUE(a.ConstantTimeEquals(b));
  b.data()[0] ^= 1;
  EXPECT_FALSE(a.ConstantTimeEquals(b));
  EXPECT_FALSE(a.ConstantTimeEquals(SecretBytes::CopyFrom("keys")));
  SecretBytes moved = std::move(a);
  EXPECT_EQ(moved.view(), "key");
  moved.clear();
  EXPECT_TRUE(moved.empty());
}

TEST(SecretBytesTest, AllocatorWipesOnRelease) {
  // Observes the wipe through the allocator directly: a released buffer must hold zeros before it is
  // handed back (read before deallocation returns it to the heap).
  ZeroizingAllocator<uint8_t> alloc;
  uint8_t* p = alloc.allocate(32);
  for (int i = 0; i < 32; ++i) p[i] = 0xAA;
  SecureWipe(p, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(p[i], 0);
  alloc.deallocate(p, 32);
}

TEST(SecretBytesTest, SizedAndResizedBytesAreZeroUninitializedIsSized) {
  SecretBytes a(64);
  EXPECT_EQ(a.view(), std::string(64, '\0'));
  a.data()[0] = 7;
  a.resize(200);
  EXPECT_EQ(a.view().substr(1), std::string(199, '\0'));
  EXPECT_EQ(a.data()[0], 7);
  SecretBytes u = SecretBytes::Uninitialized(1 << 20);
  EXPECT_EQ(u.size(), size_t{1} << 20);
  u.data()[(1 << 20) - 1] = 1;  // writable to the end
}

TEST(SecretFileTest, ModeIsEnforced) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteSecretFile(dir.File("s"), SecretBytes::CopyFrom("abc")).ok());
  EXPECT_EQ(ReadSecretFile(dir.File("s"), 10).value().view(), "abc");
  EXPECT_EQ(ReadSecretFile(dir.File("s"), 2).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(WriteSecretFile(dir.File("s"), SecretBytes::CopyFrom("x")).code(),
            absl::StatusCode::kAlreadyExists);
  testing::WriteTestFile(dir.File("open"), "abc", 0644);
  EXPECT_EQ(ReadSecretFile(dir.File("open"), 10).status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace triad::crypto
