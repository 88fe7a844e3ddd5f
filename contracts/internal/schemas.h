// The contract's JSON Schema (contracts/schema/contract.schema.json), embedded at build time, and
// the shared plumbing the contract, policy and training parsers use to apply it.
#ifndef TRIAD_CONTRACTS_INTERNAL_SCHEMAS_H_
#define TRIAD_CONTRACTS_INTERNAL_SCHEMAS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/internal/json_schema.h"
#include "nlohmann/json.hpp"

namespace triad::contracts::internal {

// The schema text exactly as in the repository.
absl::string_view ContractSchemaText();

// The compiled schema; compiled once, on first use. The schema is part of the binary and the tests
// compile it, so a failure here is a build defect: it aborts with the reason.
const JsonSchema& ContractSchema();

// Validates `doc` against `ref` ("#" for a whole contract, "#/$defs/worker_policy", ...). Errors
// get `prefix` put before their paths, so a section checked alone reads like one checked in a
// contract.
std::vector<SchemaError> CheckSchema(const nlohmann::json& doc, absl::string_view ref,
                                     const std::string& prefix = "");

// Problems as one line each: "/training/rank: 0 is less than minimum 1".
void AppendErrors(const std::vector<SchemaError>& errors, std::vector<std::string>& problems);

// The kInvalidArgument status for a list of problems: "<what>: <p1>; <p2>; ...".
absl::Status ProblemsStatus(absl::string_view what, const std::vector<std::string>& problems);

}  // namespace triad::contracts::internal

#endif  // TRIAD_CONTRACTS_INTERNAL_SCHEMAS_H_
