#include "trainer/internal/bpe_model.h"

#include <cstring>
#include <functional>
#include <queue>
#include <utility>

#include "trainer/internal/tokenizer_unicode.h"

namespace triad::trainer::internal {
namespace {

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = Mix(h ^ w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  return Mix(h ^ tail ^ (uint64_t{0xA5} << 56));
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s.substr(0, 64)) + "\""; }

}  // namespace

void StringIdMap::Reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n * 2) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot());
  for (const Slot& s : old) {
    if (s.value < 0) continue;
    size_t i = s.hash & (capacity - 1);
    while (slots_[i].value >= 0) i = (i + 1) & (capacity - 1);
    slots_[i] = s;
  }
}

void StringIdMap::Grow() { Reserve(slots_.empty() ? 8 : slots_.size()); }

bool StringIdMap::Insert(std::string_view key, int32_t value) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  uint64_t h = HashBytes(key);
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.value < 0) {
      s.hash = h;
      s.offset = static_cast<uint32_t>(arena_.size());
      s.length = static_cast<uint32_t>(key.size());
      s.value = value;
      arena_.append(key);
      ++size_;
      return true;
    }
    if (s.hash == h && std::string_view(arena_).substr(s.offset, s.length) == key) return false;
  }
}

int32_t StringIdMap::Find(std::string_view key) const {
  if (slots_.empty()) return -1;
  uint64_t h = HashBytes(key);
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.value < 0) return -1;
    if (s.hash == h && s.length == key.size() &&
        std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
      return s.value;
    }
  }
}

void MergeMap::Reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n * 2) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot());
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    size_t i = Mix(s.key) & (capacity - 1);
    while (slots_[i].key != kEmpty) i = (i + 1) & (capacity - 1);
    slots_[i] = s;
  }
}

void MergeMap::Grow() { Reserve(slots_.empty() ? 8 : slots_.size()); }

void MergeMap::Set(int32_t left, int32_t right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  uint64_t key =
      (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  size_t mask = slots_.size() - 1;
  for (size_t i = Mix(key) & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.key == key) {
      s.merge = merge;
      return;
    }
    if (s.key == kEmpty) {
      s.key = key;
      s.merge = merge;
      ++size_;
      return;
    }
  }
}

const MergeMap::Merge* MergeMap::Find(int32_t left, int32_t right) const {
  if (slots_.empty()) return nullptr;
  uint64_t key =
      (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  size_t mask = slots_.size() - 1;
  for (size_t i = Mix(key) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key == key) return &s.merge;
    if (s.key == kEmpty) return nullptr;
  }
}

Result<std::unique_ptr<BpeModel>> BpeModel::FromJson(const Json& model) {
  const std::string where = "model";
  if (!model.is_object()) return LoadError(where, "must be an object");
  TRAINER_ASSIGN_OR_RETURN(std::string type, RequiredString(model, "type", where));
  if (type != "BPE") return Unsupported("model type " + type);
  if (const Json* dropout = OptionalField(model, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0)
      return Unsupported("model BPE with dropout");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    TRAINER_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(model, key, where));
    if (value && !value->empty())
      return Unsupported(std::string("model BPE with a non-empty ") + key);
  }

  std::unique_ptr<BpeModel> bpe(new BpeModel());
  TRAINER_ASSIGN_OR_RETURN(bpe->fuse_unk_, BoolOr(model, "fuse_unk", false, where));
  TRAINER_ASSIGN_OR_RETURN(bpe->byte_fallback_, BoolOr(model, "byte_fallback", false, where));
  TRAINER_ASSIGN_OR_RETURN(bpe->ignore_merges_, BoolOr(model, "ignore_merges", false, where));

  TRAINER_ASSIGN_OR_RETURN(const Json* vocab, RequiredObject(model, "vocab", where));
  if (vocab->size() > kMaxVocabEntries) {
    return LoadError(where, "vocab has " + std::to_string(vocab->size()) +
                                " entries, over the limit of " + std::to_string(kMaxVocabEntries));
  }
  bpe->vocab_.Reserve(vocab->size());
  int64_t max_id = -1;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const Json& v = it.value();
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxTokenId) {
      return LoadError(where, "vocab id of " + Quoted(it.key()) + " must be an integer in [0, " +
                                  std::to_string(kMaxTokenId) + "]");
    }
    if (it.key().size() > kMaxTokenBytes) {
      return LoadError(where,
                       "vocab token longer than " + std::to_string(kMaxTokenBytes) + " bytes");
    }
    max_id = std::max(max_id, v.get<int64_t>());
    bpe->vocab_.Insert(it.key(), static_cast<int32_t>(v.get<int64_t>()));
  }
  bpe->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  bpe->has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    size_t id = static_cast<size_t>(it.value().get<int64_t>());
    if (bpe->has_id_[id]) {
      // The reference's id -> token map would keep either one, depending on hash order.
      return LoadError(where, "vocab tokens " + Quoted(bpe->id_to_token_[id]) + " and " +
                                  Quoted(it.key()) + " have the same id " + std::to_string(id));
    }
    bpe->has_id_[id] = true;
    bpe->id_to_token_[id] = it.key();
  }

  TRAINER_ASSIGN_OR_RETURN(std::optional<std::string> unk,
                           OptionalString(model, "unk_token", where));
  if (unk) {
    bpe->unk_id_ = bpe->vocab_.Find(*unk);
    if (bpe->unk_id_ < 0)
      return LoadError(where, "unk_token " + Quoted(*unk) + " is not in the vocabulary");
  }
  for (int b = 0; b < 256; ++b) {
    static const char kHex[] = "0123456789ABCDEF";
    char name[7] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>', '\0'};
    bpe->byte_ids_[b] = bpe->vocab_.Find(name);
  }

  TRAINER_ASSIGN_OR_RETURN(const Json* merges, RequiredArray(model, "merges", where));
  if (merges->size() > kMaxMerges) {
    return LoadError(where, "merges has " + std::to_string(merges->size()) +
                                " entries, over the limit of " + std::to_string(kMaxMerges));
  }
  bpe->merges_.Reserve(merges->size());
  std::string joined;
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const Json& m = (*merges)[rank];
    std::string_view left, right;
    if (m.is_string()) {
      // The older form "a b": exactly one space.
      const std::string& s = m.get_ref<const std::string&>();
      size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return LoadError(where, "merge " + std::to_string(rank) + " (" + Quoted(s) +
                                    ") is not two tokens separated by one space");
      }
      left = std::string_view(s).substr(0, space);
      right = std::string_view(s).substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get_ref<const std::string&>();
      right = m[1].get_ref<const std::string&>();
    } else {
      return LoadError(where,
                       "merge " + std::to_string(rank) + " must be \"a b\" or [\"a\", \"b\"]");
    }
    int32_t left_id = bpe->vocab_.Find(left);
    int32_t right_id = bpe->vocab_.Find(right);
    joined.assign(left);
    joined.append(right);
    int32_t merged_id = bpe->vocab_.Find(joined);
    for (auto [part, id] : {std::pair<std::string_view, int32_t>(left, left_id),
                            {right, right_id},
                            {joined, merged_id}}) {
      if (id < 0) {
        return LoadError(where, "merge " + std::to_string(rank) + ": token " + Quoted(part) +
                                    " is not in the vocabulary");
      }
    }
    bpe->merges_.Set(left_id, right_id, {static_cast<uint32_t>(rank), merged_id});
  }
  return bpe;
}

