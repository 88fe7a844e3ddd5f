#include "contracts/internal/json_schema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace triad::contracts::internal {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxQuote = 80;
// Validation follows the document, which is at most a few dozen levels deep; only $ref chains that
// do not descend could go further, and a schema whose refs loop is cut off here.
constexpr int kMaxValidationDepth = 200;
// PCRE2 backtracking bounds, so a pattern cannot be made to run for long on hostile strings.
constexpr uint32_t kPcreMatchLimit = 1'000'000;
constexpr uint32_t kPcreDepthLimit = 10'000;

struct CodeFree {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* m) const { pcre2_match_context_free(m); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeFree>;

const std::set<std::string>& Keywords() {
  static const auto* k = new std::set<std::string>{"$schema",
                                                   "$id",
                                                   "$defs",
                                                   "$ref",
                                                   "$comment",
                                                   "title",
                                                   "description",
                                                   "default",
                                                   "examples",
                                                   "properties",
                                                   "additionalProperties",
                                                   "items",
                                                   "allOf",
                                                   "anyOf",
                                                   "oneOf",
                                                   "not",
                                                   "type",
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
                                                   "required",
                                                   "minProperties",
                                                   "maxProperties"};
  return *k;
}

const std::set<std::string>& TypeNames() {
  static const auto* t = new std::set<std::string>{"null",   "boolean", "object", "array",
                                                   "number", "integer", "string"};
  return *t;
}

bool IsIntegral(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool IsNonNegativeInteger(const Json& v) {
  if (v.is_number_unsigned()) return true;
  if (v.is_number_integer()) return v.get<int64_t>() >= 0;
  return IsIntegral(v) && v.get<double>() >= 0 && v.get<double>() < 1.8e19;
}

uint64_t AsCount(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(v.get<int64_t>());
  return static_cast<uint64_t>(v.get<double>());
}

// -1, 0, 1 as a < b, a == b, a > b, for two JSON numbers; exact for any two integers.
int CompareNumbers(const Json& a, const Json& b) {
  auto as_int = [](const Json& v, __int128* out) {
    if (v.is_number_unsigned()) {
      *out = v.get<uint64_t>();
      return true;
    }
    if (v.is_number_integer()) {
      *out = v.get<int64_t>();
      return true;
    }
    return false;
  };
  __int128 ia, ib;
  if (as_int(a, &ia) && as_int(b, &ib)) return ia < ib ? -1 : (ia > ib ? 1 : 0);
  long double da = a.is_number_float()
                       ? a.get<double>()
                       : (a.is_number_unsigned() ? a.get<uint64_t>() : a.get<int64_t>());
  long double db = b.is_number_float()
                       ? b.get<double>()
                       : (b.is_number_unsigned() ? b.get<uint64_t>() : b.get<int64_t>());
  return da < db ? -1 : (da > db ? 1 : 0);
}

// JSON Schema equality: numbers by value (1 == 1.0), everything else structurally.
bool JsonEqual(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!JsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto jt = b.find(it.key());
      if (jt == b.end() || !JsonEqual(*it, *jt)) return false;
    }
    return true;
  }
  return a == b;
}

std::string TypeOf(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    default:
      return IsIntegral(v) ? "integer" : "number";
  }
}

bool HasType(const Json& v, const std::string& type) {
  if (type == "integer") return IsIntegral(v);
  if (type == "number") return v.is_number();
  return TypeOf(v) == type;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// Resolves a local reference "#", "#/a/b~1c" against `root`; nullptr when it names nothing.
const Json* ResolvePointer(const Json& root, absl::string_view ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  ref.remove_prefix(1);
  if (ref.empty()) return &root;
  if (ref[0] != '/' || ref.find('%') != absl::string_view::npos) return nullptr;
  const Json* node = &root;
  for (absl::string_view raw : absl::StrSplit(ref.substr(1), '/')) {
    std::string token = absl::StrReplaceAll(raw, {{"~1", "/"}, {"~0", "~"}});
    if (node->is_object()) {
      auto it = node->find(token);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      if (token.empty() || token.size() > 9 ||
          token.find_first_not_of("0123456789") != std::string::npos ||
          (token.size() > 1 && token[0] == '0')) {
        return nullptr;
      }
      size_t i = std::stoul(token);
      if (i >= node->size()) return nullptr;
      node = &(*node)[i];
    } else {
      return nullptr;
    }
  }
  return node;
}

}  // namespace

