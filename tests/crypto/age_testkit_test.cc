// Every vector of the C2SP CCTV age test kit (testdata/age/testkit, see its README): each
// one Triad implements the features of must give exactly the expected result, through every
// decryption path (streaming from memory with random access, streaming from a sequential source with
// short reads, serial and parallel, and the in-memory SecretBytes API). The vectors that need
// passphrases (scrypt) or post-quantum identities (mlkem768x25519) are skipped by name.
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/encoding.h"
#include "crypto/age.h"
#include "crypto/hash.h"
#include "crypto/internal/age_format.h"
#include "crypto/internal/age_stream.h"
#include "gtest/gtest.h"
#include "tests/crypto/age_test_util.h"
#include "tests/testing/testing.h"

namespace triad::crypto::age {
namespace {

std::string KitDir() { return testing::TestdataDir() + "/age/testkit"; }

// The vectors Triad does not run, by name: they need a passphrase (scrypt recipients) or a
// post-quantum identity (mlkem768x25519 hybrid recipients), neither of which Triad implements.
const std::set<std::string>& Skipped() {
  static const auto* names = new std::set<std::string>{
      // scrypt (passphrase) recipients
      "armor_scrypt", "scrypt", "scrypt_and_x25519", "scrypt_bad_tag", "scrypt_double",
      "scrypt_extra_argument", "scrypt_long_file_key", "scrypt_no_match", "scrypt_not_canonical_body",
      "scrypt_not_canonical_salt", "scrypt_salt_long", "scrypt_salt_missing", "scrypt_salt_short",
      "scrypt_uppercase", "scrypt_work_factor_23", "scrypt_work_factor_hex",
      "scrypt_work_factor_leading_garbage", "scrypt_work_factor_leading_plus",
      "scrypt_work_factor_leading_zero_decimal", "scrypt_work_factor_leading_zero_octal",
      "scrypt_work_factor_missing", "scrypt_work_factor_negative", "scrypt_work_factor_overflow",
      "scrypt_work_factor_trailing_garbage", "scrypt_work_factor_wrong", "scrypt_work_factor_zero",
      // mlkem768x25519 (post-quantum hybrid) recipients
      "armor_hybrid", "hybrid", "hybrid_and_x25519", "hybrid_bad_tag", "hybrid_currupted_enc_mlkem",
      "hybrid_currupted_enc_x25519", "hybrid_extra_argument", "hybrid_grease", "hybrid_identity",
      "hybrid_long_file_key", "hybrid_long_share", "hybrid_low_order", "hybrid_multiple_recipients",
      "hybrid_no_match", "hybrid_not_canonical_body", "hybrid_not_canonical_enc", "hybrid_short_share",
      "hybrid_uppercase", "hybrid_x25519_arg"};
  return *names;
}

struct Vector {
  std::string name;
  std::multimap<std::string, std::string> fields;
  std::string file;  // the age file, decompressed

