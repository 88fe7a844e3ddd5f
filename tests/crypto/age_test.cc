// crypto/age: round trips through every API, tampering (every header byte, a sample of payload
// bytes, truncation, extension), parallel against serial, the key-broker calls, and the exact
// reasons of rejections.
#include "crypto/age.h"

#include <algorithm>
#include <cstring>
#include <chrono>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/status.h"
#include "crypto/internal/age_format.h"
#include "crypto/internal/age_stream.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/crypto/age_test_util.h"
#include "tests/testing/testing.h"

namespace triad::crypto::age {
namespace {

constexpr size_t kEnc = kChunkSize + 16;

std::string Bytes(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

struct Party {
  X25519Identity identity = X25519Identity::Generate();
  std::vector<X25519Identity> ids() const {
    std::vector<X25519Identity> v;
    v.push_back(X25519Identity::FromSecret(identity.secret().Clone()).value());
    return v;
  }
  std::vector<X25519Recipient> to() const { return {identity.recipient()}; }
};

std::string MustEncrypt(const std::vector<X25519Recipient>& to, absl::string_view plaintext,
                        bool armor = false) {
  absl::StatusOr<std::string> ct = Encrypt(to, plaintext, EncryptOptions{armor});
  EXPECT_TRUE(ct.ok()) << ct.status();
  return ct.ok() ? *ct : "";
}

// Decrypts through the streaming API; returns the status and what reached the sink.
absl::Status StreamDecrypt(const std::vector<X25519Identity>& ids, absl::string_view ct, int threads,
                           bool sequential, std::string* out, ArmorMode armor = ArmorMode::kAuto) {
  StringSource memory(ct);
  ShortReadSource pipe(memory, 777);
  StringSink sink(out);
  DecryptOptions options;
  options.threads = threads;
  options.armor = armor;
  return Decrypt(ids, sequential ? static_cast<ByteSource&>(pipe) : memory, sink, options);
}

size_t ExpectedCiphertextPayload(size_t n) {
  size_t chunks = n == 0 ? 1 : (n + kChunkSize - 1) / kChunkSize;
  return 16 + n + 16 * chunks;
}

TEST(AgeTest, RoundTripsEverySizeThroughEveryPath) {
  Party alice;
  for (size_t n : {size_t{0}, size_t{1}, kChunkSize - 1, kChunkSize, kChunkSize + 1, 2 * kChunkSize,
                   16 * kChunkSize, 16 * kChunkSize + 1, size_t{3 << 20} + 7}) {
    SCOPED_TRACE(n);
    std::string plain = Bytes(n, static_cast<uint32_t>(n));
    for (bool armor : {false, true}) {
      std::string ct = MustEncrypt(alice.to(), plain, armor);
      if (!armor) {
        absl::StatusOr<Header> h = Header::Parse(ct);
        ASSERT_TRUE(h.ok()) << h.status();
        EXPECT_EQ(ct.size(), h->size() + ExpectedCiphertextPayload(n));
      }
      for (int threads : {1, 2, 5}) {
        absl::StatusOr<SecretBytes> got = DecryptToSecret(alice.ids(), ct, DecryptOptions{threads});
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_TRUE(got->view() == plain);
        for (bool sequential : {false, true}) {
          std::string out;
          ASSERT_TRUE(StreamDecrypt(alice.ids(), ct, threads, sequential, &out).ok());
          EXPECT_TRUE(out == plain);
        }
      }
    }
  }
}

TEST(AgeTest, EncryptorTakesPiecesOfAnySize) {
  Party alice;
  std::string plain = Bytes(5 * kChunkSize + 123, 9);
  std::mt19937 rng(3);
  for (int round = 0; round < 4; ++round) {
    std::string ct;
    StringSink sink(&ct);
    auto enc = Encryptor::Create(alice.to(), sink);
    ASSERT_TRUE(enc.ok());
    size_t at = 0;
    while (at < plain.size()) {
      // Mostly small pieces, sometimes pieces longer than a chunk, sometimes empty ones.
      size_t n = std::min<size_t>(plain.size() - at, rng() % 3 == 0 ? rng() % (3 * kChunkSize) : rng() % 5000);
      ASSERT_TRUE((*enc)->Write(absl::string_view(plain).substr(at, n)).ok());
      at += n;
    }
    ASSERT_TRUE((*enc)->Close().ok());
    EXPECT_EQ((*enc)->Write("x").code(), absl::StatusCode::kFailedPrecondition);
    absl::StatusOr<SecretBytes> got = DecryptToSecret(alice.ids(), ct);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->view() == plain);
  }
}

// Parallel sealing of a buffer gives exactly the bytes of the sequential writer.
TEST(AgeTest, ParallelSealingEqualsSequential) {
  SecretBytes file_key = SecretBytes::CopyFrom("0123456789abcdef");
  const std::string nonce(16, 'n');
  std::string plain = Bytes(40 * kChunkSize + 5, 8);
  for (size_t n : {size_t{0}, size_t{1}, kChunkSize, 16 * kChunkSize, 16 * kChunkSize + 1, plain.size()}) {
    absl::string_view p = absl::string_view(plain).substr(0, n);
    std::string sequential;
    StringSink seq_sink(&sequential);
    auto writer = internal::PayloadWriter::Create(file_key, nonce, seq_sink);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(p).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    EXPECT_EQ(sequential.size(), ExpectedCiphertextPayload(n));
    for (int threads : {1, 2, 3, 8}) {
      std::string parallel;
      StringSink sink(&parallel);
      ASSERT_TRUE(internal::SealPayload(file_key, nonce, p, sink, threads).ok());
      EXPECT_TRUE(parallel == sequential) << n << " bytes, " << threads << " threads";
    }
  }
  Party a;
  for (int threads : {1, 4}) {
    EncryptOptions options;
    options.threads = threads;
    absl::StatusOr<std::string> ct = Encrypt(a.to(), plain, options);
    ASSERT_TRUE(ct.ok());
    EXPECT_TRUE(DecryptToSecret(a.ids(), *ct)->view() == plain);
  }
}

TEST(AgeTest, StreamingEncryptFromSource) {
  Party alice;
  std::string plain = Bytes(3 * kChunkSize + 5);
  StringSource src(plain);
  ShortReadSource pipe(src, 10000);
  std::string ct;
  StringSink sink(&ct);
  ASSERT_TRUE(Encrypt(alice.to(), pipe, sink).ok());
  EXPECT_TRUE(DecryptToSecret(alice.ids(), ct)->view() == plain);
}

TEST(AgeTest, SeveralRecipientsEachDecrypt) {
  Party a, b, c, outsider;
  std::string plain = Bytes(100000);
  std::string ct = MustEncrypt({a.identity.recipient(), b.identity.recipient(), c.identity.recipient()}, plain);
  EXPECT_EQ(Header::Parse(ct)->stanzas().size(), 3u);
  for (const Party* p : {&a, &b, &c}) {
    absl::StatusOr<SecretBytes> got = DecryptToSecret(p->ids(), ct);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->view() == plain);
  }
  absl::StatusOr<SecretBytes> no = DecryptToSecret(outsider.ids(), ct);
  EXPECT_EQ(GetErrorKind(no.status()), ErrorKind::kNoMatch);
  EXPECT_EQ(no.status().message(), "age: none of the 1 identities opens any of the file's 3 recipient stanzas");
  EXPECT_EQ(no.status().code(), absl::StatusCode::kPermissionDenied);
  // The outsider's identity plus a's: a's opens it.
  std::vector<X25519Identity> both = outsider.ids();
  both.push_back(X25519Identity::FromSecret(a.identity.secret().Clone()).value());
  EXPECT_TRUE(DecryptToSecret(both, ct).ok());
}

TEST(AgeTest, EncryptRefusesNoRecipients) {
  absl::StatusOr<std::string> ct = Encrypt({}, "x");
  EXPECT_EQ(ct.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ct.status().message(), "age: no recipients to encrypt to");
}

// Flipping any bit of any header byte, or of the nonce, makes decryption fail with no plaintext.
TEST(AgeTest, EveryHeaderAndNonceByteFlipFails) {
  Party a, b;
  std::string plain = Bytes(2 * kChunkSize + 10);
  std::string ct = MustEncrypt({a.identity.recipient(), b.identity.recipient()}, plain);
  size_t header = Header::Parse(ct)->size();
  for (size_t i = 0; i < header + 16; ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string bad = ct;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      absl::StatusOr<SecretBytes> got = DecryptToSecret(a.ids(), bad, DecryptOptions{2});
      ASSERT_FALSE(got.ok()) << "byte " << i << " mask " << int(mask);
      ErrorKind k = GetErrorKind(got.status());
      EXPECT_TRUE(k == ErrorKind::kHeader || k == ErrorKind::kHmac || k == ErrorKind::kNoMatch ||
                  k == ErrorKind::kPayload || k == ErrorKind::kArmor)
          << got.status();
      std::string out;
      absl::Status st = StreamDecrypt(a.ids(), bad, 2, i % 2 == 0, &out);
      ASSERT_FALSE(st.ok()) << "byte " << i;
      EXPECT_EQ(out, "") << "byte " << i << ": " << st;
    }
  }
}

