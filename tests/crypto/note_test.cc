#include "crypto/note.h"

#include <string>
#include <vector>

#include "base/encoding.h"
#include "crypto/secret.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

// The reference vectors of Go's golang.org/x/mod/sumdb/note (note_test.go), the implementation the
// C2SP signed-note spec was written from: keys, text and signatures.
constexpr absl::string_view kPeterVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// From the signer key "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz":
// base64 of 0x01 || the 32-byte Ed25519 seed.
constexpr absl::string_view kPeterSeedB64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr absl::string_view kEnochVkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr absl::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
const std::string kPeterSig =
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const std::string kEnochSig =
    "\xE2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// An Ed25519 key from a raw 32-byte seed, through PKCS#8 (RFC 8410: the seed in an OCTET STRING).
Ed25519PrivateKey KeyFromSeed(const std::string& seed) {
  std::string der = *base::HexDecode("302e020100300506032b657004220420") + seed;
  std::string pem = "-----BEGIN PRIVATE KEY-----\n" + base::Base64Encode(der) + "\n-----END PRIVATE KEY-----\n";
  auto key = Ed25519PrivateKey::FromPem(SecretBytes::CopyFrom(pem));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

Ed25519PrivateKey PeterKey() {
  std::string typed = *base::Base64Decode(kPeterSeedB64);
  EXPECT_EQ(typed[0], 0x01);
  return KeyFromSeed(typed.substr(1));
}

NoteVerifier Verifier(absl::string_view vkey) {
  auto v = NoteVerifier::FromVerifierKey(vkey);
  EXPECT_TRUE(v.ok()) << v.status();
  return *std::move(v);
}

TEST(NoteVectors, SignsLikeTheGoReference) {
  auto signer = NoteSigner::Create("PeterNeumann", PeterKey());
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->key_id(), 0xc74f20a3u);
  EXPECT_EQ(signer->verifier().VerifierKey(), kPeterVkey);
  auto note = signer->Sign(kText);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(*note, std::string(kText) + "\n" + kPeterSig);
}

