// Runs the official JSON-Schema-Test-Suite (Debian package json-schema-test-suite) against the
// validator, for every keyword it supports. The packaged suite stops at draft 7; the files used
// here are those whose keywords mean the same in draft 2020-12 ($ref, whose siblings draft 7
// ignores, and the draft 7 tuple form of items are left out: Compile() refuses such groups, and
// they are counted).
#include <fstream>
#include <iostream>

#include "contracts/internal/json_schema.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::contracts::internal {
namespace {

constexpr char kSuiteDir[] = "/usr/share/json-schema-test-suite/tests/draft7/";

TEST(JsonSchemaSuiteTest, Draft7KeywordFilesPass) {
  const char* files[] = {"type",
                         "properties",
                         "required",
                         "additionalProperties",
                         "enum",
                         "const",
                         "pattern",
                         "minimum",
                         "maximum",
                         "exclusiveMinimum",
                         "exclusiveMaximum",
                         "minLength",
                         "maxLength",
                         "minItems",
                         "maxItems",
                         "uniqueItems",
                         "anyOf",
                         "oneOf",
                         "allOf",
                         "not",
                         "boolean_schema",
                         "items",
                         "default",
                         "minProperties",
                         "maxProperties"};
  int groups = 0, skipped = 0, cases = 0;
  for (const char* name : files) {
    std::string path = std::string(kSuiteDir) + name + ".json";
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << path
                           << " is missing: run scripts/install-deps.sh (json-schema-test-suite)";
    nlohmann::json suite = nlohmann::json::parse(in);
    for (const auto& group : suite) {
      absl::StatusOr<JsonSchema> schema = JsonSchema::Compile(group["schema"]);
      if (!schema.ok()) {
        ++skipped;
        std::cout << "skipped " << name << ": " << group["description"].get<std::string>() << " ("
                  << schema.status().message() << ")\n";
        continue;
      }
      ++groups;
      for (const auto& test : group["tests"]) {
        ++cases;
        bool valid = schema->Validate(test["data"]).empty();
        EXPECT_EQ(valid, test["valid"].get<bool>())
            << name << ": " << group["description"].get<std::string>() << " / "
            << test["description"].get<std::string>() << "\n  data: " << test["data"].dump();
      }
    }
  }
  std::cout << groups << " groups, " << cases << " cases run; " << skipped << " groups skipped\n";
  // Guards against the suite silently shrinking to nothing (a moved directory, every group
  // refused).
  EXPECT_GE(groups, 68);
  EXPECT_GE(cases, 251);
  EXPECT_LE(skipped, 5);
}

}  // namespace
}  // namespace triad::contracts::internal
