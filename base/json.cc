#include "base/json.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace triad::base {
namespace {

// A SAX consumer that builds the value like nlohmann's own DOM builder, but refuses duplicate keys and
// deep nesting as it goes, so hostile input is rejected before it is materialized.
class StrictBuilder {
 public:
  explicit StrictBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(nlohmann::json::number_integer_t v) { return Put(v); }
  bool number_unsigned(nlohmann::json::number_unsigned_t v) { return Put(v); }
  bool number_float(nlohmann::json::number_float_t v, const std::string&) { return Put(v); }
  bool string(std::string& v) { return Put(std::move(v)); }
  bool binary(nlohmann::json::binary_t&) { return Fail("binary values are not JSON"); }

  bool start_object(size_t) { return Open(nlohmann::json::object()); }
  bool key(std::string& k) {
    if (!keys_.back().insert(k).second) return Fail(absl::StrCat("duplicate key \"", k, "\""));
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(size_t) { return Open(nlohmann::json::array()); }
  bool end_array() { return Close(); }

  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception&) {
    if (error_.empty()) error_ = absl::StrCat("syntax error at byte ", position);
    return false;
  }

  nlohmann::json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  template <typename V>
  bool Put(V&& v) {
    Insert(nlohmann::json(std::forward<V>(v)));
    return true;
  }
  nlohmann::json* Insert(nlohmann::json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    nlohmann::json& parent = *stack_.back();
    if (parent.is_object()) return &(parent[key_] = std::move(v));
    parent.push_back(std::move(v));
    return &parent.back();
  }
  bool Open(nlohmann::json v) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      return Fail(absl::StrCat("nesting deeper than ", max_depth_));
    }
    stack_.push_back(Insert(std::move(v)));
    keys_.emplace_back();
    return true;
  }
  bool Close() {
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }

  int max_depth_;
  nlohmann::json root_;
  std::vector<nlohmann::json*> stack_;
  std::vector<std::set<std::string>> keys_;
  std::string key_;
  std::string error_;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseJsonStrict(absl::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("JSON: document of ", text.size(), " bytes is over the limit of ", limits.max_bytes));
  }
  StrictBuilder builder(limits.max_depth);
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                      nlohmann::json::input_format_t::json, /*strict=*/true);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON: ", builder.error().empty() ? "malformed" : builder.error()));
  }
  return std::move(builder.root());
}

}  // namespace triad::base
