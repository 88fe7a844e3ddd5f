#include "crypto/ssl_ptr.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace triad::crypto {

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string msg(what);
  unsigned long err;
  bool first = true;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    absl::StrAppend(&msg, first ? " (" : "; ", buf);
    first = false;
  }
  if (!first) msg += ")";
  return absl::Status(code, msg);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace triad::crypto
