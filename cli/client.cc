#include "cli/client.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attestation/roots.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "coordinator/client.h"
#include "coordinator/request.h"

namespace triad::cli {

void AddClientFlags(CLI::App* cmd, ClientFlags& flags) {
  cmd->add_option("--coordinator", flags.address, "The coordinator's HOST:PORT")->required();
  cmd->add_option("--coordinator-card", flags.card_path,
                  "The coordinator's card (from `triad coordinator card`): TLS is pinned to it");
  cmd->add_flag("--insecure", flags.insecure, "Plaintext, without TLS: only to a loopback address");
}

absl::StatusOr<coordinator::CoordinatorCard> LoadCoordinatorCard(const ClientFlags& flags,
                                                                 absl::string_view why) {
  if (flags.card_path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("--coordinator-card is needed: ", why));
  }
  return coordinator::CoordinatorCard::FromFile(flags.card_path);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ClientFlags& flags) {
  coordinator::ChannelOptions o;
  o.address = flags.address;
  o.insecure = flags.insecure;
  if (!flags.card_path.empty()) {
    TRIAD_ASSIGN_OR_RETURN(o.card, coordinator::CoordinatorCard::FromFile(flags.card_path));
  }
  return coordinator::OpenChannel(o);
}

std::string Remote::Sign(absl::string_view action, nlohmann::json body,
                         const crypto::Ed25519PrivateKey& key) const {
  return coordinator::SignRequest(action, std::move(body), key, base::SystemClock().Now(),
                                  card.signing_key.KeyId())
      .ToJson();
}

absl::StatusOr<Remote> ConnectRemote(const ClientFlags& flags) {
  TRIAD_ASSIGN_OR_RETURN(
      coordinator::CoordinatorCard card,
      LoadCoordinatorCard(flags,
                          "it names the coordinator, which every signed request is "
                          "addressed to, and pins its TLS certificate"));
  coordinator::ChannelOptions o;
  o.address = flags.address;
  o.insecure = flags.insecure;
  o.card = card;
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, coordinator::OpenChannel(o));
  return Remote{std::move(card), std::move(channel)};
}

// The anchors the coordinator's serve would use: the roots directory (with its sim_*.pub.pem
// keys) and the --trust-sim-key files.
absl::StatusOr<attestation::TrustAnchors> LoadAnchors(const std::string& roots_flag,
                                                      const std::vector<std::string>& sim_keys) {
  std::string roots = roots_flag.empty() ? attestation::DefaultRootsDir() : roots_flag;
  TRIAD_ASSIGN_OR_RETURN(
      attestation::TrustAnchors anchors,
      base::Annotate(attestation::TrustAnchors::LoadDir(roots), absl::StrCat("roots ", roots)));
  for (const std::string& path : sim_keys) {
    TRIAD_ASSIGN_OR_RETURN(std::string pem, base::ReadFile(path, 64 * 1024));
    TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                           base::Annotate(crypto::Ed25519PublicKey::FromPem(pem),
                                          absl::StrCat("--trust-sim-key ", path)));
    anchors.sim_keys.push_back(key);
  }
  return anchors;
}

absl::Status CallStatus(const grpc::Status& status, const ClientFlags& flags) {
  absl::Status st = coordinator::FromGrpcStatus(status);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return base::Annotate(st, absl::StrCat("coordinator ", flags.address));
  }
  return st;
}

void SetDeadline(grpc::ClientContext& ctx, absl::Duration d) {
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d));
}

namespace {

std::string Size(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < (uint64_t{1} << 20)) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < (uint64_t{1} << 30)) return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
  return absl::StrFormat("%.2f GiB", bytes / 1073741824.0);
}

}  // namespace

ProgressLine::ProgressLine(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

void ProgressLine::Update(uint64_t done) {
  if (!tty_) return;
  int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  std::cerr << "\r\033[K" << label_ << ": " << percent << "% (" << Size(done) << " of "
            << Size(total_) << ")" << std::flush;
}

void ProgressLine::Finish() {
  if (tty_ && last_percent_ >= 0) std::cerr << "\n";
}

}  // namespace triad::cli
