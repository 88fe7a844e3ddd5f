#include "crypto/age.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/internal/age_format.h"
#include "crypto/internal/age_primitives.h"
#include "crypto/internal/age_stream.h"
#include "crypto/internal/age_x25519.h"
#include "crypto/random.h"

namespace triad::crypto::age {
namespace {

using internal::AgeError;
using internal::BufferedInput;

// Plaintext read from a source is handed to the encryptor in blocks of this size.
constexpr size_t kEncryptReadBlock = 1 << 20;

bool StartsArmored(absl::string_view first) {
  if (first.empty()) return false;
  char c = first[0];
  // A binary age file starts with "age-encryption.org/"; armor may have white space before it.
  return c == '-' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool UseArmor(ArmorMode mode, absl::string_view first) {
  switch (mode) {
    case ArmorMode::kArmored: return true;
    case ArmorMode::kBinary: return false;
    case ArmorMode::kAuto: return StartsArmored(first);
  }
  return false;
}

absl::Status NonceError() {
  return AgeError(ErrorKind::kHeader, "the file ends before the 16-byte payload nonce is complete");
}

// Reads the nonce and decrypts the chunks that follow it.
absl::Status DecryptPayloadStream(const SecretBytes& file_key, BufferedInput& in, ByteSink& out,
                                  int threads) {
  char nonce[internal::kPayloadNonceSize];
  TRIAD_ASSIGN_OR_RETURN(size_t got, in.ReadFull(nonce, sizeof nonce));
  if (got != sizeof nonce) return NonceError();
  TRIAD_ASSIGN_OR_RETURN(SecretBytes key,
                         internal::PayloadKey(file_key, absl::string_view(nonce, sizeof nonce)));
  return internal::DecryptChunksToSink(key, internal::ChunkInput::After(in), out,
                                       internal::ResolveThreads(threads));
}

absl::Status DecryptBinary(absl::Span<const X25519Identity> identities, BufferedInput& in,
                           ByteSink& out, int threads) {
  TRIAD_ASSIGN_OR_RETURN(Header header, internal::ReadHeader(in));
  TRIAD_ASSIGN_OR_RETURN(SecretBytes file_key, UnwrapFileKey(header, identities));
  return DecryptPayloadStream(file_key, in, out, threads);
}

class EncryptorImpl : public Encryptor {
 public:
  absl::Status Init(absl::Span<const X25519Recipient> recipients, ByteSink& out,
                    const EncryptOptions& options) {
    if (recipients.empty()) return absl::InvalidArgumentError("age: no recipients to encrypt to");
    SecretBytes file_key = RandomSecret(kFileKeySize);
    TRIAD_ASSIGN_OR_RETURN(Header header, WrapFileKey(file_key, recipients));
    ByteSink* sink = &out;
    if (options.armor) {
      armor_ = std::make_unique<ArmorWriter>(out);
      sink = armor_.get();
    }
    TRIAD_RETURN_IF_ERROR(sink->Write(header.encoded()));
    TRIAD_ASSIGN_OR_RETURN(payload_, internal::PayloadWriter::Create(
                                         file_key, RandomString(internal::kPayloadNonceSize), *sink));
    return absl::OkStatus();
  }

  absl::Status Write(absl::string_view plaintext) override {
    if (failed_) return absl::FailedPreconditionError("age: the encryptor failed earlier");
    absl::Status st = payload_->Write(plaintext);
    failed_ = !st.ok();
    return st;
  }

  absl::Status Close() override {
    if (failed_) return absl::FailedPreconditionError("age: the encryptor failed earlier");
    failed_ = true;  // nothing may follow Close
    TRIAD_RETURN_IF_ERROR(payload_->Close());
    if (armor_) TRIAD_RETURN_IF_ERROR(armor_->Finish());
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<ArmorWriter> armor_;
  std::unique_ptr<internal::PayloadWriter> payload_;
  bool failed_ = false;
};

// Encrypts a plaintext held whole in memory, sealing its chunks in parallel.
absl::Status EncryptWhole(absl::Span<const X25519Recipient> recipients, absl::string_view plaintext,
                          ByteSink& out, const EncryptOptions& options) {
  if (recipients.empty()) return absl::InvalidArgumentError("age: no recipients to encrypt to");
  SecretBytes file_key = RandomSecret(kFileKeySize);
  TRIAD_ASSIGN_OR_RETURN(Header header, WrapFileKey(file_key, recipients));
  std::unique_ptr<ArmorWriter> armor;
  ByteSink* sink = &out;
  if (options.armor) {
    armor = std::make_unique<ArmorWriter>(out);
    sink = armor.get();
  }
  TRIAD_RETURN_IF_ERROR(sink->Write(header.encoded()));
  TRIAD_RETURN_IF_ERROR(internal::SealPayload(file_key, RandomString(internal::kPayloadNonceSize),
                                              plaintext, *sink, internal::ResolveThreads(options.threads)));
  return armor ? armor->Finish() : absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecretBytes> UnwrapFileKey(const Header& header,
                                          absl::Span<const X25519Identity> identities) {
  for (const X25519Identity& identity : identities) {
    for (const Stanza& stanza : header.stanzas()) {
      TRIAD_ASSIGN_OR_RETURN(std::optional<SecretBytes> file_key,
                             internal::UnwrapX25519(stanza, identity));
      if (!file_key.has_value()) continue;
      TRIAD_ASSIGN_OR_RETURN(std::string mac, internal::HeaderMac(*file_key, header));
      if (!ConstantTimeEquals(mac, header.mac())) {
        return AgeError(ErrorKind::kHmac, "does not match: the header was altered");
      }
      return std::move(*file_key);
    }
  }
  return AgeError(ErrorKind::kNoMatch,
                  absl::StrCat("none of the ", identities.size(), " identities opens any of the file's ",
                               header.stanzas().size(), " recipient stanzas"));
}

absl::StatusOr<Header> WrapFileKey(const SecretBytes& file_key,
                                   absl::Span<const X25519Recipient> recipients) {
  if (file_key.size() != kFileKeySize) return absl::InvalidArgumentError("age: the file key must be 16 bytes");
  if (recipients.empty()) return absl::InvalidArgumentError("age: no recipients to wrap the file key to");
  std::vector<Stanza> stanzas;
  stanzas.reserve(recipients.size());
  for (const X25519Recipient& r : recipients) {
    TRIAD_ASSIGN_OR_RETURN(Stanza s, internal::WrapX25519(file_key, r));
    stanzas.push_back(std::move(s));
  }
  return internal::HeaderBuilder::Build(std::move(stanzas), file_key);
}

absl::StatusOr<Header> RewrapHeader(const Header& header, absl::Span<const X25519Identity> identities,
                                    absl::Span<const X25519Recipient> new_recipients) {
  TRIAD_ASSIGN_OR_RETURN(SecretBytes file_key, UnwrapFileKey(header, identities));
  return WrapFileKey(file_key, new_recipients);
}

absl::StatusOr<std::unique_ptr<Encryptor>> Encryptor::Create(absl::Span<const X25519Recipient> recipients,
                                                             ByteSink& out, const EncryptOptions& options) {
  auto enc = std::make_unique<EncryptorImpl>();
  TRIAD_RETURN_IF_ERROR(enc->Init(recipients, out, options));
  return std::unique_ptr<Encryptor>(std::move(enc));
}

absl::Status Encrypt(absl::Span<const X25519Recipient> recipients, ByteSource& in, ByteSink& out,
                     const EncryptOptions& options) {
  if (std::optional<absl::string_view> view = in.View(); view.has_value()) {
    // In memory already (a mapped file): sealed in place and in parallel, without a copy.
    return EncryptWhole(recipients, *view, out, options);
  }
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<Encryptor> enc, Encryptor::Create(recipients, out, options));
  SecretBytes buf = SecretBytes::Uninitialized(kEncryptReadBlock);
  while (true) {
    TRIAD_ASSIGN_OR_RETURN(size_t n, in.Read(reinterpret_cast<char*>(buf.data()), buf.size()));
    if (n == 0) break;
    TRIAD_RETURN_IF_ERROR(enc->Write(buf.view().substr(0, n)));
  }
  return enc->Close();
}

absl::StatusOr<std::string> Encrypt(absl::Span<const X25519Recipient> recipients,
                                    absl::string_view plaintext, const EncryptOptions& options) {
  std::string out;
  size_t chunks = plaintext.size() / kChunkSize + 1;
  out.reserve(256 + 128 * recipients.size() + plaintext.size() + chunks * internal::kTagSize);
  StringSink sink(&out);
  TRIAD_RETURN_IF_ERROR(EncryptWhole(recipients, plaintext, sink, options));
  return out;
}

absl::Status Decrypt(absl::Span<const X25519Identity> identities, ByteSource& in, ByteSink& out,
                     const DecryptOptions& options) {
  BufferedInput raw(in);
  TRIAD_ASSIGN_OR_RETURN(absl::string_view first, raw.Peek(1));
  if (!UseArmor(options.armor, first)) return DecryptBinary(identities, raw, out, options.threads);
  ArmorReader armor(raw);
  BufferedInput binary(armor);
  return DecryptBinary(identities, binary, out, options.threads);
}

absl::Status Decrypt(absl::Span<const X25519Identity> identities, const Header& header,
                     ByteSource& payload, ByteSink& out, const DecryptOptions& options) {
  TRIAD_ASSIGN_OR_RETURN(SecretBytes file_key, UnwrapFileKey(header, identities));
  BufferedInput in(payload);
  return DecryptPayloadStream(file_key, in, out, options.threads);
}

absl::StatusOr<SecretBytes> DecryptToSecret(absl::Span<const X25519Identity> identities,
                                            absl::string_view ciphertext,
                                            const DecryptOptions& options) {
  std::string dearmored;
  absl::string_view binary = ciphertext;
  if (UseArmor(options.armor, ciphertext.substr(0, 1))) {
    TRIAD_ASSIGN_OR_RETURN(dearmored, ArmorDecode(ciphertext));
    binary = dearmored;
  }
  TRIAD_ASSIGN_OR_RETURN(Header header, Header::Parse(binary));
  return DecryptToSecret(identities, header, binary.substr(header.size()), options);
}

absl::StatusOr<SecretBytes> DecryptToSecret(absl::Span<const X25519Identity> identities,
                                            const Header& header, absl::string_view payload,
                                            const DecryptOptions& options) {
  TRIAD_ASSIGN_OR_RETURN(SecretBytes file_key, UnwrapFileKey(header, identities));
  if (payload.size() < internal::kPayloadNonceSize) return NonceError();
  TRIAD_ASSIGN_OR_RETURN(SecretBytes key,
                         internal::PayloadKey(file_key, payload.substr(0, internal::kPayloadNonceSize)));
  return internal::DecryptChunksToSecret(
      key, internal::ChunkInput::Memory(payload.substr(internal::kPayloadNonceSize)),
      internal::ResolveThreads(options.threads));
}

}  // namespace triad::crypto::age
