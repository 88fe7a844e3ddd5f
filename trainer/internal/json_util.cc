#include "trainer/internal/json_util.h"

#include <set>
#include <utility>
#include <vector>

namespace triad::trainer::internal {
namespace {

struct ParseAbort {
  explicit ParseAbort(std::string r) : reason(std::move(r)) {}
  std::string reason;
};

}  // namespace

Result<nlohmann::json> ParseJson(std::string_view text, const std::string& what, int max_depth,
                                 bool may_quote) {
  using nlohmann::json;
  std::vector<std::set<std::string>> keys;  // one set per open object
  int depth = 0;
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (++depth > max_depth)
          throw ParseAbort("nested deeper than " + std::to_string(max_depth) + " levels");
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        --depth;
        if (event == json::parse_event_t::object_end) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) {
          throw ParseAbort(may_quote ? "duplicate key \"" + parsed.get<std::string>() + "\""
                                     : "duplicate key");
        }
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  const std::string prefix = what.empty() ? "" : what + ": ";
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const ParseAbort& e) {
    return InvalidArgument(prefix + "invalid JSON: " + e.reason);
  } catch (const json::parse_error& e) {
    // nlohmann's own message quotes the last token read, which may be data: give the position only.
    return InvalidArgument(prefix + "invalid JSON (syntax error at byte " + std::to_string(e.byte) +
                           ")");
  } catch (const json::exception& e) {
    return InvalidArgument(prefix + "invalid JSON (" +
                           std::string(may_quote ? e.what() : "bad value") + ")");
  }
}

std::string JsonTypeName(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

}  // namespace triad::trainer::internal
