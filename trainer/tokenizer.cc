// Hugging Face tokenizer.json, byte-level BPE and BPE with byte fallback. The pipeline follows the
// reference (huggingface/tokenizers) step by step:
//   added tokens (normalized=false) in the raw text -> normalizer on each remaining segment ->
//   added tokens (normalized=true) in the normalized segments -> pre-tokenizer -> BPE per pre-token
//   -> post-processor (add_special_tokens).
// Decoding maps ids to added-token or vocabulary strings and runs the decoder chain.
#include "trainer/tokenizer.h"

#include <algorithm>
#include <new>
#include <utility>

#include "trainer/internal/bpe_model.h"
#include "trainer/internal/tokenizer_added.h"
#include "trainer/internal/tokenizer_decoder.h"
#include "trainer/internal/tokenizer_json.h"
#include "trainer/internal/tokenizer_normalizer.h"
#include "trainer/internal/tokenizer_postprocessor.h"
#include "trainer/internal/tokenizer_pretokenizer.h"
#include "trainer/internal/tokenizer_unicode.h"

namespace triad::trainer {
namespace {

using internal::AddedToken;
using internal::AddedVocabulary;
using internal::BpeModel;
using internal::Decoder;
using internal::Json;
using internal::Normalizer;
using internal::PostProcessor;
using internal::PreToken;
using internal::PreTokenizer;

class HfTokenizer : public Tokenizer {
 public:
  static Result<std::unique_ptr<Tokenizer>> Load(const Json& json);

  Result<Encoding> Encode(std::string_view text, bool add_special_tokens) const override;
  Result<std::string> Decode(const std::vector<int32_t>& ids,
                             bool skip_special_tokens) const override;
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  std::optional<std::string> IdToToken(int32_t id) const override;
  int32_t VocabSize() const override;

