// Why a coordinator cannot be reached, found out by looking: a TCP connection to its address and,
// when one opens, a TLS handshake that verifies nothing and only reads the certificate the server
// presents. gRPC's own failure says "UNAVAILABLE" for all of these; the CLI runs this probe after
// such a failure to say which one it is, in one line (a refused connection, a plaintext server, a
// server whose certificate is not the one the card pins, a TLS server reached with --insecure).
// The probe decides nothing about trust: the pinned channel already refused the server.
#ifndef TRIAD_CLI_TLS_PROBE_H_
#define TRIAD_CLI_TLS_PROBE_H_

#include <string>

#include "absl/time/time.h"

namespace triad::cli {

struct TlsProbe {
  enum Kind {
    kUnreachable,  // no TCP connection (detail: why)
    kNotTls,       // a connection, but no TLS handshake completed (detail: OpenSSL's reason)
    kTls,          // a TLS server; certificate_sha256 is its certificate's fingerprint
  } kind = kUnreachable;
  std::string detail;
  std::string certificate_sha256;  // lower-case hex of the SHA-256 of the DER certificate
};

// HOST:PORT or [V6]:PORT; every step bounded by `timeout`.
TlsProbe ProbeTls(const std::string& address, absl::Duration timeout = absl::Seconds(3));

}  // namespace triad::cli

#endif  // TRIAD_CLI_TLS_PROBE_H_
