// Strict JSON parsing for documents that come from outside the process (envelopes, contracts, cards,
// collateral, RPC payloads): bounded size and depth, well-formed UTF-8, and no duplicate object keys
// (two readers must never see two different documents in the same bytes).
#ifndef TRIAD_BASE_JSON_H_
#define TRIAD_BASE_JSON_H_

#include <cstddef>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace triad::base {

struct JsonLimits {
  size_t max_bytes = 4 << 20;
  int max_depth = 32;
};

// Parses `text` as one JSON value. Fails with kInvalidArgument naming the problem ("JSON: duplicate key
// \"id\"", "JSON: nesting deeper than 32", "JSON: syntax error at byte 17"), kResourceExhausted when it
// is larger than the limit.
absl::StatusOr<nlohmann::json> ParseJsonStrict(absl::string_view text, const JsonLimits& limits = {});

}  // namespace triad::base

#endif  // TRIAD_BASE_JSON_H_