 private:
  // Normalizes, splits, pre-tokenizes and tokenizes one segment of text that holds no raw added
  // token.
  Status EncodeSegment(std::string segment, bool at_input_start, Encoding* out) const;
  void AddModelIds(const std::vector<int32_t>& ids, Encoding* out) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<AddedVocabulary> added_;
  std::unique_ptr<Normalizer> normalizer_;         // null: none
  std::unique_ptr<PreTokenizer> pre_tokenizer_;    // null: the whole segment is one pre-token
  std::unique_ptr<PostProcessor> post_processor_;  // null: none
  std::unique_ptr<Decoder> decoder_;               // null: tokens joined with spaces
};

Result<std::unique_ptr<Tokenizer>> HfTokenizer::Load(const Json& json) {
  if (!json.is_object()) return internal::LoadError("top level", "must be an object");
  if (internal::OptionalField(json, "truncation") != nullptr)
    return internal::Unsupported("truncation");
  // "padding" only applies to batches; encoding one sequence never pads.
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  const Json* model = internal::OptionalField(json, "model");
  if (model == nullptr) return internal::LoadError("top level", "missing field \"model\"");
  TRAINER_ASSIGN_OR_RETURN(t->model_, BpeModel::FromJson(*model));
  if (const Json* n = internal::OptionalField(json, "normalizer")) {
    TRAINER_ASSIGN_OR_RETURN(t->normalizer_, internal::ParseNormalizer(*n));
  }
  if (const Json* p = internal::OptionalField(json, "pre_tokenizer")) {
    TRAINER_ASSIGN_OR_RETURN(t->pre_tokenizer_, internal::ParsePreTokenizer(*p));
    if (t->pre_tokenizer_->UsesInputStart() && t->normalizer_ != nullptr &&
        !t->normalizer_->KeepsStart()) {
      return internal::Unsupported(
          "pre_tokenizer Metaspace with prepend_scheme first after a normalizer that may delete "
          "the first character");
    }
  }
  if (const Json* p = internal::OptionalField(json, "post_processor")) {
    TRAINER_ASSIGN_OR_RETURN(t->post_processor_, internal::ParsePostProcessor(*p));
  }
  if (const Json* d = internal::OptionalField(json, "decoder")) {
    TRAINER_ASSIGN_OR_RETURN(t->decoder_, internal::ParseDecoder(*d));
  }
  const Json* added = internal::OptionalField(json, "added_tokens");
  static const Json kNoTokens = Json::array();
  TRAINER_ASSIGN_OR_RETURN(t->added_, AddedVocabulary::FromJson(added ? *added : kNoTokens,
                                                                *t->model_, t->normalizer_.get()));
  return std::unique_ptr<Tokenizer>(std::move(t));
}

void HfTokenizer::AddModelIds(const std::vector<int32_t>& ids, Encoding* out) const {
  for (int32_t id : ids) {
    out->ids.push_back(id);
    out->tokens.push_back(*model_->IdToToken(id));
  }
}

Status HfTokenizer::EncodeSegment(std::string segment, bool at_input_start, Encoding* out) const {
  if (normalizer_) TRAINER_RETURN_IF_ERROR(normalizer_->Normalize(&segment));
  std::vector<AddedVocabulary::Piece> pieces;
  TRAINER_RETURN_IF_ERROR(added_->Split(segment, /*normalized=*/true, &pieces));
  std::vector<PreToken> words;
  std::vector<int32_t> ids;
  for (const AddedVocabulary::Piece& piece : pieces) {
    if (piece.token != nullptr) {
      out->ids.push_back(piece.token->id);
      out->tokens.push_back(segment.substr(piece.start, piece.end - piece.start));
      continue;
    }
    words.clear();
    words.push_back(
        {segment.substr(piece.start, piece.end - piece.start), at_input_start && piece.start == 0});
    if (pre_tokenizer_) TRAINER_RETURN_IF_ERROR(pre_tokenizer_->PreTokenize(&words));
    for (const PreToken& word : words) {
      ids.clear();
      model_->Tokenize(word.text, &ids);
      AddModelIds(ids, out);
    }
  }
  return Status::Ok();
}

Result<Encoding> HfTokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  if (!internal::IsValidUtf8(text))
    return InvalidArgument("tokenizer: the text to encode is not valid UTF-8");
  Encoding out;
  try {
    std::vector<AddedVocabulary::Piece> pieces;
    TRAINER_RETURN_IF_ERROR(added_->Split(text, /*normalized=*/false, &pieces));
    for (const AddedVocabulary::Piece& piece : pieces) {
      if (piece.token != nullptr) {
        out.ids.push_back(piece.token->id);
        out.tokens.emplace_back(text.substr(piece.start, piece.end - piece.start));
        continue;
      }
      TRAINER_RETURN_IF_ERROR(EncodeSegment(
          std::string(text.substr(piece.start, piece.end - piece.start)), piece.start == 0, &out));
    }
  } catch (const std::bad_alloc&) {
    return Status(Code::kResourceExhausted, "tokenizer: out of memory while encoding");
  }
  if (add_special_tokens && post_processor_) post_processor_->Process(&out.ids, &out.tokens);
  return out;
}

Result<std::string> HfTokenizer::Decode(const std::vector<int32_t>& ids,
                                        bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    std::optional<std::string> token = IdToToken(id);
    if (!token) {
      return InvalidArgument("tokenizer: cannot decode id " + std::to_string(id) +
                             ": no token has it (vocabulary size " + std::to_string(VocabSize()) +
                             ")");
    }
    if (skip_special_tokens && added_->IsSpecialContent(*token)) continue;
    tokens.push_back(std::move(*token));
  }
  std::string text;
  if (decoder_) {
    decoder_->DecodeChain(&tokens);
    for (const std::string& t : tokens) text.append(t);
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) text.push_back(' ');
      text.append(tokens[i]);
    }
  }
  return text;
}

std::optional<int32_t> HfTokenizer::TokenToId(std::string_view token) const {
  if (const AddedToken* a = added_->FindByContent(token)) return a->id;
  int32_t id = model_->TokenToId(token);
  if (id >= 0) return id;
  return std::nullopt;
}

std::optional<std::string> HfTokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* a = added_->FindById(id)) return a->content;
  if (const std::string* t = model_->IdToToken(id)) return *t;
  return std::nullopt;
}

int32_t HfTokenizer::VocabSize() const { return std::max(model_->MaxId(), added_->MaxId()) + 1; }

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json) {
  TRAINER_ASSIGN_OR_RETURN(Json json, internal::ParseBoundedJson(tokenizer_json));
  try {
    return HfTokenizer::Load(json);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("tokenizer.json: unexpected structure: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status(Code::kResourceExhausted, "tokenizer.json: out of memory while loading");
  }
}

}  // namespace triad::trainer
