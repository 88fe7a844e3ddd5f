// A small JSON Schema (draft 2020-12) validator for the subset of the vocabulary that Triad's own
// schemas use. Debian ships no C++ validator, and the contract must be checked against the schema
// in the repository, so this one is kept deliberately small and strict:
//
//   core:         $schema, $id (root only), $defs, $ref (local "#/..." JSON pointers only),
//                 $comment
//   annotations:  title, description, default, examples (ignored)
//   applicators:  properties, additionalProperties (bool or schema), items (one schema), allOf,
//                 anyOf, oneOf, not; boolean schemas true / false
//   assertions:   type (a name or a list), enum, const, pattern (ECMA-262-like via PCRE2,
//                 unanchored), minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers),
//                 minLength, maxLength (in code points), minItems, maxItems, uniqueItems,
//                 required, minProperties, maxProperties
//
// Any other keyword makes Compile() fail: a schema that says more than the validator understands
// must not be half-enforced. As the specification says, `integer` accepts a number with a zero
// fraction (1.0), and equality in enum, const and uniqueItems compares numbers by value.
//
// Errors carry the JSON pointer of the offending value ("/training/rank") and one short sentence
// ("0 is less than minimum 1"). Values quoted in messages are cut to a bounded length, so a hostile
// document cannot make messages large.
#ifndef TRIAD_CONTRACTS_INTERNAL_JSON_SCHEMA_H_
#define TRIAD_CONTRACTS_INTERNAL_JSON_SCHEMA_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace triad::contracts::internal {

struct SchemaError {
  std::string path;     // JSON pointer of the value; "" for the root
  std::string message;  // "0 is less than minimum 1"

  // "/training/rank: 0 is less than minimum 1"; the root is written "/".
  std::string ToString() const;
};

// A compiled schema. Immutable after Compile(); Validate() is thread-safe.
class JsonSchema {
 public:
  // Checks every keyword of `schema` (and of the schemas inside it) and compiles the patterns.
  // Fails with kInvalidArgument naming the schema location and the problem: an unsupported keyword,
  // a keyword value of the wrong form, a pattern PCRE2 refuses, or a $ref that does not resolve.
  static absl::StatusOr<JsonSchema> Compile(const nlohmann::json& schema);

  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;
  ~JsonSchema();

  // Validates `doc` against the root schema, or against the subschema that `ref` names
  // ("#/$defs/training"; kNotFound when it names nothing). Returns every error found, in a
  // deterministic order; empty when `doc` is valid.
  std::vector<SchemaError> Validate(const nlohmann::json& doc) const;
  absl::StatusOr<std::vector<SchemaError>> Validate(const nlohmann::json& doc,
                                                    absl::string_view ref) const;

 private:
  struct Impl;
  explicit JsonSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Quotes a JSON value for a message, cut to about 80 characters ("…" marks a cut).
std::string QuoteJson(const nlohmann::json& value);

// Appends a JSON pointer reference token to `path`, escaping '~' and '/' (RFC 6901).
std::string JoinPointer(const std::string& path, absl::string_view token);

}  // namespace triad::contracts::internal

#endif  // TRIAD_CONTRACTS_INTERNAL_JSON_SCHEMA_H_
