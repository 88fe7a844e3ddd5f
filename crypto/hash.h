// Hash functions over byte strings. Digests are returned raw (32/48/64 bytes); hex them with
// base::HexEncode where a text form is needed.
#ifndef TRIAD_CRYPTO_HASH_H_
#define TRIAD_CRYPTO_HASH_H_

#include <string>
#include "absl/strings/string_view.h"

#include "crypto/ssl_ptr.h"

namespace triad::crypto {

enum class HashAlg { kSha256, kSha384, kSha512 };

size_t DigestSize(HashAlg alg);

std::string Sha256(absl::string_view data);
std::string Sha384(absl::string_view data);
std::string Sha512(absl::string_view data);
// "sha256:<lower-case hex>", the form of artifact ids and digests in documents.
std::string Sha256Id(absl::string_view data);

// Incremental hashing, for data that arrives in pieces (streamed blobs, files larger than memory).
// Not thread-safe; one Hasher per stream.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  void Update(absl::string_view data);
  // Returns the digest; the Hasher must not be used afterwards.
  std::string Finish();

 private:
  SslPtr<EVP_MD_CTX> ctx_;
};

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_HASH_H_
