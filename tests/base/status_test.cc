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

TEST(StatusTest, AnnotateKeepsPayloads) {
  absl::Status st = absl::DataLossError("bad");
  st.SetPayload("type.example/kind", absl::Cord("payload"));
  absl::Status annotated = Annotate(st, "reading");
  EXPECT_EQ(annotated.message(), "reading: bad");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(annotated.GetPayload("type.example/kind").has_value());
  EXPECT_EQ(std::string(*annotated.GetPayload("type.example/kind")), "payload");
}

}  // namespace
}  // namespace triad::base
