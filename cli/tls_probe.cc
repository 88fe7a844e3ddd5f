#include "cli/tls_probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "coordinator/tls.h"
#include "crypto/hash.h"

namespace triad::cli {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// Splits HOST:PORT and [V6]:PORT.
bool SplitAddress(const std::string& address, std::string* host, std::string* port) {
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return false;
    *host = address.substr(1, close - 1);
    *port = address.substr(close + 2);
    return true;
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  return true;
}

// A connected socket, or -1 with `why` set.
base::UniqueFd Connect(const std::string& address, absl::Duration timeout, std::string* why) {
  std::string host, port;
  if (!SplitAddress(address, &host, &port)) {
    *why = "not HOST:PORT";
    return base::UniqueFd(-1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    *why = absl::StrCat("cannot resolve ", host, ": ", gai_strerror(gai));
    return base::UniqueFd(-1);
  }
  std::unique_ptr<addrinfo, AddrInfoFree> list(found);
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    base::UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                               a->ai_protocol));
    if (fd.get() < 0) continue;
    int rc = ::connect(fd.get(), a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      const int ready = ::poll(&p, 1, ms);
      if (ready == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        if (ready == 0) errno = ETIMEDOUT;
        rc = -1;
      }
    }
    if (rc == 0) {
      // Blocking from here on, each read and write bounded by the timeout.
      ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
      timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return fd;
    }
    *why = std::strerror(errno);
  }
  if (why->empty()) *why = "no address to connect to";
  return base::UniqueFd(-1);
}

}  // namespace

TlsProbe ProbeTls(const std::string& address, absl::Duration timeout) {
  TlsProbe out;
  base::UniqueFd fd = Connect(address, timeout, &out.detail);
  if (fd.get() < 0) return out;
  out.kind = TlsProbe::kNotTls;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    out.detail = "cannot make a TLS context";
    return out;
  }
  // Only to read the certificate: the pinned gRPC channel did the verifying and refused.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) {
    out.detail = "cannot start TLS";
    return out;
  }
  SSL_set_tlsext_host_name(ssl.get(), coordinator::kTlsServerName);
  ERR_clear_error();
  if (SSL_connect(ssl.get()) != 1) {
    unsigned long e = ERR_get_error();
    char buf[256] = "the server closed the connection";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    out.detail = buf;
    return out;
  }
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl.get()));
  SSL_shutdown(ssl.get());
  out.kind = TlsProbe::kTls;
  if (!cert) return out;
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  if (n > 0) {
    out.certificate_sha256 = base::HexEncode(
        crypto::Sha256(absl::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(n))));
    OPENSSL_free(der);
  }
  return out;
}

}  // namespace triad::cli