TEST(AgeTest, PayloadByteFlipsFail) {
  Party a;
  std::string plain = Bytes(40 * kChunkSize + 1000);  // three segments
  std::string ct = MustEncrypt(a.to(), plain);
  size_t start = Header::Parse(ct)->size() + 16;
  std::mt19937 rng(7);
  std::vector<size_t> positions = {start, ct.size() - 1, ct.size() - 16, ct.size() - 17,
                                   start + kEnc - 1, start + kEnc, start + 16 * kEnc};
  for (int i = 0; i < 60; ++i) positions.push_back(start + rng() % (ct.size() - start));
  for (size_t pos : positions) {
    std::string bad = ct;
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (pos % 8)));
    const uint64_t chunk = (pos - start) / kEnc;
    absl::StatusOr<SecretBytes> got = DecryptToSecret(a.ids(), bad, DecryptOptions{3});
    ASSERT_FALSE(got.ok()) << pos;
    EXPECT_EQ(GetErrorKind(got.status()), ErrorKind::kPayload);
    for (int threads : {1, 3}) {
      for (bool sequential : {false, true}) {
        std::string out;
        absl::Status st = StreamDecrypt(a.ids(), bad, threads, sequential, &out);
        ASSERT_FALSE(st.ok()) << pos;
        EXPECT_EQ(GetErrorKind(st), ErrorKind::kPayload);
        // Only the chunks before the altered one were released, and they are genuine.
        EXPECT_EQ(out.size(), chunk * kChunkSize) << st;
        EXPECT_TRUE(out == absl::string_view(plain).substr(0, out.size()));
      }
    }
  }
}