  std::string Get(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? "" : it->second;
  }
  std::vector<std::string> All(const std::string& key) const {
    std::vector<std::string> out;
    for (auto [it, end] = fields.equal_range(key); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

std::string Inflate(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit(&zs), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[1 << 16];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << "zlib error " << rc;
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  return out;
}

Vector LoadVector(const std::string& name) {
  Vector v;
  v.name = name;
  std::string raw = testing::ReadTestFile(KitDir() + "/" + name);
  size_t split = raw.find("\n\n");
  EXPECT_NE(split, std::string::npos) << name;
  for (absl::string_view line : absl::StrSplit(absl::string_view(raw).substr(0, split), '\n')) {
    size_t colon = line.find(": ");
    EXPECT_NE(colon, absl::string_view::npos) << name << ": " << line;
    v.fields.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  v.file = raw.substr(split + 2);
  if (v.Get("compressed") == "zlib") v.file = Inflate(v.file);
  return v;
}

std::vector<std::string> VectorNames() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(KitDir())) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

ErrorKind ExpectedKind(const std::string& expect) {
  if (expect == "header failure") return ErrorKind::kHeader;
  if (expect == "HMAC failure") return ErrorKind::kHmac;
  if (expect == "no match") return ErrorKind::kNoMatch;
  if (expect == "payload failure") return ErrorKind::kPayload;
  if (expect == "armor failure") return ErrorKind::kArmor;
  ADD_FAILURE() << "unknown expect: " << expect;
  return ErrorKind::kNone;
}

std::string HexSha256(absl::string_view data) { return base::HexEncode(Sha256(data)); }

class TestKit : public ::testing::TestWithParam<std::string> {};

TEST_P(TestKit, DecryptsAsExpected) {
  const std::string& name = GetParam();
  if (Skipped().count(name) != 0) {
    GTEST_SKIP() << name << ": needs scrypt or mlkem768x25519, which Triad does not implement";
  }
  Vector v = LoadVector(name);
  std::vector<X25519Identity> ids;
  for (const std::string& text : v.All("identity")) {
    auto id = X25519Identity::Parse(SecretBytes::CopyFrom(text));
    ASSERT_TRUE(id.ok()) << name << ": " << id.status();
    ids.push_back(std::move(id).value());
  }
  ASSERT_TRUE(v.All("passphrase").empty());
  const std::string expect = v.Get("expect");
  const bool success = expect == "success";
  const ErrorKind kind = success ? ErrorKind::kNone : ExpectedKind(expect);
  const std::string payload_hash = v.Get("payload");
  DecryptOptions options;
  options.armor = v.Get("armored") == "yes" ? ArmorMode::kArmored : ArmorMode::kBinary;

  // Streaming, every way the input can arrive, serial and parallel.
  std::string first_released;
  int path = 0;
  for (bool sequential : {false, true}) {
    for (int threads : {1, 3}) {
      SCOPED_TRACE(::testing::Message() << (sequential ? "sequential" : "random access") << " input, "
                                        << threads << " threads");
      options.threads = threads;
      StringSource memory(v.file);
      ShortReadSource short_reads(memory, 1000);
      ByteSource& in = sequential ? static_cast<ByteSource&>(short_reads) : memory;
      std::string released;
      StringSink sink(&released);
      absl::Status st = Decrypt(ids, in, sink, options);
      if (success) {
        ASSERT_TRUE(st.ok()) << st;
        EXPECT_EQ(HexSha256(released), payload_hash);
      } else {
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(GetErrorKind(st), kind) << st;
        // The test kit: all plaintext released before the failure must match the payload hash.
        if (!payload_hash.empty()) {
          EXPECT_EQ(HexSha256(released), payload_hash) << st;
        }
        if (kind != ErrorKind::kPayload) {
          EXPECT_EQ(released, "") << st;
        }
      }
      if (path++ == 0) first_released = released;
      EXPECT_EQ(released, first_released) << "paths disagree";
    }
  }

  // In memory: everything or nothing.
  for (int threads : {1, 4}) {
    options.threads = threads;
    absl::StatusOr<SecretBytes> out = DecryptToSecret(ids, v.file, options);
    if (success) {
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_EQ(HexSha256(out->view()), payload_hash);
    } else {
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(GetErrorKind(out.status()), kind) << out.status();
    }
  }
}

// The parts of a vector the format lets us re-encode must re-encode to the same bytes: the header
// (with the vector's file key), the STREAM payload (with its file key and nonce), and the armor.
class TestKitSuccess : public ::testing::TestWithParam<std::string> {};

TEST_P(TestKitSuccess, ReencodesToTheSameBytes) {
  Vector v = LoadVector(GetParam());
  ASSERT_EQ(v.Get("expect"), "success");
  std::string binary = v.file;
  if (v.Get("armored") == "yes") {
    absl::StatusOr<std::string> dearmored = ArmorDecode(v.file);
    ASSERT_TRUE(dearmored.ok()) << dearmored.status();
    binary = *dearmored;
    // Armor is canonical up to CRLF line ends and white space around the block.
    std::string canonical(absl::StripAsciiWhitespace(v.file));
    canonical = absl::StrReplaceAll(canonical, {{"\r\n", "\n"}}) + "\n";
    EXPECT_EQ(ArmorEncode(binary), canonical);
  }
  absl::StatusOr<Header> header = Header::Parse(binary);
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->encoded(), binary.substr(0, header->size()));
  absl::StatusOr<std::string> file_key_bytes = base::HexDecode(v.Get("file key"));
  ASSERT_TRUE(file_key_bytes.ok());
  SecretBytes file_key = SecretBytes::CopyFrom(*file_key_bytes);
  absl::StatusOr<Header> rebuilt = internal::HeaderBuilder::Build(header->stanzas(), file_key);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->encoded(), header->encoded());

  absl::string_view payload = absl::string_view(binary).substr(header->size());
  std::vector<X25519Identity> ids;
  for (const std::string& text : v.All("identity")) {
    ids.push_back(X25519Identity::Parse(SecretBytes::CopyFrom(text)).value());
  }
  absl::StatusOr<SecretBytes> plaintext = DecryptToSecret(ids, *header, payload);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  std::string again;
  StringSink sink(&again);
  auto writer = internal::PayloadWriter::Create(file_key, payload.substr(0, 16), sink);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write(plaintext->view()).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_TRUE(again == payload) << "STREAM re-encryption differs";
}

// The runnable vectors that decrypt successfully.
std::vector<std::string> SuccessVectorNames() {
  std::vector<std::string> out;
  for (const std::string& name : VectorNames()) {
    if (Skipped().count(name) == 0 && LoadVector(name).Get("expect") == "success") out.push_back(name);
  }
  return out;
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Vectors, TestKit, ::testing::ValuesIn(VectorNames()), ParamName);
INSTANTIATE_TEST_SUITE_P(Vectors, TestKitSuccess, ::testing::ValuesIn(SuccessVectorNames()), ParamName);

// The skip list names exactly the vectors that need scrypt or post-quantum keys: nothing runnable is
// skipped, and nothing unrunnable is attempted.
TEST(TestKitCoverage, SkipListIsExactlyTheUnimplementedFeatures) {
  std::set<std::string> needs_unimplemented;
  size_t total = 0;
  for (const std::string& name : VectorNames()) {
    ++total;
    Vector v = LoadVector(name);
    bool unimplemented = !v.All("passphrase").empty();
    for (const std::string& id : v.All("identity")) {
      if (id.rfind("AGE-SECRET-KEY-1", 0) != 0) unimplemented = true;
    }
    if (unimplemented) needs_unimplemented.insert(name);
  }
  EXPECT_EQ(needs_unimplemented, Skipped());
  EXPECT_EQ(total, 143u) << "the test kit changed: review the skip list";
  std::printf("age test kit: %zu vectors, %zu run, %zu skipped by name (scrypt, mlkem768x25519):\n",
              total, total - Skipped().size(), Skipped().size());
  for (const std::string& name : Skipped()) std::printf("  skipped: %s\n", name.c_str());
}

}  // namespace
}  // namespace triad::crypto::age