std::string SchemaError::ToString() const {
  return absl::StrCat(path.empty() ? "/" : path, ": ", message);
}

std::string QuoteJson(const Json& value) {
  std::string s = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() <= kMaxQuote) return s;
  size_t cut = kMaxQuote;
  // Do not cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(s.substr(0, cut), "…");
}

std::string JoinPointer(const std::string& path, absl::string_view token) {
  return absl::StrCat(path, "/", absl::StrReplaceAll(token, {{"~", "~0"}, {"/", "~1"}}));
}

struct JsonSchema::Impl {
  Json root;
  std::map<const Json*, CodePtr> patterns;
  std::map<const Json*, const Json*> refs;
  std::set<const Json*> compiled;  // every node that CompileNode checked as a schema

  absl::Status CompileNode(const Json& node, const std::string& where);
  void ValidateNode(const Json& schema, const Json& doc, const std::string& path, int depth,
                    std::vector<SchemaError>& errors) const;
  bool Matches(const Json& schema, const Json& doc, int depth) const {
    std::vector<SchemaError> scratch;
    ValidateNode(schema, doc, "", depth, scratch);
    return scratch.empty();
  }
  bool PatternMatches(const Json& schema_node, const std::string& s, bool* error) const;
};

absl::Status JsonSchema::Impl::CompileNode(const Json& node, const std::string& where) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema ", where.empty() ? "#" : "#" + where, ": ", why));
  };
  if (!node.is_boolean() && !node.is_object())
    return bad("a schema must be an object or a boolean");
  compiled.insert(&node);
  if (node.is_boolean()) return absl::OkStatus();
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = *it;
    std::string here = JoinPointer(where, k);
    if (Keywords().count(k) == 0) return bad(absl::StrCat("unsupported keyword \"", k, "\""));
    if (k == "$schema" || k == "$comment" || k == "title" || k == "description") {
      if (!v.is_string()) return bad(absl::StrCat("\"", k, "\" must be a string"));
    } else if (k == "$id") {
      if (!where.empty()) return bad("\"$id\" is supported only at the root");
      if (!v.is_string()) return bad("\"$id\" must be a string");
    } else if (k == "$defs" || k == "properties") {
      if (!v.is_object()) return bad(absl::StrCat("\"", k, "\" must be an object"));
      for (auto jt = v.begin(); jt != v.end(); ++jt) {
        absl::Status st = CompileNode(*jt, JoinPointer(here, jt.key()));
        if (!st.ok()) return st;
      }
    } else if (k == "$ref") {
      if (!v.is_string()) return bad("\"$ref\" must be a string");
      const Json* target = ResolvePointer(root, v.get<std::string>());
      if (target == nullptr) {
        return bad(
            absl::StrCat("\"$ref\" ", QuoteJson(v),
                         " does not resolve (only local \"#/...\" references are supported)"));
      }
      refs[&node] = target;
    } else if (k == "additionalProperties" || k == "not") {
      absl::Status st = CompileNode(v, here);
      if (!st.ok()) return st;
    } else if (k == "items") {
      if (v.is_array())
        return bad("\"items\" as an array (the draft 7 tuple form) is not supported");
      absl::Status st = CompileNode(v, here);
      if (!st.ok()) return st;
    } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
      if (!v.is_array() || v.empty())
        return bad(absl::StrCat("\"", k, "\" must be a non-empty array"));
      for (size_t i = 0; i < v.size(); ++i) {
        absl::Status st = CompileNode(v[i], JoinPointer(here, std::to_string(i)));
        if (!st.ok()) return st;
      }
    } else if (k == "type") {
      std::vector<Json> names = v.is_array() ? v.get<std::vector<Json>>() : std::vector<Json>{v};
      if (names.empty()) return bad("\"type\" must not be empty");
      std::set<std::string> seen;
      for (const Json& n : names) {
        if (!n.is_string() || TypeNames().count(n.get<std::string>()) == 0) {
          return bad(absl::StrCat("\"type\" names an unknown type ", QuoteJson(n)));
        }
        if (!seen.insert(n.get<std::string>()).second) return bad("\"type\" repeats a type");
      }
    } else if (k == "enum") {
      if (!v.is_array()) return bad("\"enum\" must be an array");
    } else if (k == "pattern") {
      if (!v.is_string()) return bad("\"pattern\" must be a string");
      const std::string& p = v.get_ref<const std::string&>();
      int code = 0;
      PCRE2_SIZE offset = 0;
      // ECMA-262 semantics where PCRE2 differs by default: '$' matches only at the very end.
      CodePtr code_ptr(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                                     PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code, &offset, nullptr));
      if (code_ptr == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return bad(absl::StrCat("\"pattern\" does not compile at offset ", offset, ": ",
                                reinterpret_cast<const char*>(msg)));
      }
      patterns[&node] = std::move(code_ptr);
    } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" ||
               k == "exclusiveMaximum") {
      if (!v.is_number()) return bad(absl::StrCat("\"", k, "\" must be a number"));
    } else if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" ||
               k == "minProperties" || k == "maxProperties") {
      if (!IsNonNegativeInteger(v))
        return bad(absl::StrCat("\"", k, "\" must be a non-negative integer"));
    } else if (k == "uniqueItems") {
      if (!v.is_boolean()) return bad("\"uniqueItems\" must be a boolean");
    } else if (k == "required") {
      if (!v.is_array()) return bad("\"required\" must be an array");
      std::set<std::string> seen;
      for (const Json& n : v) {
        if (!n.is_string() || !seen.insert(n.get<std::string>()).second) {
          return bad("\"required\" must hold distinct strings");
        }
      }
    }
    // default, examples: annotations, any value.
  }
  return absl::OkStatus();
}

