// Strict JSON parsing for trainer/ (no absl here): nlohmann with duplicate keys and excessive
// nesting rejected, exceptions caught and turned into a Status.
#ifndef TRIAD_TRAINER_INTERNAL_JSON_UTIL_H_
#define TRIAD_TRAINER_INTERNAL_JSON_UTIL_H_

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "trainer/status.h"

namespace triad::trainer::internal {

// Parses `text` as one JSON value. `what` names the document in errors ("config.json: ..."). Errors
// give the byte position; they quote a duplicate key only with `may_quote` (never for data).
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& what, int max_depth = 64,
                                 bool may_quote = true);

// "a string", "an integer", ... for error messages.
std::string JsonTypeName(const nlohmann::json& value);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_JSON_UTIL_H_