TEST(AgeTest, TruncationAndExtensionFail) {
  Party a;
  std::string plain = Bytes(3 * kChunkSize);  // the last chunk is full
  std::string ct = MustEncrypt(a.to(), plain);
  size_t header = Header::Parse(ct)->size();
  std::vector<size_t> cuts = {0, 1, header - 1, header, header + 15, header + 16, header + 17,
                              header + 16 + kEnc, header + 16 + 2 * kEnc, ct.size() - 1};
  for (size_t cut : cuts) {
    std::string bad = ct.substr(0, cut);
    absl::StatusOr<SecretBytes> got = DecryptToSecret(a.ids(), bad);
    EXPECT_FALSE(got.ok()) << cut;
    std::string out;
    EXPECT_FALSE(StreamDecrypt(a.ids(), bad, 2, false, &out).ok()) << cut;
  }
  for (const std::string& extra : {std::string(1, '\0'), std::string(16, 'x'), Bytes(kEnc)}) {
    std::string bad = ct + extra;
    EXPECT_EQ(GetErrorKind(DecryptToSecret(a.ids(), bad).status()), ErrorKind::kPayload);
    std::string out;
    EXPECT_EQ(GetErrorKind(StreamDecrypt(a.ids(), bad, 2, true, &out)), ErrorKind::kPayload);
  }
}