TEST(NoteVectors, VerifierKeys) {
  NoteVerifier peter = Verifier(kPeterVkey);
  EXPECT_EQ(peter.name(), "PeterNeumann");
  EXPECT_EQ(peter.key_id(), 0xc74f20a3u);
  EXPECT_EQ(peter.VerifierKey(), kPeterVkey);
  NoteVerifier enoch = Verifier(kEnochVkey);
  EXPECT_EQ(enoch.key_id(), 0xaf0cfe78u);
  EXPECT_EQ(enoch.VerifierKey(), kEnochVkey);

  // As Go's TestNewVerifier: every proper substring and every single-byte change is refused.
  std::string b(kPeterVkey);
  for (size_t i = 0; i <= b.size(); ++i) {
    for (size_t j = i + 1; j <= b.size(); ++j) {
      if (i == 0 && j == b.size()) continue;
      EXPECT_FALSE(NoteVerifier::FromVerifierKey(b.substr(i, j - i)).ok()) << b.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < b.size(); ++i) {
    std::string m = b;
    ++m[i];
    EXPECT_FALSE(NoteVerifier::FromVerifierKey(m).ok()) << m;
  }
  EXPECT_EQ(NoteVerifier::FromVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .status()
                .message(),
            "note verifier key ID c74f20a4 does not match its key (c74f20a3)");
  EXPECT_EQ(NoteVerifier::FromVerifierKey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .status()
                .message(),
            "note verifier key is not an Ed25519 key (type byte 0x01)");
  EXPECT_EQ(NoteVerifier::FromVerifierKey("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .status()
                .message(),
            "note verifier key ID is not 8 lower-case hex digits");
  EXPECT_EQ(NoteVerifier::FromVerifierKey("PeterNeumann").status().message(),
            "note verifier key is not <name>+<key id>+<key>");
}

TEST(NoteVectors, OpensLikeTheGoReference) {
  NoteVerifier peter = Verifier(kPeterVkey);
  NoteVerifier enoch = Verifier(kEnochVkey);
  std::string both = std::string(kText) + "\n" + kPeterSig + kEnochSig;

  // One known key verifies; the unknown one is ignored.
  auto text = OpenNote(both, {peter});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, kText);
  EXPECT_TRUE(OpenNote(both, {peter, enoch}).ok());
  EXPECT_TRUE(OpenNote(both, {enoch}).ok());

  auto none = OpenNote(both, {});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(none.status().message(),
            "signed note has no signature by a trusted key (signed by PeterNeumann+c74f20a3, EnochRoot+af0cfe78)");

  EXPECT_EQ(OpenNote(std::string(kText) + "\n" + kEnochSig, {enoch, peter, enoch}).status().message(),
            "two note verifiers for the same key EnochRoot+af0cfe78");

  // Go's "invalid signature": four base64 characters spliced into Peter's signature.
  std::string spliced = std::string(kText) + "\n" + kPeterSig.substr(0, 60) + "ABCD" + kPeterSig.substr(60);
  auto bad = OpenNote(spliced, {peter});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(bad.status().message(), "signed note: signature by PeterNeumann+c74f20a3 does not verify");

  // A changed text fails under the known key.
  std::string changed = both;
  changed.replace(changed.find("cryptography"), 12, "cryptographY");
  EXPECT_EQ(OpenNote(changed, {peter}).status().message(),
            "signed note: signature by PeterNeumann+c74f20a3 does not verify");

  // 101 signatures is too many (the limit is Go's: 100).
  std::string many = std::string(kText) + "\n";
  for (int i = 0; i < 101; ++i) many += kPeterSig;
  EXPECT_EQ(OpenNote(many, {peter}).status().message(), "signed note has more than 100 signatures");
  std::string hundred = std::string(kText) + "\n";
  for (int i = 0; i < 100; ++i) hundred += kPeterSig;
  EXPECT_TRUE(OpenNote(hundred, {peter}).ok());
}

TEST(NoteParse, MalformedNotes) {
  const std::string t(kText);
  struct Case {
    std::string note;
    std::string reason;
  };
  // Go's badMsgs, and more, each with the rule that catches it.
  const std::vector<Case> cases = {
      {t, "signed note has no blank line before its signatures"},
      {t + "\n", "signed note has no signature lines"},
      {t + "\n" + kPeterSig.substr(0, kPeterSig.size() - 1), "signed note does not end in a newline"},
      {"\x01" + t + "\n" + kPeterSig, "signed note has control character 0x01 at byte 0"},
      {"\xff" + t + "\n" + kPeterSig, "signed note is not valid UTF-8 at byte 0"},
      {t + "\n" + "\xE2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
       "signed note: signature line 1: signature is not canonical base64"},
      {t + "\n" + kPeterSig + "Unexpected line.\n",
       "signed note: signature line 2 does not start with an em dash and a space"},
      {t + "\n" + "-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
       "signed note: signature line 1 does not start with an em dash and a space"},
      {t + "\n" + "\xE2\x80\x94 PeterNeumann\n", "signed note: signature line 1 has no space between key name and signature"},
      {t + "\n" + "\xE2\x80\x94 Peter+Neumann AAAAAAA=\n", "signed note: signature line 1: note key name contains '+'"},
      {t + "\n" + "\xE2\x80\x94 PeterNeumann AAAA\n",
       "signed note: signature line 1: signature has 3 bytes; a key ID and a signature need at least 5"},
      {t + "\n" + "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
       "signed note: signature line 1: signature is not canonical base64"},
      {t + "\n" + kPeterSig + "\t\n", "signed note has control character 0x09 at byte 210"},
      {"", "signed note does not end in a newline"},
      {std::string(kMaxNoteSize + 1, 'a'), "signed note is 65537 bytes, more than the limit of 65536"},
  };
  for (const Case& c : cases) {
    auto n = ParseNote(c.note);
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument) << c.note;
    EXPECT_EQ(n.status().message(), c.reason) << c.note;
    EXPECT_FALSE(OpenNote(c.note, {Verifier(kPeterVkey)}).ok());
  }
}

