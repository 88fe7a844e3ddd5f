#include "contracts/internal/json_schema.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::contracts::internal {
namespace {

using Json = nlohmann::json;

JsonSchema MustCompile(const char* text) {
  absl::StatusOr<JsonSchema> s = JsonSchema::Compile(Json::parse(text));
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
}

std::vector<std::string> Errors(const JsonSchema& s, const char* doc) {
  std::vector<std::string> out;
  for (const SchemaError& e : s.Validate(Json::parse(doc))) out.push_back(e.ToString());
  return out;
}

using V = std::vector<std::string>;

TEST(JsonSchemaTest, EachKeywordHasItsMessage) {
  JsonSchema s = MustCompile(R"({
    "type": "object",
    "properties": {
      "n": {"type": "integer", "minimum": 1, "maximum": 256},
      "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
      "s": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-z]+$"},
      "e": {"enum": ["a", "b"]},
      "c": {"const": "v1"},
      "a": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2, "uniqueItems": true},
      "o": {"type": "object", "minProperties": 1, "maxProperties": 1},
      "t": {"type": ["string", "null"]}
    },
    "required": ["n"],
    "additionalProperties": false
  })");
  EXPECT_EQ(Errors(s, R"({"n": 1})"), V{});
  EXPECT_EQ(Errors(s, R"({})"), V{"/: missing required property \"n\""});
  EXPECT_EQ(Errors(s, R"({"n": 0})"), V{"/n: 0 is less than minimum 1"});
  EXPECT_EQ(Errors(s, R"({"n": 257})"), V{"/n: 257 is greater than maximum 256"});
  EXPECT_EQ(Errors(s, R"({"n": 1.5})"), V{"/n: expected integer, got number"});
  EXPECT_EQ(Errors(s, R"({"n": 8.0})"), V{});  // a number with a zero fraction is an integer
  EXPECT_EQ(Errors(s, R"({"n": "1"})"), V{"/n: expected integer, got string"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "x": 0})"), V{"/x: 0 is not greater than 0"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "x": 1})"), V{"/x: 1 is not less than 1"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "x": 0.5})"), V{});
  EXPECT_EQ(Errors(s, R"({"n": 1, "s": "a"})"), V{"/s: \"a\" is shorter than 2 characters"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "s": "abcd"})"), V{"/s: \"abcd\" is longer than 3 characters"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "s": "aB"})"), V{"/s: \"aB\" does not match ^[a-z]+$"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "e": "c"})"), V{"/e: \"c\" is not one of [\"a\",\"b\"]"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "c": "v2"})"), V{"/c: \"v2\" is not \"v1\""});
  EXPECT_EQ(Errors(s, R"({"n": 1, "a": []})"), V{"/a: has 0 items, fewer than the minimum 1"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "a": ["x", "y", "z"]})"),
            V{"/a: has 3 items, more than the maximum 2"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "a": ["x", "x"]})"), V{"/a: items 0 and 1 are equal (\"x\")"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "a": ["x", 2]})"), V{"/a/1: expected string, got integer"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "o": {}})"), V{"/o: has 0 properties, fewer than the minimum 1"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "o": {"p": 1, "q": 2}})"),
            V{"/o: has 2 properties, more than the maximum 1"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "t": 3})"), V{"/t: expected string or null, got integer"});
  EXPECT_EQ(Errors(s, R"({"n": 1, "zz": 3})"), V{"/: unknown property \"zz\""});
  EXPECT_EQ(Errors(s, R"([])"), V{"/: expected object, got array"});
  // Every problem is reported, not only the first.
  EXPECT_EQ(Errors(s, R"({"n": 0, "s": "A", "q": 1})"),
            (V{"/n: 0 is less than minimum 1", "/: unknown property \"q\"",
               "/s: \"A\" is shorter than 2 characters", "/s: \"A\" does not match ^[a-z]+$"}));
}