void BpeModel::Tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    // Llama-3: a whole pre-token that is a token is emitted as is, whatever the merges would do.
    int32_t id = vocab_.Find(word);
    if (id >= 0) {
      ids->push_back(id);
      return;
    }
  }
  if (word.size() > kMaxCachedWordBytes) {
    MergeWord(word, ids);
    return;
  }
  CacheShard& shard = cache_[HashBytes(word) % kCacheShards];
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t first = ids->size();
  MergeWord(word, ids);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.entries.size() >= kCacheEntriesPerShard) shard.entries.clear();
  shard.entries.emplace(std::move(key), std::vector<int32_t>(ids->begin() + first, ids->end()));
}

void BpeModel::MergeWord(std::string_view word, std::vector<int32_t>* ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    uint32_t len;  // bytes covered; 0 once merged into its left neighbour
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&symbols](int32_t id, size_t len) {
    int32_t index = static_cast<int32_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, static_cast<uint32_t>(len)});
  };
  // The pending unknown token and the bytes it covers (fuse_unk extends it).
  bool have_unk = false;
  size_t unk_len = 0;
  size_t pos = 0;
  while (pos < word.size()) {
    size_t len = Utf8Length(static_cast<unsigned char>(word[pos]));
    std::string_view ch = word.substr(pos, len);
    pos += len;
    int32_t id = vocab_.Find(ch);
    if (id >= 0) {
      if (have_unk) {
        add(unk_id_, unk_len);
        have_unk = false;
      }
      add(id, len);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        // As the reference does, a pending unknown token is not flushed here: it comes after these.
        for (char c : ch) add(byte_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (have_unk && fuse_unk_) {
        unk_len += len;
      } else {
        if (have_unk) add(unk_id_, unk_len);
        have_unk = true;
        unk_len = len;
      }
    }
  }
  if (have_unk) add(unk_id_, unk_len);

  struct Candidate {
    int32_t pos;
    uint32_t rank;
    int32_t id;
    // The queue pops the lowest rank, then the leftmost position.
    bool operator<(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Candidate> heap_storage;
  heap_storage.reserve(symbols.size());
  std::priority_queue<Candidate> queue(std::less<Candidate>(), std::move(heap_storage));
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeMap::Merge* m = merges_.Find(symbols[i].id, symbols[i + 1].id)) {
      queue.push({static_cast<int32_t>(i), m->rank, m->id});
    }
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& current = symbols[top.pos];
    if (current.len == 0 || current.next == -1) continue;
    int32_t next_pos = current.next;
    Symbol right = symbols[next_pos];
    // Skip entries made stale by an earlier merge.
    const MergeMap::Merge* m = merges_.Find(current.id, right.id);
    if (m == nullptr || m->id != top.id) continue;
    current.id = top.id;
    current.len += right.len;
    current.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (current.prev >= 0) {
      if (const MergeMap::Merge* pm = merges_.Find(symbols[current.prev].id, current.id)) {
        queue.push({current.prev, pm->rank, pm->id});
      }
    }
    if (current.next >= 0) {
      if (const MergeMap::Merge* nm = merges_.Find(current.id, symbols[current.next].id)) {
        queue.push({top.pos, nm->rank, nm->id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (s.len != 0) ids->push_back(s.id);
  }
}

}  // namespace triad::trainer::internal
