#include "crypto/hash.h"

#include <cstdlib>

#include "base/encoding.h"

namespace triad::crypto {
namespace {

const EVP_MD* Md(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return EVP_sha256();
    case HashAlg::kSha384:
      return EVP_sha384();
    case HashAlg::kSha512:
      return EVP_sha512();
  }
  std::abort();
}

std::string OneShot(HashAlg alg, absl::string_view data) {
  Hasher h(alg);
  h.Update(data);
  return h.Finish();
}

}  // namespace

size_t DigestSize(HashAlg alg) { return static_cast<size_t>(EVP_MD_get_size(Md(alg))); }

std::string Sha256(absl::string_view data) { return OneShot(HashAlg::kSha256, data); }
std::string Sha384(absl::string_view data) { return OneShot(HashAlg::kSha384, data); }
std::string Sha512(absl::string_view data) { return OneShot(HashAlg::kSha512, data); }
std::string Sha256Id(absl::string_view data) { return "sha256:" + base::HexEncode(Sha256(data)); }

// A failure of these calls means memory exhaustion or a broken libcrypto; there is no sensible way to
// go on with a wrong digest, so they abort instead of returning a digest that could be trusted.
Hasher::Hasher(HashAlg alg) : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), Md(alg), nullptr) != 1) std::abort();
}

void Hasher::Update(absl::string_view data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) std::abort();
}

std::string Hasher::Finish() {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1) {
    std::abort();
  }
  out.resize(len);
  return out;
}

}  // namespace triad::crypto
