// Fuzzes the age header parser, and decryption behind it (stanza unwrapping, MAC, payload framing,
// one thread against three), with fixed identities. Seeds: the binary vectors of the C2SP age test
// kit (header and payload start).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/age.h"
#include "crypto/internal/age_format.h"

namespace age = triad::crypto::age;

namespace {

std::vector<age::X25519Identity> Identities() {
  std::vector<age::X25519Identity> ids;
  // The test kit's usual identity, so that seeded stanzas open and the MAC and payload get fuzzed too.
  ids.push_back(age::X25519Identity::Parse(triad::crypto::SecretBytes::CopyFrom(
                                               "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"))
                    .value());
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<age::X25519Identity> ids = Identities();
  static const triad::crypto::SecretBytes key = triad::crypto::SecretBytes::CopyFrom("0123456789abcdef");
  absl::string_view text(reinterpret_cast<const char*>(data), size);

  auto header = age::Header::Parse(text);
  if (header.ok()) {
    // The header is exactly a prefix of the input, and its stanzas encode to a header that parses
    // back to the same stanzas (the format is canonical).
    if (header->encoded() != text.substr(0, header->size())) __builtin_trap();
    auto rebuilt = age::internal::HeaderBuilder::Build(header->stanzas(), key);
    if (rebuilt.ok()) {
      auto again = age::Header::Parse(rebuilt->encoded());
      if (!again.ok() || again->stanzas() != header->stanzas()) __builtin_trap();
    }
  } else if (age::GetErrorKind(header.status()) != age::ErrorKind::kHeader) {
    __builtin_trap();
  }

  // Whole-file decryption: in memory (all or nothing) and streamed; they must agree.
  age::DecryptOptions options;
  options.threads = 1;
  options.armor = age::ArmorMode::kBinary;
  auto plain = age::DecryptToSecret(ids, text, options);
  std::string streamed;
  triad::crypto::StringSource in(text);
  triad::crypto::StringSink out(&streamed);
  absl::Status st = age::Decrypt(ids, in, out, options);
  if (plain.ok() != st.ok()) __builtin_trap();
  if (plain.ok() && plain->view() != streamed) __builtin_trap();
  if (!st.ok() && age::GetErrorKind(st) != age::GetErrorKind(plain.status())) __builtin_trap();
  // On three threads, the stream gives the same plaintext and the same error.
  std::string parallel;
  triad::crypto::StringSource in3(text);
  triad::crypto::StringSink out3(&parallel);
  options.threads = 3;
  absl::Status st3 = age::Decrypt(ids, in3, out3, options);
  if (st3 != st || parallel != streamed) __builtin_trap();
  return 0;
}