TEST(JsonSchemaTest, PatternIsUnanchoredAndDollarMeansEnd) {
  JsonSchema s =
      MustCompile(R"({"properties": {"h": {"pattern": "^[0-9a-f]{4}$"}, "u": {"pattern": "b+"}}})");
  EXPECT_EQ(Errors(s, R"({"h": "00ff"})"), V{});
  // PCRE would let '$' match before a final newline; JSON Schema (ECMA-262) does not.
  EXPECT_EQ(Errors(s, R"({"h": "00ff\n"})"), V{"/h: \"00ff\\n\" does not match ^[0-9a-f]{4}$"});
  EXPECT_EQ(Errors(s, R"({"u": "abc"})"), V{});
  EXPECT_EQ(Errors(s, R"({"u": "ac"})"), V{"/u: \"ac\" does not match b+"});
}

TEST(JsonSchemaTest, LengthCountsCodePoints) {
  JsonSchema s = MustCompile(R"({"maxLength": 2, "minLength": 2})");
  EXPECT_EQ(Errors(s, "\"\xc3\xa9\xc3\xa9\""), V{});  // two code points, four bytes
  EXPECT_EQ(Errors(s, "\"\xc3\xa9\""), V{"/: \"\xc3\xa9\" is shorter than 2 characters"});
}

TEST(JsonSchemaTest, NumbersCompareExactly) {
  JsonSchema s = MustCompile(R"({"maximum": 9007199254740991, "minimum": -9223372036854775808})");
  EXPECT_EQ(Errors(s, "9007199254740991"), V{});
  EXPECT_EQ(Errors(s, "9007199254740992"),
            V{"/: 9007199254740992 is greater than maximum 9007199254740991"});
  EXPECT_EQ(Errors(s, "18446744073709551615"),
            V{"/: 18446744073709551615 is greater than maximum 9007199254740991"});
  EXPECT_EQ(Errors(s, "-9223372036854775808"), V{});
  JsonSchema e = MustCompile(R"({"enum": [1, [2], {"a": 3}], "uniqueItems": true})");
  EXPECT_EQ(Errors(e, "1.0"), V{});
  EXPECT_EQ(Errors(e, "[2.0]"), V{});
  EXPECT_EQ(Errors(e, R"({"a": 3.0})"), V{});
  EXPECT_EQ(Errors(e, "true"), V{"/: true is not one of [1,[2],{\"a\":3}]"});
}

TEST(JsonSchemaTest, RefsCombinatorsAndBooleanSchemas) {
  JsonSchema s = MustCompile(R"({
    "$defs": {"pos": {"type": "integer", "minimum": 1}, "a~b/c": {"const": 7}},
    "properties": {
      "p": {"$ref": "#/$defs/pos", "maximum": 3},
      "q": {"$ref": "#/$defs/a~0b~1c"},
      "one": {"oneOf": [{"type": "integer"}, {"minimum": 2}]},
      "any": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
      "all": {"allOf": [{"minimum": 1}, {"maximum": 2}]},
      "nope": {"not": {"type": "string"}},
      "never": false,
      "always": true
    }
  })");
  EXPECT_EQ(
      Errors(s, R"({"p": 2, "q": 7, "one": 2.5, "any": "x", "all": 1, "nope": 1, "always": 1})"),
      V{});
  // $ref applies beside its siblings (draft 2020-12).
  EXPECT_EQ(Errors(s, R"({"p": 0})"), V{"/p: 0 is less than minimum 1"});
  EXPECT_EQ(Errors(s, R"({"p": 4})"), V{"/p: 4 is greater than maximum 3"});
  EXPECT_EQ(Errors(s, R"({"q": 8})"), V{"/q: 8 is not 7"});
  EXPECT_EQ(Errors(s, R"({"one": 3})"), V{"/one: matches more than one schema in oneOf (0 and 1)"});
  EXPECT_EQ(Errors(s, R"({"any": 1})"), V{"/any: matches none of the schemas in anyOf"});
  EXPECT_EQ(Errors(s, R"({"one": 1.5})"), V{"/one: matches none of the schemas in oneOf"});
  EXPECT_EQ(Errors(s, R"({"all": 3})"), V{"/all: 3 is greater than maximum 2"});
  EXPECT_EQ(Errors(s, R"({"nope": "s"})"), V{"/nope: matches the schema in not"});
  EXPECT_EQ(Errors(s, R"({"never": null})"), V{"/never: no value is allowed here"});

  auto sub = s.Validate(Json(0), "#/$defs/pos");
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->size(), 1u);
  EXPECT_EQ((*sub)[0].ToString(), "/: 0 is less than minimum 1");
  EXPECT_EQ(s.Validate(Json(0), "#/$defs/none").status().message(),
            "schema reference \"#/$defs/none\" names no schema");
  EXPECT_EQ(s.Validate(Json(0), "#/$defs").status().message(),
            "schema reference \"#/$defs\" names no schema");
}