TEST(NoteParse, TheSpecExampleSplitsAtTheLastBlankLine) {
  // c2sp.org/signed-note's example: the text holds an empty line of its own.
  const std::string text =
      "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xC3\xA8 subito sera.\n";
  const std::string note =
      text + "\n\xE2\x80\x94 quasimodo.example/salvatore "
             "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
  auto n = ParseNote(note);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->text, text);
  ASSERT_EQ(n->signatures.size(), 1u);
  EXPECT_EQ(n->signatures[0].key_name, "quasimodo.example/salvatore");
  EXPECT_EQ(n->signatures[0].key_id, 0x367ba04bu);
  EXPECT_EQ(n->signatures[0].signature.size(), 64u);
}

TEST(NoteKeyNames, Rules) {
  EXPECT_TRUE(ValidateNoteKeyName("triad.example/coordinator").ok());
  EXPECT_TRUE(ValidateNoteKeyName("\xC3\xA8").ok());
  EXPECT_EQ(ValidateNoteKeyName("").message(), "note key name is empty");
  EXPECT_EQ(ValidateNoteKeyName("a+b").message(), "note key name contains '+'");
  EXPECT_EQ(ValidateNoteKeyName("a b").message(), "note key name contains space U+0020");
  EXPECT_EQ(ValidateNoteKeyName("a\xC2\xA0" "b").message(), "note key name contains space U+00A0");
  EXPECT_EQ(ValidateNoteKeyName("a\xE2\x80\x83" "b").message(), "note key name contains space U+2003");
  EXPECT_EQ(ValidateNoteKeyName("a\xE3\x80\x80" "b").message(), "note key name contains space U+3000");
  EXPECT_EQ(ValidateNoteKeyName("a\x7f").message(), "note key name contains control character 0x7f");
  EXPECT_EQ(ValidateNoteKeyName("\xC0\x80").message(), "note key name is not valid UTF-8 at byte 0");  // overlong
  EXPECT_EQ(ValidateNoteKeyName("\xED\xA0\x80").message(), "note key name is not valid UTF-8 at byte 0");  // surrogate
  EXPECT_EQ(NoteSigner::Create("a b", Ed25519PrivateKey::Generate()).status().message(),
            "note key name contains space U+0020");
}

TEST(NoteSign, RefusesTextsThatCannotBeNotes) {
  auto signer = NoteSigner::Create("k", Ed25519PrivateKey::Generate());
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(signer->Sign("").status().message(), "note text is empty");
  EXPECT_EQ(signer->Sign("abc").status().message(), "note text does not end in a newline");
  EXPECT_EQ(signer->Sign("a\rb\n").status().message(), "note text has control character 0x0d at byte 1");
  EXPECT_EQ(signer->Sign(std::string(kMaxNoteSize, 'a') + "\n").status().message(),
            "signed note would be 65637 bytes, more than the limit of 65536");
  // A text with empty lines of its own round-trips (the split is at the last blank line).
  auto note = signer->Sign("a\n\nb\n\n");
  ASSERT_TRUE(note.ok());
  auto text = OpenNote(*note, {signer->verifier()});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "a\n\nb\n\n");
}

constexpr absl::string_view kSpecCheckpoint =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

TEST(Checkpoint, ParsesTheSpecExample) {
  auto cp = ParseCheckpoint(kSpecCheckpoint);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(cp->size, 20852163u);
  EXPECT_EQ(base::Base64Encode(cp->root_hash), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(cp->extensions.empty());
  EXPECT_EQ(cp->ToText(), kSpecCheckpoint);
  // The spec's signed example parses as a note with one 64-byte signature.
  auto note = ParseNote(std::string(kSpecCheckpoint) +
                        "\n\xE2\x80\x94 example.com/behind-the-sofa "
                        "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n");
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->text, kSpecCheckpoint);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
}