bool JsonSchema::Impl::PatternMatches(const Json& schema_node, const std::string& s,
                                      bool* error) const {
  const pcre2_code* code = patterns.at(&schema_node).get();
  std::unique_ptr<pcre2_match_data, MatchDataFree> md(
      pcre2_match_data_create_from_pattern(code, nullptr));
  std::unique_ptr<pcre2_match_context, MatchContextFree> ctx(pcre2_match_context_create(nullptr));
  if (md == nullptr || ctx == nullptr) {
    *error = true;
    return false;
  }
  pcre2_set_match_limit(ctx.get(), kPcreMatchLimit);
  pcre2_set_depth_limit(ctx.get(), kPcreDepthLimit);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md.get(),
                       ctx.get());
  if (rc >= 0) return true;
  *error = rc != PCRE2_ERROR_NOMATCH;
  return false;
}

void JsonSchema::Impl::ValidateNode(const Json& schema, const Json& doc, const std::string& path,
                                    int depth, std::vector<SchemaError>& errors) const {
  auto fail = [&](std::string message) { errors.push_back({path, std::move(message)}); };
  if (depth > kMaxValidationDepth) {
    fail("schema references nest too deeply");
    return;
  }
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) fail("no value is allowed here");
    return;
  }
  auto kw = [&](const char* name) -> const Json* {
    auto it = schema.find(name);
    return it == schema.end() ? nullptr : &*it;
  };

  if (const Json* ref = kw("$ref")) {
    (void)ref;
    ValidateNode(*refs.at(&schema), doc, path, depth + 1, errors);
  }
  if (const Json* type = kw("type")) {
    std::vector<std::string> names;
    if (type->is_array()) {
      for (const Json& n : *type) names.push_back(n.get<std::string>());
    } else {
      names.push_back(type->get<std::string>());
    }
    bool ok = false;
    for (const std::string& n : names) ok = ok || HasType(doc, n);
    if (!ok) {
      fail(absl::StrCat("expected ", absl::StrJoin(names, " or "), ", got ", TypeOf(doc)));
      return;  // the other keywords would only repeat the same complaint
    }
  }
  if (const Json* e = kw("enum")) {
    bool found = false;
    for (const Json& option : *e) found = found || JsonEqual(option, doc);
    if (!found) fail(absl::StrCat(QuoteJson(doc), " is not one of ", e->dump()));
  }
  if (const Json* c = kw("const")) {
    if (!JsonEqual(*c, doc)) fail(absl::StrCat(QuoteJson(doc), " is not ", QuoteJson(*c)));
  }

  if (doc.is_number()) {
    if (const Json* m = kw("minimum"); m && CompareNumbers(doc, *m) < 0) {
      fail(absl::StrCat(doc.dump(), " is less than minimum ", m->dump()));
    }
    if (const Json* m = kw("maximum"); m && CompareNumbers(doc, *m) > 0) {
      fail(absl::StrCat(doc.dump(), " is greater than maximum ", m->dump()));
    }
    if (const Json* m = kw("exclusiveMinimum"); m && CompareNumbers(doc, *m) <= 0) {
      fail(absl::StrCat(doc.dump(), " is not greater than ", m->dump()));
    }
    if (const Json* m = kw("exclusiveMaximum"); m && CompareNumbers(doc, *m) >= 0) {
      fail(absl::StrCat(doc.dump(), " is not less than ", m->dump()));
    }
  }

  if (doc.is_string()) {
    const std::string& s = doc.get_ref<const std::string&>();
    if (const Json* m = kw("minLength"); m && CodePoints(s) < AsCount(*m)) {
      fail(absl::StrCat(QuoteJson(doc), " is shorter than ",
                        Plural(AsCount(*m), "character", "characters")));
    }
    if (const Json* m = kw("maxLength"); m && CodePoints(s) > AsCount(*m)) {
      fail(absl::StrCat(QuoteJson(doc), " is longer than ",
                        Plural(AsCount(*m), "character", "characters")));
    }
    if (const Json* p = kw("pattern")) {
      bool error = false;
      if (!PatternMatches(schema, s, &error)) {
        fail(error ? absl::StrCat(QuoteJson(doc), " could not be matched against ",
                                  p->get<std::string>())
                   : absl::StrCat(QuoteJson(doc), " does not match ", p->get<std::string>()));
      }
    }
  }

  if (doc.is_array()) {
    if (const Json* m = kw("minItems"); m && doc.size() < AsCount(*m)) {
      fail(absl::StrCat("has ", Plural(doc.size(), "item", "items"), ", fewer than the minimum ",
                        AsCount(*m)));
    }
    if (const Json* m = kw("maxItems"); m && doc.size() > AsCount(*m)) {
      fail(absl::StrCat("has ", Plural(doc.size(), "item", "items"), ", more than the maximum ",
                        AsCount(*m)));
    }
    if (const Json* u = kw("uniqueItems"); u && u->get<bool>()) {
      bool reported = false;
      for (size_t i = 0; i < doc.size() && !reported; ++i) {
        for (size_t j = i + 1; j < doc.size() && !reported; ++j) {
          if (JsonEqual(doc[i], doc[j])) {
            fail(absl::StrCat("items ", i, " and ", j, " are equal (", QuoteJson(doc[i]), ")"));
            reported = true;
          }
        }
      }
    }
    if (const Json* items = kw("items")) {
      for (size_t i = 0; i < doc.size(); ++i) {
        ValidateNode(*items, doc[i], JoinPointer(path, std::to_string(i)), depth + 1, errors);
      }
    }
  }

  if (doc.is_object()) {
    if (const Json* m = kw("minProperties"); m && doc.size() < AsCount(*m)) {
      fail(absl::StrCat("has ", Plural(doc.size(), "property", "properties"),
                        ", fewer than the minimum ", AsCount(*m)));
    }
    if (const Json* m = kw("maxProperties"); m && doc.size() > AsCount(*m)) {
      fail(absl::StrCat("has ", Plural(doc.size(), "property", "properties"),
                        ", more than the maximum ", AsCount(*m)));
    }
    if (const Json* req = kw("required")) {
      for (const Json& name : *req) {
        if (!doc.contains(name.get<std::string>())) {
          fail(absl::StrCat("missing required property ", QuoteJson(name)));
        }
      }
    }
    const Json* props = kw("properties");
    const Json* additional = kw("additionalProperties");
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      std::string child = JoinPointer(path, it.key());
      if (props != nullptr) {
        auto p = props->find(it.key());
        if (p != props->end()) {
          ValidateNode(*p, *it, child, depth + 1, errors);
          continue;
        }
      }
      if (additional == nullptr) continue;
      if (additional->is_boolean() && !additional->get<bool>()) {
        fail(absl::StrCat("unknown property ", QuoteJson(it.key())));
      } else {
        ValidateNode(*additional, *it, child, depth + 1, errors);
      }
    }
  }

  if (const Json* all = kw("allOf")) {
    for (const Json& sub : *all) ValidateNode(sub, doc, path, depth + 1, errors);
  }
  if (const Json* any = kw("anyOf")) {
    bool ok = false;
    for (const Json& sub : *any) ok = ok || Matches(sub, doc, depth + 1);
    if (!ok) fail("matches none of the schemas in anyOf");
  }
  if (const Json* one = kw("oneOf")) {
    std::vector<size_t> matched;
    for (size_t i = 0; i < one->size(); ++i) {
      if (Matches((*one)[i], doc, depth + 1)) matched.push_back(i);
    }
    if (matched.empty()) {
      fail("matches none of the schemas in oneOf");
    } else if (matched.size() > 1) {
      fail(absl::StrCat("matches more than one schema in oneOf (", matched[0], " and ", matched[1],
                        ")"));
    }
  }
  if (const Json* n = kw("not")) {
    if (Matches(*n, doc, depth + 1)) fail("matches the schema in not");
  }
}

