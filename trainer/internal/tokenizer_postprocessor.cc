#include "trainer/internal/tokenizer_postprocessor.h"

#include <map>
#include <utility>

#include "trainer/internal/bpe_model.h"

namespace triad::trainer::internal {
namespace {

struct Special {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
};

// The template for one sequence: special tokens and the sequence itself (an empty Special).
class TemplateProcessor : public PostProcessor {
 public:
  explicit TemplateProcessor(std::vector<std::pair<bool, Special>> items)
      : items_(std::move(items)) {}
  void Process(std::vector<int32_t>* ids, std::vector<std::string>* tokens) const override {
    std::vector<int32_t> out_ids;
    std::vector<std::string> out_tokens;
    for (const auto& [is_sequence, special] : items_) {
      if (is_sequence) {
        out_ids.insert(out_ids.end(), ids->begin(), ids->end());
        out_tokens.insert(out_tokens.end(), tokens->begin(), tokens->end());
      } else {
        out_ids.insert(out_ids.end(), special.ids.begin(), special.ids.end());
        out_tokens.insert(out_tokens.end(), special.tokens.begin(), special.tokens.end());
      }
    }
    *ids = std::move(out_ids);
    *tokens = std::move(out_tokens);
  }

 private:
  std::vector<std::pair<bool, Special>> items_;
};

class NoOpProcessor : public PostProcessor {
 public:
  void Process(std::vector<int32_t>*, std::vector<std::string>*) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void Process(std::vector<int32_t>* ids, std::vector<std::string>* tokens) const override {
    for (const auto& step : steps_) step->Process(ids, tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// A ["token", id] pair of RobertaProcessing and BertProcessing.
Result<Special> TokenPair(const Json& json, const char* key, const std::string& where) {
  TRAINER_ASSIGN_OR_RETURN(const Json* pair, RequiredArray(json, key, where));
  if (pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_number_integer() ||
      (*pair)[1].get<int64_t>() < 0 || (*pair)[1].get<int64_t>() > kMaxTokenId) {
    return LoadError(where, std::string("field \"") + key + "\" must be [token, id]");
  }
  return Special{{static_cast<int32_t>((*pair)[1].get<int64_t>())},
                 {(*pair)[0].get<std::string>()}};
}

Result<std::unique_ptr<PostProcessor>> ParseTemplate(const Json& json, const std::string& where) {
  TRAINER_ASSIGN_OR_RETURN(const Json* specials_json,
                           RequiredObject(json, "special_tokens", where));
  std::map<std::string, Special> specials;
  for (auto it = specials_json->begin(); it != specials_json->end(); ++it) {
    const std::string at = where + " special token \"" + it.key().substr(0, 64) + "\"";
    TRAINER_ASSIGN_OR_RETURN(const Json* ids, RequiredArray(it.value(), "ids", at));
    TRAINER_ASSIGN_OR_RETURN(const Json* tokens, RequiredArray(it.value(), "tokens", at));
    if (ids->size() != tokens->size() || ids->size() > 64) {
      return LoadError(at, "ids and tokens must have the same length (at most 64)");
    }
    Special s;
    for (size_t i = 0; i < ids->size(); ++i) {
      const Json& id = (*ids)[i];
      const Json& token = (*tokens)[i];
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId ||
          !token.is_string()) {
        return LoadError(at, "ids must be token ids and tokens strings");
      }
      s.ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      s.tokens.push_back(token.get<std::string>());
    }
    specials.emplace(it.key(), std::move(s));
  }
  TRAINER_ASSIGN_OR_RETURN(const Json* single, RequiredArray(json, "single", where));
  std::vector<std::pair<bool, Special>> items;
  for (const Json& piece : *single) {
    if (const Json* special = OptionalField(piece, "SpecialToken")) {
      TRAINER_ASSIGN_OR_RETURN(std::string id, RequiredString(*special, "id", where + " single"));
      auto it = specials.find(id);
      if (it == specials.end())
        return LoadError(where, "special token \"" + id.substr(0, 64) + "\" is not defined");
      items.emplace_back(false, it->second);
    } else if (const Json* sequence = OptionalField(piece, "Sequence")) {
      TRAINER_ASSIGN_OR_RETURN(std::string id, RequiredString(*sequence, "id", where + " single"));
      if (id != "A") return Unsupported(where + " with sequence " + id + " in the single template");
      items.emplace_back(true, Special());
    } else {
      return LoadError(where, "single template items must be SpecialToken or Sequence");
    }
  }
  return std::unique_ptr<PostProcessor>(new TemplateProcessor(std::move(items)));
}

}  // namespace

Result<std::unique_ptr<PostProcessor>> ParsePostProcessor(const Json& json) {
  if (!json.is_object()) return LoadError("post_processor", "must be an object or null");
  TRAINER_ASSIGN_OR_RETURN(std::string type, RequiredString(json, "type", "post_processor"));
  const std::string where = "post_processor " + type;
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new NoOpProcessor());
  if (type == "TemplateProcessing") return ParseTemplate(json, where);
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    TRAINER_ASSIGN_OR_RETURN(Special cls, TokenPair(json, "cls", where));
    TRAINER_ASSIGN_OR_RETURN(Special sep, TokenPair(json, "sep", where));
    std::vector<std::pair<bool, Special>> items;
    items.emplace_back(false, std::move(cls));
    items.emplace_back(true, Special());
    items.emplace_back(false, std::move(sep));
    return std::unique_ptr<PostProcessor>(new TemplateProcessor(std::move(items)));
  }
  if (type == "Sequence") {
    TRAINER_ASSIGN_OR_RETURN(const Json* list, RequiredArray(json, "processors", where));
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const Json& item : *list) {
      TRAINER_ASSIGN_OR_RETURN(auto step, ParsePostProcessor(item));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<PostProcessor>(new SequenceProcessor(std::move(steps)));
  }
  return Unsupported("post_processor type " + type);
}

}  // namespace triad::trainer::internal