TEST(JsonSchemaTest, PathsEscapeAndMessagesAreBounded) {
  JsonSchema s = MustCompile(
      R"({"additionalProperties": {"type": "integer"}, "properties": {"s": {"maxLength": 1}}})");
  EXPECT_EQ(Errors(s, R"({"a/b~c": "x"})"), V{"/a~1b~0c: expected integer, got string"});
  std::string long_value(5000, 'z');
  auto errors = s.Validate(Json{{"s", long_value}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_LT(errors[0].message.size(), 120u);
  EXPECT_EQ(errors[0].message, "\"" + std::string(79, 'z') + "… is longer than 1 character");
}

TEST(JsonSchemaTest, RefLoopIsCutOff) {
  JsonSchema s = MustCompile(
      R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})");
  EXPECT_EQ(Errors(s, "1"), V{"/: schema references nest too deeply"});
}

TEST(JsonSchemaTest, CompileRefusesWhatItDoesNotEnforce) {
  auto message = [](const char* schema) {
    return std::string(JsonSchema::Compile(Json::parse(schema)).status().message());
  };
  EXPECT_EQ(message(R"({"properties": {"a": {"format": "date-time"}}})"),
            "schema #/properties/a: unsupported keyword \"format\"");
  EXPECT_EQ(message(R"({"patternProperties": {}})"),
            "schema #: unsupported keyword \"patternProperties\"");
  EXPECT_EQ(message(R"({"items": [{}]})"),
            "schema #: \"items\" as an array (the draft 7 tuple form) is not supported");
  EXPECT_EQ(message(R"({"$ref": "other.json#/a"})"),
            "schema #: \"$ref\" \"other.json#/a\" does not resolve (only local \"#/...\" "
            "references are supported)");
  EXPECT_EQ(message(R"({"$ref": "#/default", "default": {"type": "string"}})"),
            "schema: a \"$ref\" names a value that is not a schema");
  EXPECT_EQ(message(R"({"type": "text"})"), "schema #: \"type\" names an unknown type \"text\"");
  EXPECT_EQ(message(R"({"minLength": -1})"),
            "schema #: \"minLength\" must be a non-negative integer");
  EXPECT_EQ(message(R"({"pattern": "("})"),
            "schema #: \"pattern\" does not compile at offset 1: missing closing parenthesis");
  EXPECT_EQ(message(R"({"required": ["a", "a"]})"),
            "schema #: \"required\" must hold distinct strings");
  EXPECT_EQ(message(R"({"anyOf": []})"), "schema #: \"anyOf\" must be a non-empty array");
  EXPECT_EQ(message(R"({"$defs": {"x": {"$id": "y"}}})"),
            "schema #/$defs/x: \"$id\" is supported only at the root");
  EXPECT_EQ(message("3"), "schema #: a schema must be an object or a boolean");
}

}  // namespace
}  // namespace triad::contracts::internal
