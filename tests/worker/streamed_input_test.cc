// DecryptStreamed: an owner's age file, re-wrapped for the worker as a keyholder does, decrypted as
// it arrives in chunks of any size; every way the stream can be wrong refused with its reason.
#include "worker/internal/streamed_input.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"

namespace triad::worker::internal {
namespace {

using crypto::age::X25519Identity;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class StreamedInputTest : public ::testing::Test {
 protected:
  // The owner's file, and its header re-wrapped to the worker.
  void Make(const std::string& plaintext) {
    plaintext_ = plaintext;
    auto ct = crypto::age::Encrypt({&owner_.recipient(), 1}, plaintext);
    ASSERT_TRUE(ct.ok()) << ct.status();
    ciphertext_ = *ct;
    auto original = crypto::age::Header::Parse(ciphertext_);
    ASSERT_TRUE(original.ok());
    auto rewrapped = crypto::age::RewrapHeader(*original, {&owner_, 1}, {&worker_.recipient(), 1});
    ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
    rewrapped_ = std::make_unique<crypto::age::Header>(*rewrapped);
    options_.artifact_id = crypto::Sha256Id(ciphertext_);
    options_.expected_size = ciphertext_.size();
    options_.max_size = 1 << 30;
    options_.threads = 2;
  }

  // Serves `bytes` in chunks of the given sizes (cycled), then `end` (the end, or an error). A
  // gRPC stream must not be read again once it ended: asking again fails the test.
  NextChunk Chunks(std::string bytes, std::vector<size_t> sizes,
                   absl::Status end = absl::OkStatus()) {
    auto state = std::make_shared<std::pair<std::string, size_t>>(std::move(bytes), 0);
    auto turn = std::make_shared<size_t>(0);
    auto ended = std::make_shared<bool>(false);
    return [state, sizes, turn, end, ended]() -> absl::StatusOr<std::optional<std::string>> {
      auto& [b, at] = *state;
      if (*ended) {
        ADD_FAILURE() << "the stream was asked for more after its end";
        return absl::InternalError("asked after the end");
      }
      if (at == b.size()) {
        *ended = true;
        if (!end.ok()) return end;
        return std::optional<std::string>();
      }
      size_t n = std::min(sizes[(*turn)++ % sizes.size()], b.size() - at);
      std::string c = b.substr(at, n);
      at += n;
      return std::optional<std::string>(std::move(c));
    };
  }

  absl::StatusOr<crypto::SecretBytes> Run(const NextChunk& next) {
    return DecryptStreamed(next, worker_, *rewrapped_, options_);
  }

  X25519Identity owner_ = X25519Identity::Generate();
  X25519Identity worker_ = X25519Identity::Generate();
  std::string plaintext_, ciphertext_;
  std::unique_ptr<crypto::age::Header> rewrapped_;
  StreamedInputOptions options_;
};

TEST_F(StreamedInputTest, DecryptsWhateverTheChunking) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65536}, size_t{65537}, size_t{300000}}) {
    Make(RandomBytes(size, static_cast<uint32_t>(size)));
    for (std::vector<size_t> chunks :
         std::vector<std::vector<size_t>>{{1}, {7, 13}, {65552}, {1 << 20}, {100, 70000, 3}}) {
      for (uint64_t expected : {uint64_t{ciphertext_.size()}, uint64_t{0}}) {
        options_.expected_size = expected;
        auto got = Run(Chunks(ciphertext_, chunks));
        ASSERT_TRUE(got.ok()) << size << " " << chunks[0] << ": " << got.status();
        EXPECT_EQ(got->view(), plaintext_) << size << " " << chunks[0] << " " << expected;
      }
    }
  }
}

TEST_F(StreamedInputTest, TheTransportsErrorComesBackUnchanged) {
  Make(RandomBytes(200000, 1));
  absl::Status away = absl::UnavailableError("coordinator restarting");
  // Broken inside the header, and inside the payload.
  for (size_t cut : {size_t{20}, size_t{100000}}) {
    auto got = Run(Chunks(ciphertext_.substr(0, cut), {4096}, away));
    EXPECT_EQ(got.status(), away) << cut;
  }
}

