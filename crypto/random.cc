#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>
#include <cstdlib>

namespace triad::crypto {

void RandomFill(uint8_t* out, size_t n) {
  while (n > 0) {
    int chunk = n > INT_MAX ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1) std::abort();
    out += chunk;
    n -= static_cast<size_t>(chunk);
  }
}

std::string RandomString(size_t n) {
  std::string s(n, '\0');
  RandomFill(reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

SecretBytes RandomSecret(size_t n) {
  SecretBytes s(n);
  RandomFill(s.data(), n);
  return s;
}

}  // namespace triad::crypto
