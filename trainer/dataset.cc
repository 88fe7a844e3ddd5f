#include "trainer/dataset.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "trainer/internal/json_util.h"

namespace triad::trainer {
namespace {

using nlohmann::json;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void ZeroBytes(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

// Zeroes every string value of a parsed line (the data) before the parser frees it.
void WipeJson(json& j) {
  if (j.is_string()) {
    ZeroBytes(j.get_ref<std::string&>());
  } else if (j.is_structured()) {
    for (json& e : j) WipeJson(e);
  }
}

struct JsonWiper {
  json& j;
  ~JsonWiper() { WipeJson(j); }
};

// Appends the encoding of `text` with or without loss; wipes the tokenizer's copy of the pieces.
Status Append(const Tokenizer& tok, std::string_view text, bool special, bool loss, Example& ex) {
  if (text.empty()) return Status::Ok();
  auto enc = tok.Encode(text, special);
  if (!enc.ok()) return InvalidArgument("cannot tokenize: " + enc.status().message());
  for (int32_t id : enc->ids) {
    ex.ids.push_back(id);
    ex.labels.push_back(loss ? id : kIgnoreIndex);
  }
  for (std::string& piece : enc->tokens) ZeroBytes(piece);
  std::fill(enc->ids.begin(), enc->ids.end(), 0);
  return Status::Ok();
}

void AppendId(int32_t id, bool loss, Example& ex) {
  ex.ids.push_back(id);
  ex.labels.push_back(loss ? id : kIgnoreIndex);
}

// A view of a string member (valid while `j` lives: no copy of the data).
Result<std::string_view> StringField(const json& j, const char* key) {
  if (!j.contains(key)) return InvalidArgument(std::string("missing \"") + key + "\"");
  if (!j[key].is_string()) {
    return InvalidArgument(std::string("\"") + key + "\" must be a string, not " +
                           internal::JsonTypeName(j[key]));
  }
  return std::string_view(j[key].get_ref<const std::string&>());
}

// One message of a {"messages"} line: views into the parsed line.
struct Message {
  std::string_view role;
  std::string_view content;
};

// The shape of a {"messages"} value: a non-empty array of {"role", "content"} objects with a known
// role and at least one assistant message. `chat_format`, when given, is checked after the array
// (a model family without one refuses every messages line, whatever its content).
Result<std::vector<Message>> MessagesShape(const json& msgs, const ChatFormat* chat_format) {
  if (!msgs.is_array() || msgs.empty())
    return InvalidArgument("\"messages\" must be a non-empty array");
  if (chat_format != nullptr && *chat_format == ChatFormat::kNone) {
    return InvalidArgument(
        "\"messages\" needs a chat format, and this model family's tokenizer has none");
  }
  std::vector<Message> out;
  bool any_assistant = false;
  size_t i = 0;
  for (const json& m : msgs) {
    ++i;
    std::string where = "message " + std::to_string(i);
    if (!m.is_object()) return InvalidArgument(where + " is not an object");
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.key() != "role" && it.key() != "content")
        return InvalidArgument(where + " has an unknown key");
    }
    auto role = StringField(m, "role");
    if (!role.ok()) return role.status().Annotate(where);
    auto content = StringField(m, "content");
    if (!content.ok()) return content.status().Annotate(where);
    const std::string_view r = *role;
    if (r != "system" && r != "user" && r != "assistant") {
      return InvalidArgument(where + ": role must be system, user or assistant");
    }
    any_assistant |= r == "assistant";
    out.push_back({r, *content});
  }
  if (!any_assistant) return InvalidArgument("\"messages\" has no assistant message to learn from");
  return out;
}

Result<Example> Messages(const json& msgs, const Tokenizer& tok, const DatasetOptions& o) {
  TRAINER_ASSIGN_OR_RETURN(std::vector<Message> messages, MessagesShape(msgs, &o.chat_format));
  Example ex;
  if (o.chat_format == ChatFormat::kLlama3) {
    TRAINER_RETURN_IF_ERROR(Append(tok, "<|begin_of_text|>", false, false, ex));
  }
  for (const Message& m : messages) {
    const bool loss = m.role == "assistant";
    if (o.chat_format == ChatFormat::kChatml) {
      TRAINER_RETURN_IF_ERROR(
          Append(tok, "<|im_start|>" + std::string(m.role) + "\n", false, false, ex));
      TRAINER_RETURN_IF_ERROR(Append(tok, m.content, false, loss, ex));
      TRAINER_RETURN_IF_ERROR(Append(tok, "<|im_end|>", false, loss, ex));
      TRAINER_RETURN_IF_ERROR(Append(tok, "\n", false, false, ex));
    } else {
      // The Llama-3 template trims the content.
      std::string_view c = m.content;
      size_t b = c.find_first_not_of(" \t\n\r\f\v");
      size_t e = c.find_last_not_of(" \t\n\r\f\v");
      c = b == std::string_view::npos ? std::string_view() : c.substr(b, e - b + 1);
      TRAINER_RETURN_IF_ERROR(Append(
          tok, "<|start_header_id|>" + std::string(m.role) + "<|end_header_id|>\n\n", false, false,
          ex));
      TRAINER_RETURN_IF_ERROR(Append(tok, c, false, loss, ex));
      TRAINER_RETURN_IF_ERROR(Append(tok, "<|eot_id|>", false, loss, ex));
    }
  }
  return ex;
}

// The accepted shapes of a line, checked before anything is tokenized: views into `j`.
struct LineFields {
  LineKind kind = LineKind::kText;
  std::string_view prompt, completion, text;  // kPromptCompletion / kText
  const json* messages = nullptr;             // kMessages
};

Result<LineFields> Fields(const json& j) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  bool has_prompt = j.contains("prompt"), has_completion = j.contains("completion"),
       has_text = j.contains("text"), has_messages = j.contains("messages");
  size_t known = has_prompt + has_completion + has_text + has_messages;
  if (known != j.size()) {
    return InvalidArgument("unknown key (expected prompt+completion, text, or messages)");
  }
  LineFields f;
  if (has_prompt || has_completion) {
    if (has_text || has_messages)
      return InvalidArgument("mixes prompt/completion with text or messages");
    f.kind = LineKind::kPromptCompletion;
    TRAINER_ASSIGN_OR_RETURN(f.prompt, StringField(j, "prompt"));
    TRAINER_ASSIGN_OR_RETURN(f.completion, StringField(j, "completion"));
    if (f.completion.empty()) return InvalidArgument("\"completion\" is empty");
  } else if (has_text) {
    if (has_messages) return InvalidArgument("mixes text and messages");
    f.kind = LineKind::kText;
    TRAINER_ASSIGN_OR_RETURN(f.text, StringField(j, "text"));
    if (f.text.empty()) return InvalidArgument("\"text\" is empty");
  } else if (has_messages) {
    f.kind = LineKind::kMessages;
    f.messages = &j["messages"];
  } else {
    return InvalidArgument("no prompt+completion, text or messages");
  }
  return f;
}