JsonSchema::JsonSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;
JsonSchema::~JsonSchema() = default;

absl::StatusOr<JsonSchema> JsonSchema::Compile(const Json& schema) {
  auto impl = std::make_unique<Impl>();
  impl->root = schema;
  absl::Status st = impl->CompileNode(impl->root, "");
  if (!st.ok()) return st;
  for (const auto& [from, to] : impl->refs) {
    if (impl->compiled.count(to) == 0) {
      return absl::InvalidArgumentError("schema: a \"$ref\" names a value that is not a schema");
    }
  }
  return JsonSchema(std::move(impl));
}

std::vector<SchemaError> JsonSchema::Validate(const Json& doc) const {
  std::vector<SchemaError> errors;
  impl_->ValidateNode(impl_->root, doc, "", 0, errors);
  return errors;
}

absl::StatusOr<std::vector<SchemaError>> JsonSchema::Validate(const Json& doc,
                                                              absl::string_view ref) const {
  const Json* target = ResolvePointer(impl_->root, ref);
  if (target == nullptr)
    return absl::NotFoundError(absl::StrCat("schema reference \"", ref, "\" names no schema"));
  // Only nodes that Compile checked have their patterns and refs (a pointer into "default", say,
  // was never checked).
  if (impl_->compiled.count(target) == 0) {
    return absl::NotFoundError(absl::StrCat("schema reference \"", ref, "\" names no schema"));
  }
  std::vector<SchemaError> errors;
  impl_->ValidateNode(*target, doc, "", 0, errors);
  return errors;
}

}  // namespace triad::contracts::internal
