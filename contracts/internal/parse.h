// Readers of contract sections that already passed the schema, shared by the standalone parsers
// (TrainingConfig::FromJson, WorkerPolicy::FromJson) and the contract parser.
#ifndef TRIAD_CONTRACTS_INTERNAL_PARSE_H_
#define TRIAD_CONTRACTS_INTERNAL_PARSE_H_

#include <string>
#include <vector>

#include "contracts/internal/json_schema.h"
#include "contracts/policy.h"
#include "contracts/training.h"
#include "nlohmann/json.hpp"

namespace triad::contracts::internal {

// The schema answers "lm_head is not one of [...]" for a refused target module; this replaces such
// errors under `prefix`/target_modules with the refusal and its reason.
void RefineTrainingErrors(const nlohmann::json& training, const std::string& prefix,
                          std::vector<SchemaError>& errors);

// Reads a training section that passed the schema. May throw nlohmann::json::exception only if the
// schema and this code disagree; callers catch it at their boundary.
TrainingConfig ReadTraining(const nlohmann::json& j);

// Reads a worker_policy section that passed the schema and adds the problems the schema cannot see,
// with `prefix` (the section's JSON pointer) before their paths. Throws as ReadTraining.
WorkerPolicy ReadPolicy(const nlohmann::json& j, const std::string& prefix,
                        std::vector<std::string>& problems);

}  // namespace triad::contracts::internal

#endif  // TRIAD_CONTRACTS_INTERNAL_PARSE_H_