TEST(AgeTest, PayloadErrorsSayWhatHappened) {
  Party a;
  std::string plain = Bytes(2 * kChunkSize);
  std::string ct = MustEncrypt(a.to(), plain);
  size_t start = Header::Parse(ct)->size() + 16;
  auto reason = [&](const std::string& bad) {
    std::string out;
    return std::string(StreamDecrypt(a.ids(), bad, 1, false, &out).message());
  };
  // Cut at a chunk boundary: the remaining last chunk is not final.
  EXPECT_EQ(reason(ct.substr(0, start + kEnc)),
            "age payload: the file ends after chunk 0, which is not the final chunk: the file is truncated");
  EXPECT_EQ(reason(ct.substr(0, start)), "age payload: no chunks after the nonce: the file is truncated");
  EXPECT_EQ(reason(ct.substr(0, start + kEnc + 10)),
            "age payload: chunk 1 is truncated: 10 bytes, shorter than its 16-byte tag");
  // Anything after the final chunk: the final chunk is released, then the error.
  for (const std::string& extra : {std::string(kEnc, 'x'), std::string(1, 'x'), std::string(16, 'x')}) {
    EXPECT_EQ(reason(ct + extra), "age payload: chunk 1 is the final chunk, but more data follows it");
  }
  std::string altered = ct;
  altered[start + kEnc + 5] ^= 1;
  EXPECT_EQ(reason(altered),
            "age payload: chunk 1 does not authenticate as the final chunk: the file is truncated, "
            "extended or altered");
  // Chunks swapped.
  std::string swapped = ct.substr(0, start) + ct.substr(start + kEnc, kEnc) + ct.substr(start, kEnc);
  EXPECT_EQ(reason(swapped), "age payload: chunk 0 does not authenticate: the file is altered");
  // A short final chunk followed by more data is cut where a full chunk would end.
  std::string short_final = MustEncrypt(a.to(), Bytes(kChunkSize + 100));
  EXPECT_EQ(reason(short_final + std::string(kEnc, 'y')).substr(0, 29), "age payload: chunk 1 does not");
  EXPECT_EQ(reason(ct.substr(0, Header::Parse(ct)->size() + 5)),
            "age header: the file ends before the 16-byte payload nonce is complete");
}

TEST(AgeTest, HeaderErrorsSayWhatHappened) {
  Party a;
  std::string ct = MustEncrypt(a.to(), "hello");
  size_t header = Header::Parse(ct)->size();
  auto reason = [](absl::string_view text) {
    absl::StatusOr<Header> h = Header::Parse(text);
    EXPECT_EQ(GetErrorKind(h.status()), ErrorKind::kHeader) << h.status();
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(h.status().message());
  };
  EXPECT_EQ(reason(""), "age header: the input is empty");
  EXPECT_EQ(reason("hello"), "age header: not an age file: it does not start with \"age-encryption.org/v1\"");
  EXPECT_EQ(reason("age-encryption.org/v2\n"),
            "age header: unsupported version line (Triad reads age-encryption.org/v1)");
  EXPECT_EQ(reason(ct.substr(0, 30)), "age header: truncated: the input ends in the header");
  EXPECT_EQ(reason(ct.substr(0, header - 1)), "age header: truncated: the input ends in the header");
  std::string mac_line = ct.substr(header - 48, 48);
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n", mac_line)), "age header: no recipient stanza");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n->  X25519\n\n", mac_line)),
            "age header: stanza 1: argument 1 is empty or has characters outside printable ASCII "
            "(single spaces separate arguments)");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n->\n\n", mac_line)),
            "age header: stanza 1: \"->\" must be followed by a space and arguments");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n-> a\n", std::string(65, 'A'), "\n", mac_line)),
            "age header: stanza 1: body line longer than 64 columns");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n-> a\nAB==\n", mac_line)),
            "age header: stanza 1: body is not canonical unpadded base64 (base64: invalid character)");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n-> a\n\nxyz\n", mac_line)),
            "age header: after stanza 1: a line that is neither a stanza (\"-> \") nor the MAC line "
            "(\"--- \")");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n-> a\n\n---  ", mac_line.substr(4))),
            "age header: malformed MAC line: must be \"--- \" and 43 base64 characters");
  EXPECT_EQ(reason(std::string(kMaxHeaderSize + 10, 'a')),
            "age header: not an age file: it does not start with \"age-encryption.org/v1\"");
  EXPECT_EQ(reason(absl::StrCat("age-encryption.org/v1\n-> ", std::string(kMaxHeaderSize, 'a'), "\n")),
            "age header: longer than 1048576 bytes");
}