Result<json> ParseLine(std::string_view line) {
  return internal::ParseJson(line, "", 16, /*may_quote=*/false);
}

Result<Example> Line(std::string_view line, const Tokenizer& tok, const DatasetOptions& o) {
  TRAINER_ASSIGN_OR_RETURN(json j, ParseLine(line));
  JsonWiper wiper{j};
  TRAINER_ASSIGN_OR_RETURN(LineFields f, Fields(j));
  Example ex;
  switch (f.kind) {
    case LineKind::kPromptCompletion:
      TRAINER_RETURN_IF_ERROR(Append(tok, f.prompt, true, false, ex));
      TRAINER_RETURN_IF_ERROR(Append(tok, f.completion, ex.ids.empty(), true, ex));
      break;
    case LineKind::kText:
      TRAINER_RETURN_IF_ERROR(Append(tok, f.text, true, true, ex));
      break;
    case LineKind::kMessages:
      return Messages(*f.messages, tok, o);
  }
  if (o.eos_id) AppendId(*o.eos_id, true, ex);
  return ex;
}

// Calls `each(line_number, line)` for every line that is not blank; stops at the first error,
// which it returns as "dataset line N: <why>".
template <typename Each>
Status ForEachLine(std::string_view jsonl, Each each) {
  size_t line_no = 0, pos = 0;
  while (pos < jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Status st = each(line);
    if (!st.ok()) {
      return Status(st.code(), "dataset line " + std::to_string(line_no) + ": " + st.message());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<DatasetOptions> DatasetOptionsFor(const ModelConfig& config, const Tokenizer& tok) {
  DatasetOptions o;
  auto has = [&](const char* t) { return tok.TokenToId(t).has_value(); };
  switch (config.family) {
    case ModelFamily::kQwen2:
    case ModelFamily::kQwen3:
      if (has("<|im_start|>") && has("<|im_end|>")) o.chat_format = ChatFormat::kChatml;
      break;
    case ModelFamily::kLlama:
      if (has("<|start_header_id|>") && has("<|end_header_id|>") && has("<|eot_id|>") &&
          has("<|begin_of_text|>")) {
        o.chat_format = ChatFormat::kLlama3;
      }
      break;
    case ModelFamily::kMistral:
      break;
  }
  if (!config.eos_token_ids.empty()) {
    int64_t eos = config.eos_token_ids.front();
    if (eos >= tok.VocabSize())
      return InvalidArgument("eos_token_id is outside the tokenizer's vocabulary");
    o.eos_id = static_cast<int32_t>(eos);
  }
  return o;
}

Result<DatasetOptions> CheckTokenizer(const ModelConfig& config, const Tokenizer& tok) {
  if (tok.VocabSize() > config.vocab_size) {
    return InvalidArgument("tokenizer has " + std::to_string(tok.VocabSize()) +
                           " ids but the model's vocab_size is " +
                           std::to_string(config.vocab_size));
  }
  return DatasetOptionsFor(config, tok);
}

Result<std::vector<Example>> TokenizeJsonl(std::string_view jsonl, const Tokenizer& tok,
                                           const DatasetOptions& o) {
  std::vector<Example> out;
  Status st = ForEachLine(jsonl, [&](std::string_view line) -> Status {
    TRAINER_ASSIGN_OR_RETURN(Example ex, Line(line, tok, o));
    out.push_back(std::move(ex));
    return Status::Ok();
  });
  if (!st.ok()) {
    WipeExamples(out);
    return st;
  }
  if (out.empty()) return InvalidArgument("dataset: no examples");
  return out;
}

Result<JsonlSummary> CheckJsonl(std::string_view jsonl) {
  JsonlSummary summary;
  TRAINER_RETURN_IF_ERROR(ForEachLine(jsonl, [&](std::string_view line) -> Status {
    TRAINER_ASSIGN_OR_RETURN(json j, ParseLine(line));
    JsonWiper wiper{j};
    TRAINER_ASSIGN_OR_RETURN(LineFields f, Fields(j));
    if (f.kind == LineKind::kMessages) {
      TRAINER_RETURN_IF_ERROR(MessagesShape(*f.messages, nullptr).status());
    }
    ++summary.examples;
    ++summary.by_kind[static_cast<int>(f.kind)];
    return Status::Ok();
  }));
  if (summary.examples == 0) return InvalidArgument("dataset: no examples");
  return summary;
}

std::vector<size_t> SeededPermutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  uint64_t state = seed;
  for (size_t i = n; i > 1; --i) {
    // Unbiased bounded draw (Lemire's rejection would do too; modulo rejection is simpler to read).
    uint64_t bound = i, limit = UINT64_MAX - UINT64_MAX % bound, r;
    do r = SplitMix64(state);
    while (r >= limit);
    std::swap(p[i - 1], p[r % bound]);
  }
  return p;
}

Status SplitExamples(std::vector<Example> all, double eval_fraction, uint64_t seed,
                     std::vector<Example>& train, std::vector<Example>& eval) {
  size_t n = all.size();
  size_t n_eval = 0;
  if (eval_fraction > 0)
    n_eval = std::max<size_t>(1, static_cast<size_t>(std::llround(eval_fraction * n)));
  if (n_eval >= n) {
    return InvalidArgument("dataset: " + std::to_string(n) +
                           " examples leave none for training with eval_fraction " +
                           std::to_string(eval_fraction));
  }
  std::vector<size_t> p = SeededPermutation(n, seed ^ 0x5EED5A17ull);
  train.clear();
  eval.clear();
  // The held-out examples keep their file order among themselves; so do the training ones.
  std::vector<bool> is_eval(n, false);
  for (size_t i = 0; i < n_eval; ++i) is_eval[p[i]] = true;
  for (size_t i = 0; i < n; ++i) (is_eval[i] ? eval : train).push_back(std::move(all[i]));
  return Status::Ok();
}

std::vector<Batch> MakeBatches(const std::vector<Example>& ex, const std::vector<size_t>& order,
                               int64_t batch_size, int64_t seq_len, bool packing, int32_t pad_id) {
  struct Row {
    std::vector<int32_t> ids, labels;
  };
  std::vector<Row> rows;
  if (packing) {
    Row cur;
    for (size_t i : order) {
      for (size_t t = 0; t < ex[i].ids.size(); ++t) {
        cur.ids.push_back(ex[i].ids[t]);
        cur.labels.push_back(ex[i].labels[t]);
        if (static_cast<int64_t>(cur.ids.size()) == seq_len)
          rows.push_back(std::move(cur)), cur = Row();
      }
    }
    if (!cur.ids.empty()) rows.push_back(std::move(cur));
  } else {
    for (size_t i : order) {
      size_t n = std::min<size_t>(ex[i].ids.size(), static_cast<size_t>(seq_len));
      rows.push_back({std::vector<int32_t>(ex[i].ids.begin(), ex[i].ids.begin() + n),
                      std::vector<int32_t>(ex[i].labels.begin(), ex[i].labels.begin() + n)});
    }
  }
  std::vector<Batch> out;
  for (size_t start = 0; start < rows.size(); start += batch_size) {
    size_t end = std::min(rows.size(), start + static_cast<size_t>(batch_size));
    Batch b;
    b.rows = end - start;
    for (size_t r = start; r < end; ++r)
      b.columns = std::max<int64_t>(b.columns, rows[r].ids.size());
    b.input_ids.assign(b.rows * b.columns, pad_id);
    b.labels.assign(b.rows * b.columns, kIgnoreIndex);
    b.attention_mask.assign(b.rows * b.columns, 0);
    for (size_t r = start; r < end; ++r) {
      const Row& row = rows[r];
      size_t base = (r - start) * b.columns;
      for (size_t t = 0; t < row.ids.size(); ++t) {
        b.input_ids[base + t] = row.ids[t];
        b.labels[base + t] = row.labels[t];
        b.attention_mask[base + t] = 1;
        if (t > 0 && row.labels[t] != kIgnoreIndex) ++b.loss_tokens;
      }
      b.tokens += row.ids.size();
    }
    out.push_back(std::move(b));
  }
  for (Row& r : rows) {
    std::fill(r.ids.begin(), r.ids.end(), 0);
    std::fill(r.labels.begin(), r.labels.end(), 0);
  }
  return out;
}

void WipeExamples(std::vector<Example>& examples) {
  for (Example& e : examples) {
    std::fill(e.ids.begin(), e.ids.end(), 0);
    std::fill(e.labels.begin(), e.labels.end(), 0);
  }
  examples.clear();
}

void WipeBatches(std::vector<Batch>& batches) {
  for (Batch& b : batches) {
    std::fill(b.input_ids.begin(), b.input_ids.end(), 0);
    std::fill(b.labels.begin(), b.labels.end(), 0);
  }
  batches.clear();
}

}  // namespace triad::trainer
