#include "trainer/internal/tokenizer_json.h"

#include <exception>
#include <unordered_set>
#include <utility>
#include <vector>

namespace triad::trainer::internal {
namespace {

// Thrown from the parser callback to stop parsing; caught in ParseBoundedJson.
struct RejectJson {
  std::string reason;
};

const char* TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unexpected value";
  }
}

Status WrongType(const std::string& where, const char* key, const char* want, const Json& got) {
  return LoadError(where,
                   std::string("field \"") + key + "\" must be " + want + ", not " + TypeName(got));
}

}  // namespace

Status LoadError(const std::string& where, const std::string& what) {
  return InvalidArgument("tokenizer.json: " + where + ": " + what);
}

Status Unsupported(const std::string& what) {
  return Unimplemented("tokenizer.json: " + what + " is not supported");
}

Result<Json> ParseBoundedJson(std::string_view text) {
  if (text.size() > kMaxTokenizerJsonBytes) {
    return InvalidArgument("tokenizer.json: " + std::to_string(text.size()) +
                           " bytes is over the limit of " + std::to_string(kMaxTokenizerJsonBytes) +
                           " bytes");
  }
  // One set of keys per open object, to refuse duplicates.
  std::vector<std::unordered_set<std::string>> keys;
  auto callback = [&keys](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (depth > kMaxJsonDepth) {
      throw RejectJson{"nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    }
    switch (event) {
      case Json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!keys.empty() && !keys.back().insert(key).second) {
          throw RejectJson{"duplicate key \"" + key.substr(0, 64) + "\""};
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const RejectJson& e) {
    return InvalidArgument("tokenizer.json: " + e.reason);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("tokenizer.json: not valid JSON: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status(Code::kResourceExhausted, "tokenizer.json: out of memory while parsing");
  }
}

const Json* OptionalField(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> RequiredString(const Json& object, const char* key, const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return LoadError(where, std::string("missing field \"") + key + "\"");
  if (!v->is_string()) return WrongType(where, key, "a string", *v);
  return v->get<std::string>();
}

Result<std::optional<std::string>> OptionalString(const Json& object, const char* key,
                                                  const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(where, key, "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

Result<bool> RequiredBool(const Json& object, const char* key, const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return LoadError(where, std::string("missing field \"") + key + "\"");
  if (!v->is_boolean()) return WrongType(where, key, "a boolean", *v);
  return v->get<bool>();
}

Result<bool> BoolOr(const Json& object, const char* key, bool fallback, const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return WrongType(where, key, "a boolean", *v);
  return v->get<bool>();
}

Result<int64_t> RequiredInt(const Json& object, const char* key, int64_t lo, int64_t hi,
                            const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return LoadError(where, std::string("missing field \"") + key + "\"");
  int64_t n = 0;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) {
      return LoadError(where, std::string("field \"") + key + "\" is out of range [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    n = static_cast<int64_t>(u);
  } else if (v->is_number_integer()) {
    n = v->get<int64_t>();
  } else {
    return WrongType(where, key, "an integer", *v);
  }
  if (n < lo || n > hi) {
    return LoadError(where, std::string("field \"") + key + "\" is out of range [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return n;
}

Result<const Json*> RequiredObject(const Json& object, const char* key, const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return LoadError(where, std::string("missing field \"") + key + "\"");
  if (!v->is_object()) return WrongType(where, key, "an object", *v);
  return v;
}

Result<const Json*> RequiredArray(const Json& object, const char* key, const std::string& where) {
  const Json* v = OptionalField(object, key);
  if (v == nullptr) return LoadError(where, std::string("missing field \"") + key + "\"");
  if (!v->is_array()) return WrongType(where, key, "an array", *v);
  return v;
}

}  // namespace triad::trainer::internal
