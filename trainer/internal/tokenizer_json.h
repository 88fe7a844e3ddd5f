// Bounded, strict parsing of tokenizer.json and typed access to its fields, with error messages
// that name the object and the field ("tokenizer.json: model: field \"vocab\" must be an object").
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_JSON_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_JSON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "trainer/status.h"

namespace triad::trainer::internal {

using Json = nlohmann::json;

// Real tokenizer.json files are 2-35 MB; anything beyond this is refused before parsing.
inline constexpr size_t kMaxTokenizerJsonBytes = size_t{64} << 20;
// tokenizer.json nests a handful of levels (Sequence inside Sequence at most); hostile input can
// nest arbitrarily deep.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` as JSON: at most kMaxTokenizerJsonBytes, nesting at most kMaxJsonDepth, no
// duplicate keys in any object (the reference would silently keep one of them). Never throws.
Result<Json> ParseBoundedJson(std::string_view text);

// The field `key` of `object`; nullptr when it is absent or null.
const Json* OptionalField(const Json& object, const char* key);

// Typed readers. `where` names the object in error messages ("pre_tokenizer Split"). The Required
// forms fail when the field is absent or null; the others return `fallback` then. All fail on a
// value of the wrong type.
Result<std::string> RequiredString(const Json& object, const char* key, const std::string& where);
Result<std::optional<std::string>> OptionalString(const Json& object, const char* key,
                                                  const std::string& where);
Result<bool> RequiredBool(const Json& object, const char* key, const std::string& where);
Result<bool> BoolOr(const Json& object, const char* key, bool fallback, const std::string& where);
// An integer in [lo, hi].
Result<int64_t> RequiredInt(const Json& object, const char* key, int64_t lo, int64_t hi,
                            const std::string& where);
Result<const Json*> RequiredObject(const Json& object, const char* key, const std::string& where);
Result<const Json*> RequiredArray(const Json& object, const char* key, const std::string& where);

// "tokenizer.json: <where>: <what>", the form of every load error.
Status LoadError(const std::string& where, const std::string& what);
Status Unsupported(const std::string& what);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_JSON_H_