TEST(AgeTest, StanzaAndMacErrors) {
  Party a;
  std::string ct = MustEncrypt(a.to(), "hello");
  Header h = Header::Parse(ct).value();
  // The MAC of another header with the same stanzas.
  std::string bad_mac = ct;
  size_t mac_at = h.size() - 44;
  bad_mac[mac_at] = bad_mac[mac_at] == 'A' ? 'B' : 'A';
  absl::StatusOr<SecretBytes> got = DecryptToSecret(a.ids(), bad_mac);
  if (GetErrorKind(got.status()) != ErrorKind::kHeader) {  // unless the flip made the base64 non-canonical
    EXPECT_EQ(GetErrorKind(got.status()), ErrorKind::kHmac);
    EXPECT_EQ(got.status().message(), "age header MAC: does not match: the header was altered");
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  }
  // An X25519 stanza with two arguments.
  std::string two_args = ct;
  size_t eol = two_args.find('\n', 22);
  two_args.insert(eol, " extra");
  EXPECT_EQ(DecryptToSecret(a.ids(), two_args).status().message(),
            "age header: X25519 stanza: must have exactly one argument, the ephemeral share");
  // A low-order share (the all-zero point).
  std::string zero_share = absl::StrCat("age-encryption.org/v1\n-> X25519 ",
                                        internal::Base64Raw(std::string(32, '\0')), "\n",
                                        internal::Base64Raw(std::string(32, 'k')), "\n",
                                        ct.substr(h.size() - 48));
  EXPECT_EQ(DecryptToSecret(a.ids(), zero_share).status().message(),
            "age header: X25519 stanza: the ephemeral share is a low-order point");
}

TEST(AgeTest, ParallelEqualsSerialOnAllSizes) {
  Party a;
  std::string plain = Bytes(70 * kChunkSize + 999, 5);  // 71 chunks, 5 segments
  for (size_t n : {size_t{0}, size_t{1}, kChunkSize, 16 * kChunkSize, 17 * kChunkSize, 32 * kChunkSize,
                   plain.size()}) {
    std::string p = plain.substr(0, n);
    std::string ct = MustEncrypt(a.to(), p);
    std::string serial;
    ASSERT_TRUE(StreamDecrypt(a.ids(), ct, 1, false, &serial).ok());
    EXPECT_TRUE(serial == p);
    for (int threads : {2, 3, 4, 8, 16}) {
      for (bool sequential : {false, true}) {
        std::string out;
        ASSERT_TRUE(StreamDecrypt(a.ids(), ct, threads, sequential, &out).ok());
        EXPECT_TRUE(out == serial) << n << " " << threads;
      }
      EXPECT_TRUE(DecryptToSecret(a.ids(), ct, DecryptOptions{threads})->view() == serial);
    }
  }
}

TEST(AgeTest, KeyBrokerRewrapsWithoutTouchingThePayload) {
  Party owner, broker, worker, stranger;
  std::string plain = Bytes(200000);
  std::string ct = MustEncrypt(broker.to(), plain);
  // The broker holds a prefix of the ciphertext: enough for the header.
  absl::StatusOr<Header> header = Header::Parse(absl::string_view(ct).substr(0, 4096));
  ASSERT_TRUE(header.ok()) << header.status();
  absl::string_view payload = absl::string_view(ct).substr(header->size());

  absl::StatusOr<SecretBytes> key = UnwrapFileKey(*header, broker.ids());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), kFileKeySize);
  EXPECT_EQ(GetErrorKind(UnwrapFileKey(*header, worker.ids()).status()), ErrorKind::kNoMatch);

  absl::StatusOr<Header> rewrapped = RewrapHeader(*header, broker.ids(), worker.to());
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  ASSERT_EQ(rewrapped->stanzas().size(), 1u);
  EXPECT_NE(rewrapped->encoded(), header->encoded());
  std::string spliced = absl::StrCat(rewrapped->encoded(), payload);
  EXPECT_TRUE(DecryptToSecret(worker.ids(), spliced)->view() == plain);
  EXPECT_TRUE(DecryptToSecret(worker.ids(), *rewrapped, payload)->view() == plain);
  StringSource payload_source(payload);
  std::string streamed;
  StringSink sink(&streamed);
  ASSERT_TRUE(Decrypt(worker.ids(), *rewrapped, payload_source, sink).ok());
  EXPECT_TRUE(streamed == plain);
  // Only the new recipient: the broker's own identity no longer opens the new header.
  EXPECT_EQ(GetErrorKind(DecryptToSecret(broker.ids(), spliced).status()), ErrorKind::kNoMatch);
  EXPECT_EQ(GetErrorKind(RewrapHeader(*header, stranger.ids(), worker.to()).status()),
            ErrorKind::kNoMatch);
  // Wrapping the unwrapped key directly is the same thing.
  absl::StatusOr<Header> wrapped = WrapFileKey(*key, {worker.identity.recipient(), owner.identity.recipient()});
  ASSERT_TRUE(wrapped.ok());
  EXPECT_TRUE(DecryptToSecret(owner.ids(), absl::StrCat(wrapped->encoded(), payload))->view() == plain);
  EXPECT_EQ(WrapFileKey(SecretBytes(15), worker.to()).status().message(), "age: the file key must be 16 bytes");
  EXPECT_EQ(WrapFileKey(*key, {}).status().message(), "age: no recipients to wrap the file key to");
  // A header from one file does not open another file's payload.
  std::string other = MustEncrypt(worker.to(), plain);
  absl::string_view other_payload = absl::string_view(other).substr(Header::Parse(other)->size());
  EXPECT_EQ(GetErrorKind(DecryptToSecret(worker.ids(), *rewrapped, other_payload).status()),
            ErrorKind::kPayload);
}

