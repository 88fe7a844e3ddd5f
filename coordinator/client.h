// Client channels to a coordinator: TLS pinned to the coordinator card's certificate, or plaintext to a
// loopback address only, and only when the caller explicitly asks for it (--insecure).
#ifndef TRIAD_COORDINATOR_CLIENT_H_
#define TRIAD_COORDINATOR_CLIENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/card.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace triad::coordinator {

struct ChannelOptions {
  std::string address;                  // HOST:PORT
  std::optional<CoordinatorCard> card;  // required unless insecure
  bool insecure = false;                // plaintext; refused unless the host is a loopback address
};

// Opens a channel. TLS trusts exactly the card's certificate (no CA, no system roots) and checks its
// name; `insecure` is refused for any host other than localhost, 127.0.0.0/8 and ::1.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ChannelOptions& options);

// True when `address` (HOST:PORT, [V6]:PORT) names a loopback host.
bool IsLoopbackAddress(const std::string& address);

// A gRPC status as an absl::Status with the same code and message (the coordinator's reasons pass
// through unchanged). UNAVAILABLE says the coordinator could not be reached; when that is because
// the TLS handshake failed (the server's certificate is not the pinned one, or it does not speak
// TLS), the message says so first.
absl::Status FromGrpcStatus(const grpc::Status& status);
// How FromGrpcStatus begins the reasons of an UNAVAILABLE that is no outage: the server's
// certificate is not the pinned one, or the server does not speak TLS.
inline constexpr char kNotThePinnedServer[] =
    "the server's TLS certificate is not the one the coordinator card pins";
inline constexpr char kNoTlsHandshake[] = "the TLS handshake with the server failed";
// Whether `status` (from FromGrpcStatus) is one of those.
bool IsNotThePinnedServer(const absl::Status& status);

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_CLIENT_H_
