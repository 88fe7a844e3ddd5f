// Cryptographically secure random bytes from OpenSSL's DRBG.
#ifndef TRIAD_CRYPTO_RANDOM_H_
#define TRIAD_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/secret.h"

namespace triad::crypto {

// Fills `out` with `n` random bytes. Aborts if the DRBG fails: there is no safe way to go on without
// randomness for keys and nonces.
void RandomFill(uint8_t* out, size_t n);
std::string RandomString(size_t n);
SecretBytes RandomSecret(size_t n);

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_RANDOM_H_