TEST(AgeTest, ArmorRoundTripAndErrors) {
  for (size_t n : {0, 1, 47, 48, 49, 96, 1000}) {
    std::string bin = Bytes(n);
    std::string armored = ArmorEncode(bin);
    EXPECT_EQ(armored.substr(0, 35), "-----BEGIN AGE ENCRYPTED FILE-----\n");
    EXPECT_EQ(armored.substr(armored.size() - 33), "-----END AGE ENCRYPTED FILE-----\n");
    EXPECT_EQ(ArmorDecode(armored).value(), bin);
    // Streaming writes in odd pieces give the same text.
    std::string pieces;
    StringSink sink(&pieces);
    ArmorWriter w(sink);
    for (size_t i = 0; i < n; i += 7) ASSERT_TRUE(w.Write(absl::string_view(bin).substr(i, 7)).ok());
    ASSERT_TRUE(w.Finish().ok());
    EXPECT_EQ(pieces, armored);
  }
  auto reason = [](absl::string_view text) {
    absl::StatusOr<std::string> d = ArmorDecode(text);
    EXPECT_EQ(GetErrorKind(d.status()), ErrorKind::kArmor) << d.status();
    return std::string(d.status().message());
  };
  std::string ok = ArmorEncode(Bytes(100));
  EXPECT_EQ(reason("garbage\n" + ok),
            "age armor: the input does not start with a -----BEGIN AGE ENCRYPTED FILE----- line");
  EXPECT_EQ(reason(ok + "x"), "age armor: data after the -----END AGE ENCRYPTED FILE----- line");
  EXPECT_EQ(reason(ok.substr(0, ok.size() - 33)),
            "age armor: the input ends without a -----END AGE ENCRYPTED FILE----- line");
  EXPECT_EQ(reason("-----BEGIN AGE ENCRYPTED FILE-----\n\n-----END AGE ENCRYPTED FILE-----\n"),
            "age armor: an empty line inside the armor");
  EXPECT_EQ(reason("-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\nAAAA\n-----END AGE ENCRYPTED FILE-----\n"),
            "age armor: a line follows a short or padded base64 line, which must be the last");
  EXPECT_EQ(reason("-----BEGIN AGE ENCRYPTED FILE-----\nAAA\n-----END AGE ENCRYPTED FILE-----\n"),
            "age armor: a base64 line is not a multiple of 4 characters (missing padding?)");
  EXPECT_EQ(reason("-----BEGIN AGE ENCRYPTED FILE-----\nAB==\n-----END AGE ENCRYPTED FILE-----\n"),
            "age armor: a line is not canonical base64 (base64: non-canonical trailing bits)");
  EXPECT_EQ(reason("-----BEGIN AGE ENCRYPTED FILE-----\n" + std::string(68, 'A') + "\n"),
            "age armor: a line is longer than 64 columns");
  EXPECT_EQ(reason("-----BEGIN AGE ENCRYPTED FILE-----\n" + std::string(200, 'A')),
            "age armor: a line is longer than 64 columns");
  // Accepted: CRLF line ends, white space around the block, no final line end.
  std::string crlf = absl::StrReplaceAll(ok, {{"\n", "\r\n"}});
  EXPECT_EQ(ArmorDecode(" \r\n\t" + crlf + "\n \n").value(), Bytes(100));
  EXPECT_EQ(ArmorDecode(ok.substr(0, ok.size() - 1)).value(), Bytes(100));
}