TEST(Checkpoint, Extensions) {
  auto cp = ParseCheckpoint(std::string(kSpecCheckpoint) + "ext one\nsecond\n");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->extensions, (std::vector<std::string>{"ext one", "second"}));
  EXPECT_EQ(cp->ToText(), std::string(kSpecCheckpoint) + "ext one\nsecond\n");
  EXPECT_EQ(ParseCheckpoint("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")->size, 0u);
}

TEST(Checkpoint, Malformed) {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::string size_reason = "checkpoint tree size is not a decimal number without leading zeros below 2^64";
  const std::vector<Case> cases = {
      {"o\n1\n" + root, "checkpoint does not end in a newline"},
      {"o\n1\n", "checkpoint has 2 lines; it needs origin, tree size and root hash"},
      {"\n1\n" + root + "\n", "checkpoint line 1 is empty"},
      {"o\n01\n" + root + "\n", size_reason},
      {"o\n00\n" + root + "\n", size_reason},
      {"o\n+1\n" + root + "\n", size_reason},
      {"o\n-1\n" + root + "\n", size_reason},
      {"o\n1 \n" + root + "\n", size_reason},
      {"o\n0x10\n" + root + "\n", size_reason},
      {"o\n18446744073709551616\n" + root + "\n", size_reason},
      {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", "checkpoint root hash is not canonical base64 of 32 bytes"},
      {"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", "checkpoint root hash is not canonical base64 of 32 bytes"},
      {"o\n1\nAAAA\n", "checkpoint root hash is not canonical base64 of 32 bytes"},
      {"o\n1\n" + root + "\n\n", "checkpoint line 4 is empty"},
      {"o\n1\n" + root + "\na\n\nb\n", "checkpoint line 5 is empty"},
      {"o\x01\n1\n" + root + "\n", "checkpoint has control character 0x01 at byte 1"},
  };
  for (const Case& c : cases) {
    auto cp = ParseCheckpoint(c.text);
    EXPECT_EQ(cp.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(cp.status().message(), c.reason) << c.text;
  }
  EXPECT_EQ(ParseCheckpoint("o\n18446744073709551615\n" + root + "\n")->size, UINT64_MAX);
  std::string many = "o\n1\n" + root + "\n";
  for (size_t i = 0; i <= kMaxCheckpointExtensions; ++i) many += "e\n";
  EXPECT_EQ(ParseCheckpoint(many).status().message(), "checkpoint has more than 32 extension lines");
}

TEST(Checkpoint, SignedRoundTripAndEveryBitFlipRejected) {
  auto signer = NoteSigner::Create("triad.example/log", Ed25519PrivateKey::Generate());
  ASSERT_TRUE(signer.ok());
  Checkpoint cp;
  cp.origin = "triad.example/log";
  cp.size = 12345;
  cp.root_hash = std::string(32, '\x42');
  auto note = signer->Sign(cp.ToText());
  ASSERT_TRUE(note.ok());
  auto opened = OpenCheckpoint(*note, signer->verifier(), "triad.example/log");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->size, 12345u);
  EXPECT_EQ(opened->root_hash, cp.root_hash);

  EXPECT_EQ(OpenCheckpoint(*note, signer->verifier(), "other.example/log").status().message(),
            "checkpoint origin \"triad.example/log\" is not \"other.example/log\"");
  auto other = NoteSigner::Create("triad.example/log", Ed25519PrivateKey::Generate());
  EXPECT_EQ(OpenCheckpoint(*note, other->verifier(), "triad.example/log").status().code(),
            absl::StatusCode::kUnauthenticated);
  // A signature over a note that is not a checkpoint.
  auto not_cp = signer->Sign("hello\n");
  EXPECT_EQ(OpenCheckpoint(*not_cp, signer->verifier(), "triad.example/log").status().message(),
            "checkpoint has 1 lines; it needs origin, tree size and root hash");

  for (size_t i = 0; i < note->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string m = *note;
      m[i] = static_cast<char>(m[i] ^ (1 << bit));
      EXPECT_FALSE(OpenCheckpoint(m, signer->verifier(), "triad.example/log").ok()) << "byte " << i << " bit " << bit;
    }
  }
}

}  // namespace
}  // namespace triad::crypto