TEST_F(StreamedInputTest, RefusesWhatIsNotTheRegisteredFile) {
  Make(RandomBytes(100000, 2));
  const std::string id = options_.artifact_id;

  // Another id than the bytes' (the same key, another file): a digest mismatch, no plaintext.
  options_.artifact_id = "sha256:" + std::string(64, '0');
  auto got = Run(Chunks(ciphertext_, {5000}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(got.status().message(),
            absl::StrCat("input sha256:", std::string(64, '0'), " digest mismatch: got ", id));
  options_.artifact_id = id;

  // Longer than registered: stopped at the byte that passes the size.
  options_.expected_size = ciphertext_.size() - 10;
  got = Run(Chunks(ciphertext_, {5000}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(got.status().message(),
            absl::StrCat("input ", id, " is longer than ", ciphertext_.size() - 10,
                         " bytes (its registered size)"));

  // Unknown size, bounded by max_size.
  options_.expected_size = 0;
  options_.max_size = 1000;
  got = Run(Chunks(ciphertext_, {5000}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(got.status().message(), absl::StrCat("input ", id, " is longer than 1000 bytes"));
  options_.max_size = 1 << 30;

  // Truncated, or a flipped payload byte: the payload does not authenticate, and the bytes are not
  // the registered file, which is the reason given.
  const std::string truncated = ciphertext_.substr(0, ciphertext_.size() - 100);
  std::string flipped = ciphertext_;
  flipped[flipped.size() - 50] ^= 1;
  for (const std::string& bad : {truncated, flipped}) {
    got = Run(Chunks(bad, {5000}));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(got.status().message(),
              absl::StrCat("input ", id, " digest mismatch: got ", crypto::Sha256Id(bad)));
  }
  // The same flipped bytes registered as they are: the digest holds, the payload does not decrypt.
  options_.artifact_id = crypto::Sha256Id(flipped);
  got = Run(Chunks(flipped, {5000}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  EXPECT_TRUE(absl::StartsWith(
      got.status().message(),
      "decrypting input " + options_.artifact_id + ": age payload: chunk 1 does not authenticate"))
      << got.status();
  options_.artifact_id = id;

  // A stream that ends inside its header; one whose header never ends.
  got = Run(Chunks(ciphertext_.substr(0, 30), {5000}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(got.status().message(),
            absl::StrCat("input ", id, ": the stream ended inside its age header (30 bytes)"));
  got = Run(Chunks(std::string(200000, 'a'), {5000}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(got.status().message(),
            absl::StrCat("input ", id, ": no age header in its first 65536 bytes"));
}

TEST_F(StreamedInputTest, OnlyTheRewrappedHeaderOpensIt) {
  Make(RandomBytes(1000, 3));
  // A header re-wrapped for someone else: the worker's key does not open it.
  X25519Identity other = X25519Identity::Generate();
  auto original = crypto::age::Header::Parse(ciphertext_);
  auto for_other = crypto::age::RewrapHeader(*original, {&owner_, 1}, {&other.recipient(), 1});
  ASSERT_TRUE(for_other.ok());
  auto got = DecryptStreamed(Chunks(ciphertext_, {100}), worker_, *for_other, options_);
  EXPECT_FALSE(got.ok());
  EXPECT_TRUE(
      absl::StartsWith(got.status().message(), "decrypting input " + options_.artifact_id + ": "))
      << got.status();
}

TEST(AgePlaintextSizeTest, FollowsThePayloadLayout) {
  EXPECT_EQ(AgePlaintextSize(16 + 16), 0u);
  EXPECT_EQ(AgePlaintextSize(16 + 1 + 16), 1u);
  EXPECT_EQ(AgePlaintextSize(16 + 65536 + 16), 65536u);
  EXPECT_EQ(AgePlaintextSize(16 + 65552 + 1 + 16), 65537u);
  EXPECT_EQ(AgePlaintextSize(16 + 65552 + 16), std::nullopt);  // an empty final chunk
  EXPECT_EQ(AgePlaintextSize(16 + 65552 + 5), std::nullopt);   // shorter than its tag
  EXPECT_EQ(AgePlaintextSize(20), std::nullopt);
}

}  // namespace
}  // namespace triad::worker::internal
