#include "coordinator/client.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/tls.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace triad::coordinator {

bool IsLoopbackAddress(const std::string& address) {
  std::string host;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) return false;
    host = address.substr(1, close - 1);
  } else {
    size_t colon = address.rfind(':');
    host = address.substr(0, colon);
  }
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // grpc::StatusCode and absl::StatusCode share their numbering (both are google.rpc.Code).
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  // gRPC answers UNAVAILABLE alike for a server that is down and for one whose certificate is not
  // the one the card pins; only its message (the TLS library's words) tells them apart. Say which,
  // in ours: a mismatch is no outage to wait out, it is another server or an out-of-date card.
  if (code == absl::StatusCode::kUnavailable) {
    if (absl::StrContains(message, "certificate verify failed") ||  // OpenSSL
        absl::StrContains(message, "CERTIFICATE_VERIFY_FAILED")) {  // BoringSSL
      return absl::UnavailableError(absl::StrCat(
          kNotThePinnedServer,
          " (another server answers at this address, or the card is not this coordinator's); ",
          message));
    }
    // "Ssl handshake failed: … wrong version number" (a server that answers in plaintext); gRPC
    // has written it with either capital.
    if (absl::StrContains(message, "handshake failed") ||
        absl::StrContains(message, "Handshake failed")) {
      return absl::UnavailableError(
          absl::StrCat(kNoTlsHandshake, " (does it serve TLS as a Triad coordinator?); ", message));
    }
  }
  return absl::Status(code, message);
}

bool IsNotThePinnedServer(const absl::Status& status) {
  return absl::IsUnavailable(status) && (absl::StartsWith(status.message(), kNotThePinnedServer) ||
                                         absl::StartsWith(status.message(), kNoTlsHandshake));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ChannelOptions& options) {
  grpc::ChannelArguments args;
  // Artifacts stream in chunks; a single message is never large, but evidence with collateral can
  // reach a few hundred KiB.
  args.SetMaxReceiveMessageSize(16 << 20);
  if (options.insecure) {
    if (!IsLoopbackAddress(options.address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--insecure is allowed only to a loopback address, not ", options.address,
          "; pin the coordinator card with --coordinator-card instead"));
    }
    return grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args);
  }
  if (!options.card) {
    return absl::FailedPreconditionError(
        "no coordinator card: pass --coordinator-card FILE (from `triad coordinator card`)");
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.card->tls_certificate_pem;
  args.SetSslTargetNameOverride(kTlsServerName);
  return grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl), args);
}

}  // namespace triad::coordinator