TEST(AgeTest, ArmorModes) {
  Party a;
  std::string plain = Bytes(1000);
  std::string armored = MustEncrypt(a.to(), plain, true);
  std::string binary = MustEncrypt(a.to(), plain, false);
  EXPECT_TRUE(DecryptToSecret(a.ids(), " \n" + armored)->view() == plain);  // kAuto
  DecryptOptions bin_only;
  bin_only.armor = ArmorMode::kBinary;
  EXPECT_EQ(GetErrorKind(DecryptToSecret(a.ids(), armored, bin_only).status()), ErrorKind::kHeader);
  DecryptOptions armor_only;
  armor_only.armor = ArmorMode::kArmored;
  EXPECT_EQ(GetErrorKind(DecryptToSecret(a.ids(), binary, armor_only).status()), ErrorKind::kArmor);
  std::string out;
  EXPECT_TRUE(StreamDecrypt(a.ids(), armored, 2, true, &out).ok());
  EXPECT_TRUE(out == plain);
  // Binary data inside the armor that is not an age file is a header failure, after the armor.
  EXPECT_EQ(GetErrorKind(DecryptToSecret(a.ids(), ArmorEncode("not age"), armor_only).status()),
            ErrorKind::kHeader);
}

// A source with random access whose size changes under the reader.
class ChangingSource : public ByteSource {
 public:
  ChangingSource(std::string data, uint64_t claimed) : data_(std::move(data)), claimed_(claimed) {}
  absl::StatusOr<size_t> Read(char*, size_t) override { return absl::InternalError("unused"); }
  std::optional<uint64_t> Size() const override { return claimed_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    if (offset >= data_.size()) return 0;
    size_t k = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, k);
    return k;
  }

 private:
  std::string data_;
  uint64_t claimed_;
};

