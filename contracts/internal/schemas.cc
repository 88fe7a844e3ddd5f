#include "contracts/internal/schemas.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/json.h"

namespace triad::contracts::internal {

// Generated from contracts/schema/contract.schema.json by contracts/embed_file.cmake.
extern const char kContractSchemaJson[];
extern const size_t kContractSchemaJsonSize;

absl::string_view ContractSchemaText() {
  return absl::string_view(kContractSchemaJson, kContractSchemaJsonSize);
}

const JsonSchema& ContractSchema() {
  static const JsonSchema* schema = [] {
    absl::StatusOr<nlohmann::json> json = base::ParseJsonStrict(ContractSchemaText());
    absl::StatusOr<JsonSchema> compiled =
        json.ok() ? JsonSchema::Compile(*json) : absl::StatusOr<JsonSchema>(json.status());
    if (!compiled.ok()) {
      std::cerr << "triad: the embedded contract schema is broken: " << compiled.status().message()
                << std::endl;
      std::abort();
    }
    return new JsonSchema(std::move(compiled).value());
  }();
  return *schema;
}

std::vector<SchemaError> CheckSchema(const nlohmann::json& doc, absl::string_view ref,
                                     const std::string& prefix) {
  absl::StatusOr<std::vector<SchemaError>> errors = ContractSchema().Validate(doc, ref);
  if (!errors.ok()) return {SchemaError{prefix, std::string(errors.status().message())}};
  for (SchemaError& e : *errors) e.path = prefix + e.path;
  return *std::move(errors);
}

void AppendErrors(const std::vector<SchemaError>& errors, std::vector<std::string>& problems) {
  for (const SchemaError& e : errors) problems.push_back(e.ToString());
}

absl::Status ProblemsStatus(absl::string_view what, const std::vector<std::string>& problems) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", absl::StrJoin(problems, "; ")));
}

}  // namespace triad::contracts::internal
