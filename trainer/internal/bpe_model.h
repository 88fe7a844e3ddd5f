// The BPE model of tokenizer.json: vocabulary, rank-ordered merges, byte fallback, unknown token,
// ignore_merges. Tokenize() reproduces the reference's merge order exactly: repeatedly the pair of
// lowest merge rank (leftmost among equals), found with a priority queue over a linked list of
// symbols, so a word of n characters costs O(n log n); results are cached per pre-token.
#ifndef TRIAD_TRAINER_INTERNAL_BPE_MODEL_H_
#define TRIAD_TRAINER_INTERNAL_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "trainer/internal/tokenizer_json.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

// Limits on what a tokenizer.json may declare (the largest real vocabularies are ~260k).
inline constexpr size_t kMaxVocabEntries = size_t{1} << 22;
inline constexpr size_t kMaxMerges = size_t{1} << 23;
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;
inline constexpr size_t kMaxTokenBytes = 4096;

// A hash table from byte strings to ids, looked up by string_view without allocating.
class StringIdMap {
 public:
  void Reserve(size_t n);
  // Inserts `key` -> `value` unless `key` is present; returns whether it inserted.
  bool Insert(std::string_view key, int32_t value);
  // The value of `key`, or -1.
  int32_t Find(std::string_view key) const;
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t value = -1;  // -1: empty slot
  };
  void Grow();
  std::string arena_;
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// A hash table from a pair of ids to (merge rank, merged id).
class MergeMap {
 public:
  struct Merge {
    uint32_t rank;
    int32_t id;
  };
  void Reserve(size_t n);
  // Inserts or overwrites (the reference keeps the last of duplicate merges).
  void Set(int32_t left, int32_t right, Merge merge);
  const Merge* Find(int32_t left, int32_t right) const;

 private:
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{0, -1};
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  void Grow();
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

class BpeModel {
 public:
  // Parses the "model" object. Fails on anything but type BPE, on dropout, on a non-empty
  // continuing_subword_prefix or end_of_word_suffix, on merges whose parts or result are not in the
  // vocabulary, on duplicate ids, and beyond the limits above.
  static Result<std::unique_ptr<BpeModel>> FromJson(const Json& model);

  // Appends the ids of one pre-token (non-empty, well-formed UTF-8) to `ids`. Characters that are
  // neither in the vocabulary nor byte-fallback-able become the unknown token, or are dropped when
  // there is none (as the reference does).
  void Tokenize(std::string_view word, std::vector<int32_t>* ids) const;

  int32_t TokenToId(std::string_view token) const { return vocab_.Find(token); }  // -1 if none
  // nullptr when no vocabulary token has `id`.
  const std::string* IdToToken(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() && has_id_[id]
               ? &id_to_token_[id]
               : nullptr;
  }
  // The number of vocabulary entries (the reference's get_vocab_size) and the largest id (-1 if
  // none).
  size_t VocabEntries() const { return vocab_.size(); }
  int32_t MaxId() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  BpeModel() = default;
  void MergeWord(std::string_view word, std::vector<int32_t>* ids) const;

  StringIdMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  MergeMap merges_;
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_ids_{};  // ids of <0x00>..<0xFF>, -1 when absent

  // Pre-token -> ids, sharded to keep concurrent Encode calls from contending.
  static constexpr size_t kCacheShards = 16;
  static constexpr size_t kCacheEntriesPerShard = 8192;
  static constexpr size_t kMaxCachedWordBytes = 256;
  struct CacheShard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>> entries;
  };
  mutable std::array<CacheShard, kCacheShards> cache_;
};

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_BPE_MODEL_H_