// A file whose last bytes are slow to read: while one thread reads the final segment, the others
// are free to claim more.
class SlowEndSource : public ByteSource {
 public:
  explicit SlowEndSource(absl::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char*, size_t) override { return absl::InternalError("unused"); }
  std::optional<uint64_t> Size() const override { return data_.size(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    if (offset >= data_.size()) return 0;
    size_t k = std::min<uint64_t>(n, data_.size() - offset);
    if (offset + k == data_.size() && k > 1000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::memcpy(buf, data_.data() + offset, k);
    return k;
  }

 private:
  absl::string_view data_;
};

TEST(AgeTest, NoThreadReadsPastTheLastSegment) {
  Party a;
  // 6 segments, the last one of 3 chunks.
  const std::string plain = Bytes((5 * internal::kChunksPerSegment + 3) * kChunkSize - 100, 9);
  const std::string ct = MustEncrypt(a.to(), plain);
  for (int threads : {2, 4, 8}) {
    SlowEndSource slow(ct);
    std::string out;
    StringSink sink(&out);
    absl::Status st = Decrypt(a.ids(), slow, sink, DecryptOptions{threads});
    ASSERT_TRUE(st.ok()) << threads << ": " << st;
    EXPECT_TRUE(out == plain) << threads;
  }
}

TEST(AgeTest, InputThatChangesWhileReadIsAnError) {
  Party a;
  std::string ct = MustEncrypt(a.to(), Bytes(5 * kChunkSize));
  for (int threads : {1, 3}) {
    ChangingSource grew(ct + "more", ct.size());
    std::string out;
    StringSink sink(&out);
    absl::Status st = Decrypt(a.ids(), grew, sink, DecryptOptions{threads});
    EXPECT_EQ(st.message(), "age: the input grew while it was being decrypted");
    EXPECT_EQ(GetErrorKind(st), ErrorKind::kNone);
    ChangingSource shrank(ct.substr(0, ct.size() - 100), ct.size());
    out.clear();
    st = Decrypt(a.ids(), shrank, sink, DecryptOptions{threads});
    EXPECT_EQ(st.message(), "age: the input shrank while it was being decrypted");
  }
}

// A sink that refuses to take more than `limit` bytes.
class FullSink : public ByteSink {
 public:
  explicit FullSink(size_t limit) : limit_(limit) {}
  absl::Status Write(absl::string_view data) override {
    ++writes_after_full_;
    if (taken_.size() + data.size() > limit_) return absl::ResourceExhaustedError("the disk is full");
    writes_after_full_ = 0;
    taken_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  const std::string& taken() const { return taken_; }
  int writes_after_full() const { return writes_after_full_; }

 private:
  size_t limit_;
  std::string taken_;
  int writes_after_full_ = 0;
};

// A pipe that fails with an I/O error once `limit` bytes have been read from it.
class BrokenPipeSource : public ByteSource {
 public:
  BrokenPipeSource(absl::string_view data, size_t limit) : data_(data), limit_(limit) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (position_ >= limit_) return absl::DataLossError("the pipe broke");
    size_t k = std::min({n, limit_ - position_, size_t{5000}});
    std::memcpy(buf, data_.data() + position_, k);
    position_ += k;
    return k;
  }

 private:
  absl::string_view data_;
  size_t limit_;
  size_t position_ = 0;
};

TEST(AgeTest, SinkAndSourceErrorsEndTheRunInOrder) {
  Party a;
  constexpr size_t kSegment = internal::kChunksPerSegment * kChunkSize;
  const std::string plain = Bytes(6 * kSegment + 5, 3);  // 7 segments
  const std::string ct = MustEncrypt(a.to(), plain);
  for (int threads : {1, 2, 4}) {
    for (bool sequential : {false, true}) {
      // The sink fills up in the middle of the third segment: the run stops at the first refused
      // write, returns its error, and writes nothing after it.
      StringSource memory(ct);
      ShortReadSource pipe(memory, 777);
      FullSink sink(2 * kSegment + 3);
      absl::Status st = Decrypt(a.ids(), sequential ? static_cast<ByteSource&>(pipe) : memory, sink,
                                DecryptOptions{threads});
      EXPECT_EQ(st, absl::ResourceExhaustedError("the disk is full")) << threads << sequential;
      EXPECT_EQ(sink.taken(), absl::string_view(plain).substr(0, 2 * kSegment));
      EXPECT_EQ(sink.writes_after_full(), 1);
    }
    // The input breaks in the middle of the fifth segment: the four whole segments before it are
    // written, then the read error is returned.
    const size_t header = Header::Parse(ct)->size() + 16;
    BrokenPipeSource broken(ct, header + 4 * internal::kChunksPerSegment * kEnc + 1000);
    std::string out;
    StringSink sink(&out);
    absl::Status st = Decrypt(a.ids(), broken, sink, DecryptOptions{threads});
    EXPECT_EQ(st, absl::DataLossError("the pipe broke")) << threads;
    EXPECT_EQ(out, absl::string_view(plain).substr(0, 4 * kSegment)) << threads;
  }
}

TEST(AgeTest, ErrorKindsAndNames) {
  EXPECT_EQ(GetErrorKind(absl::OkStatus()), ErrorKind::kNone);
  EXPECT_EQ(GetErrorKind(absl::DataLossError("x")), ErrorKind::kNone);
  EXPECT_EQ(ErrorKindName(ErrorKind::kHeader), "header failure");
  EXPECT_EQ(ErrorKindName(ErrorKind::kHmac), "HMAC failure");
  EXPECT_EQ(ErrorKindName(ErrorKind::kNoMatch), "no match");
  EXPECT_EQ(ErrorKindName(ErrorKind::kPayload), "payload failure");
  EXPECT_EQ(ErrorKindName(ErrorKind::kArmor), "armor failure");
  // The kind survives added context.
  absl::Status st = base::Annotate(internal::AgeError(ErrorKind::kPayload, "x"), "decrypting f.age");
  EXPECT_EQ(GetErrorKind(st), ErrorKind::kPayload);
  EXPECT_EQ(st.message(), "decrypting f.age: age payload: x");
}

TEST(AgeTest, MessagesNeverHoldKeys) {
  Party a, b;
  std::string ct = MustEncrypt(a.to(), "secret");
  std::vector<absl::Status> errors = {
      DecryptToSecret(b.ids(), ct).status(),
      DecryptToSecret(a.ids(), ct.substr(0, ct.size() - 1)).status(),
      RewrapHeader(Header::Parse(ct).value(), b.ids(), a.to()).status(),
  };
  for (const absl::Status& st : errors) {
    ASSERT_FALSE(st.ok());
    std::string m(st.message());
    for (const Party* p : {&a, &b}) {
      EXPECT_EQ(m.find(std::string(p->identity.ToString().view())), std::string::npos);
      EXPECT_EQ(m.find(p->identity.recipient().ToString()), std::string::npos);
    }
    EXPECT_EQ(m.find("secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace triad::crypto::age
