#include "base/json.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::base {
namespace {

TEST(JsonTest, ParsesNestedValues) {
  auto j = ParseJsonStrict(R"({"a": [1, {"b": "c"}], "d": null, "e": 1.5, "f": -3})");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["a"][1]["b"], "c");
  EXPECT_EQ((*j)["f"], -3);
}

TEST(JsonTest, RejectsDuplicateKeys) {
  EXPECT_EQ(ParseJsonStrict(R"({"a": 1, "a": 2})").status().message(), "JSON: duplicate key \"a\"");
  EXPECT_EQ(ParseJsonStrict(R"({"x": {"a": 1, "a": 1}})").status().message(), "JSON: duplicate key \"a\"");
  // The same key in sibling objects is fine.
  EXPECT_TRUE(ParseJsonStrict(R"([{"a": 1}, {"a": 2}])").ok());
}

TEST(JsonTest, RejectsDeepNesting) {
  JsonLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseJsonStrict("[[[1]]]", limits).ok());
  EXPECT_EQ(ParseJsonStrict("[[[[1]]]]", limits).status().message(), "JSON: nesting deeper than 3");
  EXPECT_FALSE(ParseJsonStrict(std::string(100000, '[')).ok());
}

TEST(JsonTest, RejectsOversizeAndMalformed) {
  JsonLimits limits;
  limits.max_bytes = 4;
  EXPECT_EQ(ParseJsonStrict("12345", limits).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseJsonStrict("{\"a\" 1}").status().message(), "JSON: syntax error at byte 6");
  EXPECT_FALSE(ParseJsonStrict("\"\xff\"").ok());  // not UTF-8
  EXPECT_FALSE(ParseJsonStrict("{} {}").ok());     // trailing content
}

}  // namespace
}  // namespace triad::base
