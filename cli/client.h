// What every networked command shares: the flags that reach a coordinator (--coordinator ADDR, and
// --coordinator-card FILE or --insecure), the channel, and small output helpers.
#ifndef TRIAD_CLI_CLIENT_H_
#define TRIAD_CLI_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "coordinator/card.h"
#include "crypto/ed25519.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace triad::cli {

struct ClientFlags {
  std::string address;    // --coordinator HOST:PORT
  std::string card_path;  // --coordinator-card FILE
  bool insecure = false;  // --insecure: plaintext, loopback only
};

// --coordinator, --coordinator-card and --insecure. After parsing, a flag not given takes its value
// from TRIAD_COORDINATOR / TRIAD_COORDINATOR_CARD, else from the current context (cli/context.h);
// a missing address is a usage error, and so is one without a port, wherever it came from.
void AddClientFlags(CLI::App* cmd, ClientFlags& flags);
// Only --coordinator-card (commands that read a card offline), with the same defaults.
CLI::Option* AddCardFlag(CLI::App* cmd, std::string& card_path, const std::string& description);

// A coordinator card from a file. Anything else there is named: a party card or a signed envelope
// given as the coordinator card says so and where the right one comes from.
absl::StatusOr<coordinator::CoordinatorCard> ReadCoordinatorCard(const std::string& path);

// The pinned card; a usage error naming `why` when --coordinator-card was not given.
absl::StatusOr<coordinator::CoordinatorCard> LoadCoordinatorCard(const ClientFlags& flags,
                                                                 absl::string_view why);

// A channel: TLS pinned to the card, or plaintext to loopback with --insecure.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ClientFlags& flags);

// A coordinator to talk to: its pinned card (whose key fingerprint is the audience of every signed
// request) and a channel to it.
struct Remote {
  coordinator::CoordinatorCard card;
  std::shared_ptr<grpc::Channel> channel;

  // A request addressed to this coordinator, signed by `key`, dated now.
  std::string Sign(absl::string_view action, nlohmann::json body,
                   const crypto::Ed25519PrivateKey& key) const;
};

// The card (--coordinator-card is required: it names the coordinator requests are signed for) and
// a channel.
absl::StatusOr<Remote> ConnectRemote(const ClientFlags& flags);

// The status of a call: the coordinator's own message; or, when it could not be reached, one line
// that says why (cli/tls_probe.h): nothing listens there, it does not speak TLS, its certificate is
// not the one the card pins, or it speaks TLS to a client with --insecure.
absl::Status CallStatus(const grpc::Status& status, const ClientFlags& flags);

// Whether a call failed because the coordinator could not be reached (it may come back).
bool IsUnreachable(const grpc::Status& status);

// The trust anchors a party verifies evidence with: the roots directory (`--roots`, default the
// pinned vendor roots of attestation/roots, with its sim_*.pub.pem keys) and the simulation keys
// of --trust-sim-key files.
absl::StatusOr<attestation::TrustAnchors> LoadAnchors(const std::string& roots_flag,
                                                      const std::vector<std::string>& sim_keys);

// A deadline for unary calls.
void SetDeadline(grpc::ClientContext& ctx, absl::Duration d = absl::Minutes(1));

// A progress line on stderr, shown only when stderr is a terminal: "\r<label>: 42% (1.2 MiB of
// 2.9 MiB)". Finish() ends the line.
class ProgressLine {
 public:
  ProgressLine(std::string label, uint64_t total);
  void Update(uint64_t done);
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool tty_;
  int last_percent_ = -1;
};

}  // namespace triad::cli

#endif  // TRIAD_CLI_CLIENT_H_
