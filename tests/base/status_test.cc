#include "base/status.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::base {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  TRIAD_ASSIGN_OR_RETURN(int h, Annotate(Half(x), "first half"));
  TRIAD_ASSIGN_OR_RETURN(int q, Annotate(Half(h), "second half"));
  return q;
}

TEST(StatusTest, MacrosAndContext) {
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_EQ(Quarter(6).status().message(), "second half: odd");
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace triad::base
