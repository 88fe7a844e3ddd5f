// Triad's signed notes and witness cosignatures against an outside implementation: Go's
// golang.org/x/mod/sumdb/note (tests/crypto/go/cosig_interop.go) opens a checkpoint Triad signed
// and a Triad witness cosigned, verifying both signatures, and cosigns it in turn; Triad verifies
// Go's cosignature. Registered only where Go and golang-golang-x-mod-dev are installed
// (scripts/install-deps.sh installs both).
#include <openssl/evp.h>

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

// The public key of the Ed25519 key with this 32-byte seed, derived by OpenSSL.
Ed25519PublicKey PublicOfSeed(const std::string& seed) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  EXPECT_NE(pkey, nullptr);
  std::string raw(32, '\0');
  size_t len = raw.size();
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &len),
            1);
  EVP_PKEY_free(pkey);
  return *Ed25519PublicKey::FromRaw(raw);
}

class NoteGoInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto signer = NoteSigner::Create("example.com/triad-log", Ed25519PrivateKey::Generate());
    ASSERT_TRUE(signer.ok()) << signer.status();
    vkey_ = signer->verifier().VerifierKey();
    Checkpoint cp{"example.com/triad-log", 42, std::string(32, '\x5a'), {}};
    text_ = cp.ToText();
    auto note = signer->Sign(text_);
    ASSERT_TRUE(note.ok()) << note.status();
    auto line = CosignatureLine("witness-a", witness_, text_, absl::FromUnixSeconds(1750000000));
    ASSERT_TRUE(line.ok()) << line.status();
    auto cosigned = AddSignatureLine(*note, *line);
    ASSERT_TRUE(cosigned.ok()) << cosigned.status();
    note_ = *cosigned;
    log_verifier_ = signer->verifier();
  }

  // Runs the Go program on `note`; its exit code, stdout in *out, stderr in *err.
  int RunGo(const std::string& note, std::string* out, std::string* err) {
    testing::WriteTestFile(dir_.File("in.note"), note);
    // In a subshell: RunCommand sends the command's own stderr to its output.
    std::string cmd = absl::StrCat(
        "(cd ", dir_.path(), " && GOPATH=", TRIAD_GOPATH,
        " GO111MODULE=off GOFLAGS= GOCACHE=", dir_.File("gocache"), " ", TRIAD_GO, " run ",
        testing::SourceDir(), "/tests/crypto/go/cosig_interop.go ", dir_.File("in.note"), " '",
        vkey_, "' witness-a ", base::Base64Encode(witness_.public_key().raw()), " witness-go ",
        base::Base64Encode(go_seed_), " 1760000000 >", dir_.File("out.note"), " 2>",
        dir_.File("err.txt"), ")");
    int rc = testing::RunCommand(cmd);
    *out = testing::ReadIfExists(dir_.File("out.note"));
    *err = testing::ReadIfExists(dir_.File("err.txt"));
    return rc;
  }

  testing::TempDir dir_;
  Ed25519PrivateKey witness_ = Ed25519PrivateKey::Generate();
  std::string go_seed_ = std::string(32, '\x07');
  std::string vkey_, text_, note_;
  std::optional<NoteVerifier> log_verifier_;
};

TEST_F(NoteGoInteropTest, GoOpensTriadsCosignedCheckpointAndTriadVerifiesGosCosignature) {
  std::string out, err;
  ASSERT_EQ(RunGo(note_, &out, &err), 0) << err;
  // Go kept both signatures and added its own, after them.
  EXPECT_TRUE(absl::StartsWith(out, note_)) << out;
  auto cp = OpenCheckpoint(out, *log_verifier_, "example.com/triad-log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 42u);
  auto v = VerifyCosignatures(
      out, {{"witness-a", witness_.public_key()}, {"witness-go", PublicOfSeed(go_seed_)}});
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].name, "witness-a");
  EXPECT_EQ((*v)[0].time, absl::FromUnixSeconds(1750000000));
  EXPECT_EQ((*v)[1].name, "witness-go");
  EXPECT_EQ((*v)[1].time, absl::FromUnixSeconds(1760000000));
  // Go's cosignature under another key with the same name is not Go's witness: not counted.
  auto other =
      VerifyCosignatures(out, {{"witness-go", Ed25519PrivateKey::Generate().public_key()}});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(other->empty());
}

TEST_F(NoteGoInteropTest, GoRefusesACosignatureThatDoesNotVerify) {
  // The timestamp in witness-a's line changed: the signature no longer covers it.
  size_t at = note_.find("\n— witness-a ");
  ASSERT_NE(at, std::string::npos);
  size_t b64 = at + std::string("\n— witness-a ").size();
  size_t end = note_.find('\n', b64);
  std::string raw = *base::Base64Decode(note_.substr(b64, end - b64));
  raw[4 + 7] ^= 0x01;  // after the 4-byte key hash: the last byte of the timestamp
  std::string tampered = note_.substr(0, b64) + base::Base64Encode(raw) + note_.substr(end);
  std::string out, err;
  EXPECT_EQ(RunGo(tampered, &out, &err), 1);
  EXPECT_TRUE(absl::StartsWith(err, "note.Open: ")) << err;
  // Triad says the same.
  auto v = VerifyCosignatures(tampered, {{"witness-a", witness_.public_key()}});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated) << v.status();
}

}  // namespace
}  // namespace triad::crypto
