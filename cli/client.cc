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
#include "cli/command.h"
#include "cli/context.h"
#include "cli/flags.h"
#include "cli/tls_probe.h"
#include "base/json.h"
#include "contracts/card.h"
#include "contracts/contract.h"

namespace triad::cli {

namespace {

// The value of an option not given on the command line: from `env`, else from the current context.
// Returns where it came from ("" when nowhere).
std::string Default(const char* env, ContextField field, std::string& value) {
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') {
    value = v;
    return env;
  }
  value = DefaultFromContext(field);
  return value.empty() ? "" : "the current context";
}

}  // namespace

void AddClientFlags(CLI::App* cmd, ClientFlags& flags) {
  CLI::Option* address =
      cmd->add_option("--coordinator", flags.address,
                      "The coordinator's HOST:PORT (default: TRIAD_COORDINATOR, or the context's)")
          ->check(AddressValue(/*listen=*/false));
  AddCardFlag(cmd, flags.card_path,
              "The coordinator's card (from `triad coordinator card`): TLS is pinned to it");
  cmd->add_flag("--insecure", flags.insecure, "Plaintext, without TLS: only to a loopback address");
  AfterParse(cmd, [address, &flags] {
    if (address->count() > 0) return;
    std::string from = Default("TRIAD_COORDINATOR", ContextField::kCoordinator, flags.address);
    if (from.empty()) {
      throw CLI::RequiredError(
          "--coordinator is required: the coordinator's HOST:PORT (or TRIAD_COORDINATOR, or a "
          "context: triad context add)",
          CLI::ExitCodes::RequiredError);
    }
    std::string bad = AddressValue(/*listen=*/false)(flags.address);
    if (!bad.empty()) throw CLI::ValidationError(absl::StrCat("--coordinator from ", from), bad);
  });
}

CLI::Option* AddCardFlag(CLI::App* cmd, std::string& card_path, const std::string& description) {
  CLI::Option* card = cmd->add_option(
      "--coordinator-card", card_path,
      absl::StrCat(description, " (default: TRIAD_COORDINATOR_CARD, or the context's)"));
  AfterParse(cmd, [card, &card_path] {
    if (card->count() == 0) {
      Default("TRIAD_COORDINATOR_CARD", ContextField::kCoordinatorCard, card_path);
    }
  });
  return card;
}

absl::StatusOr<coordinator::CoordinatorCard> ReadCoordinatorCard(const std::string& path) {
  absl::StatusOr<coordinator::CoordinatorCard> card = coordinator::CoordinatorCard::FromFile(path);
  if (card.ok()) return card;
  if (absl::IsNotFound(card.status())) return base::Annotate(card.status(), "--coordinator-card");
  // Say what the file is instead, when it is one of ours.
  const std::string where = "; the coordinator's operator gives out its card (triad coordinator card)";
  absl::StatusOr<std::string> text = base::ReadFile(path, 1 << 20);
  absl::StatusOr<nlohmann::json> j =
      text.ok() ? base::ParseJsonStrict(*text) : absl::StatusOr<nlohmann::json>(text.status());
  if (j.ok() && j->is_object()) {
    if (j->value("type", "") == contracts::kCardType) {
      absl::StatusOr<contracts::PartyCard> party = contracts::PartyCard::FromJson(*text);
      return absl::InvalidArgumentError(absl::StrCat(
          "--coordinator-card ", path, " is a party's card",
          party.ok() ? absl::StrCat(" (", party->name, ", ", contracts::RoleName(party->role), ")")
                     : "",
          ", not a coordinator card", where));
    }
    if (j->contains("payloadType") && j->contains("signatures")) {
      const bool contract = j->value("payloadType", "") == contracts::kContractPayloadType;
      return absl::InvalidArgumentError(
          absl::StrCat("--coordinator-card ", path, " is ",
                       contract ? "a contract" : "a signed envelope", ", not a coordinator card",
                       where));
    }
  }
  return base::Annotate(card.status(), absl::StrCat("--coordinator-card ", path));
}

absl::StatusOr<coordinator::CoordinatorCard> LoadCoordinatorCard(const ClientFlags& flags,
                                                                 absl::string_view why) {
  if (flags.card_path.empty()) {
    return UsageError(absl::StrCat("--coordinator-card is needed: ", why,
                                   " (or TRIAD_COORDINATOR_CARD, or a context: triad context add)"));
  }
  return ReadCoordinatorCard(flags.card_path);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ClientFlags& flags) {
  coordinator::ChannelOptions o;
  o.address = flags.address;
  o.insecure = flags.insecure;
  if (!flags.card_path.empty()) {
    TRIAD_ASSIGN_OR_RETURN(o.card, ReadCoordinatorCard(flags.card_path));
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

bool IsUnreachable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

absl::Status CallStatus(const grpc::Status& status, const ClientFlags& flags) {
  absl::Status st = coordinator::FromGrpcStatus(status);
  const std::string who = absl::StrCat("coordinator ", flags.address);
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    // A coordinator that shuts down (to restart, say) ends the calls it was serving so; gRPC's
    // own message is a bare "CANCELLED".
    return absl::CancelledError(absl::StrCat(who, ": the call was cut off (", st.message(),
                                             "); is the coordinator restarting?"));
  }
  if (!IsUnreachable(status)) return st;
  TlsProbe probe = ProbeTls(flags.address);
  switch (probe.kind) {
    case TlsProbe::kUnreachable:
      return absl::UnavailableError(absl::StrCat(who, ": failed to connect (", probe.detail,
                                                 "); is it serving at that address?"));
    case TlsProbe::kNotTls:
      if (flags.insecure) break;  // plaintext both ways: gRPC's reason is the one
      return absl::UnavailableError(absl::StrCat(
          who, ": the TLS handshake with the server failed (", probe.detail,
          "); if it serves plaintext (serve --insecure), use --insecure too, loopback only"));
    case TlsProbe::kTls: {
      if (flags.insecure) {
        return absl::UnavailableError(absl::StrCat(
            who, ": it serves TLS; leave out --insecure and pin its card with --coordinator-card"));
      }
      absl::StatusOr<coordinator::CoordinatorCard> card = ReadCoordinatorCard(flags.card_path);
      if (card.ok() && probe.certificate_sha256 != card->tls_fingerprint) {
        // The wording of coordinator::FromGrpcStatus for the same failure, with the two
        // fingerprints beside it.
        return absl::UnavailableError(absl::StrCat(
            who,
            ": the server's TLS certificate is not the one the coordinator card pins (another "
            "server answers at this address, or the card is not this coordinator's); it presents ",
            probe.certificate_sha256.substr(0, 16), "…, ", flags.card_path, " pins ",
            card->tls_fingerprint.substr(0, 16), "…"));
      }
      break;
    }
  }
  return base::Annotate(st, who);
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
