#include "trainer/internal/tokenizer_decoder.h"

#include <utility>

#include "trainer/internal/tokenizer_pretokenizer.h"
#include "trainer/internal/tokenizer_regex.h"
#include "trainer/internal/tokenizer_unicode.h"

namespace triad::trainer::internal {
namespace {

constexpr const char* kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Maps each character back to its byte; a token with a character outside the table is kept as its
// UTF-8 bytes. The concatenation is decoded lossily, into a single string.
class ByteLevelDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::string bytes;
    for (const std::string& token : *tokens) {
      size_t mark = bytes.size();
      size_t pos = 0;
      bool all = true;
      while (pos < token.size()) {
        int b = UnicodeToByte(NextCodePoint(token, &pos));
        if (b < 0) {
          all = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
      }
      if (!all) {
        bytes.resize(mark);
        bytes.append(token);
      }
    }
    tokens->assign(1, Utf8Lossy(bytes));
  }
};

// Replaces the replacement character by a space, dropping it in the first token unless the prepend
// scheme is "never".
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, PrependScheme scheme)
      : replacement_(replacement), scheme_(scheme) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      const std::string& token = (*tokens)[i];
      std::string out;
      out.reserve(token.size());
      size_t pos = 0;
      while (pos < token.size()) {
        size_t start = pos;
        char32_t cp = NextCodePoint(token, &pos);
        if (cp == replacement_) {
          if (i != 0 || scheme_ == PrependScheme::kNever) out.push_back(' ');
        } else {
          out.append(token, start, pos - start);
        }
      }
      (*tokens)[i] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<Span> matches;
    for (std::string& token : *tokens) {
      matches.clear();
      FindLiteral(token, pattern_, &matches);
      if (matches.empty()) continue;
      std::string out;
      size_t prev = 0;
      for (const Span& m : matches) {
        out.append(token, prev, m.start - prev);
        out.append(content_);
        prev = m.end;
      }
      out.append(token, prev, std::string::npos);
      token = std::move(out);
    }
  }

 private:
  std::string pattern_;
  std::string content_;
};

// The byte of a "<0xHH>" token (as Rust's u8::from_str_radix reads HH: an optional '+' and hex
// digits), or -1.
int ByteToken(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  const auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (token[3] == '+') return hex(token[4]);
  int hi = hex(token[3]), lo = hex(token[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Runs of <0xHH> tokens become the string they encode, or one U+FFFD per byte when it is not UTF-8.
class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens->size());
    std::string pending;
    const auto flush = [&]() {
      if (pending.empty()) return;
      if (IsValidUtf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.push_back(kReplacementCharacter);
      }
      pending.clear();
    };
    for (std::string& token : *tokens) {
      int b = ByteToken(token);
      if (b >= 0) {
        pending.push_back(static_cast<char>(b));
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    *tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::string joined;
    for (const std::string& t : *tokens) joined.append(t);
    tokens->assign(1, std::move(joined));
  }
};

// Removes up to `start` leading and `stop` trailing occurrences of one character from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& token : *tokens) {
      std::vector<size_t> offsets;  // byte offset of each character, then the end
      std::vector<char32_t> chars;
      size_t pos = 0;
      while (pos < token.size()) {
        offsets.push_back(pos);
        chars.push_back(NextCodePoint(token, &pos));
      }
      offsets.push_back(token.size());
      size_t begin = 0;
      while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
      size_t end = chars.size();
      for (size_t i = 0; i < stop_ && end > 0 && chars[end - 1] == content_; ++i) --end;
      // The reference panics when both cuts overlap (a token of only the stripped character); the
      // result here is empty.
      token = end <= begin ? std::string()
                           : token.substr(offsets[begin], offsets[end] - offsets[begin]);
    }
  }

 private:
  char32_t content_;
  size_t start_;
  size_t stop_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& step : steps_) step->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

Result<char32_t> OneChar(const Json& json, const char* key, const std::string& where) {
  TRAINER_ASSIGN_OR_RETURN(std::string s, RequiredString(json, key, where));
  size_t pos = 0;
  if (s.empty() || (NextCodePoint(s, &pos), pos != s.size())) {
    return LoadError(where, std::string("field \"") + key + "\" must be exactly one character");
  }
  pos = 0;
  return NextCodePoint(s, &pos);
}

}  // namespace

Result<std::unique_ptr<Decoder>> ParseDecoder(const Json& json) {
  if (!json.is_object()) return LoadError("decoder", "must be an object or null");
  TRAINER_ASSIGN_OR_RETURN(std::string type, RequiredString(json, "type", "decoder"));
  const std::string where = "decoder " + type;
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Metaspace") {
    TRAINER_ASSIGN_OR_RETURN(char32_t replacement, OneChar(json, "replacement", where));
    TRAINER_ASSIGN_OR_RETURN(PrependScheme scheme, ParseMetaspaceScheme(json, where));
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(replacement, scheme));
  }
  if (type == "Replace") {
    TRAINER_ASSIGN_OR_RETURN(const Json* pattern, RequiredObject(json, "pattern", where));
    if (OptionalField(*pattern, "Regex") != nullptr)
      return Unsupported("decoder Replace with a Regex pattern");
    TRAINER_ASSIGN_OR_RETURN(std::string literal,
                             RequiredString(*pattern, "String", where + " pattern"));
    TRAINER_ASSIGN_OR_RETURN(std::string content, RequiredString(json, "content", where));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(literal), std::move(content)));
  }
  if (type == "Strip") {
    TRAINER_ASSIGN_OR_RETURN(char32_t content, OneChar(json, "content", where));
    TRAINER_ASSIGN_OR_RETURN(int64_t start, RequiredInt(json, "start", 0, 1 << 20, where));
    TRAINER_ASSIGN_OR_RETURN(int64_t stop, RequiredInt(json, "stop", 0, 1 << 20, where));
    return std::unique_ptr<Decoder>(
        new StripDecoder(content, static_cast<size_t>(start), static_cast<size_t>(stop)));
  }
  if (type == "Sequence") {
    TRAINER_ASSIGN_OR_RETURN(const Json* list, RequiredArray(json, "decoders", where));
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const Json& item : *list) {
      TRAINER_ASSIGN_OR_RETURN(auto step, ParseDecoder(item));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(steps)));
  }
  return Unsupported("decoder type " + type);
}

}  // namespace triad::trainer::internal
