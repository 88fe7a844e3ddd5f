// triad keyholder serve | log | revoke | import: an owner's keyholder (docs/custody.md), which
// holds the owner's release identity on the owner's premises and decides every release of its file
// keys to attested workers on its own.
#include "keyholder/keyholder.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hardening.h"
#include "base/status.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/keys.h"
#include "coordinator/client.h"
#include "crypto/byte_stream.h"
#include "keyholder/client.h"
#include "keyholder/journal.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace triad::cli {
namespace {

struct ServeFlags {
  ClientFlags client;
  std::string as;
  std::string state;
  std::string roots;
  std::vector<std::string> sim_keys;
};

std::string DefaultState(const std::string& as) { return as + ".keyholder"; }

absl::Status Serve(const ServeFlags& f) {
  // This process holds the owner's identity and, for a moment per release, file keys.
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  // SIGINT and SIGTERM are taken by one thread below; blocked before any other thread (gRPC's)
  // starts, so that every thread inherits the mask and none dies of them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  TRIAD_ASSIGN_OR_RETURN(PartyKeys keys, LoadPartyKeys(f.as));
  if (keys.card.role != contracts::Role::kModelOwner &&
      keys.card.role != contracts::Role::kDataOwner) {
    return absl::InvalidArgumentError(
        absl::StrCat("--as ", f.as, " is a ", contracts::RoleName(keys.card.role),
                     "; keyholders are run by model and data owners"));
  }
  TRIAD_ASSIGN_OR_RETURN(attestation::TrustAnchors anchors, LoadAnchors(f.roots, f.sim_keys));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  std::string state = f.state.empty() ? DefaultState(f.as) : f.state;
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<keyholder::Journal> journal,
                         keyholder::Journal::Open(state));
  keyholder::Keyholder k(*journal, {keys.card, &keys.signing_key, &keys.identities}, remote.card,
                         anchors, base::SystemClock(),
                         keyholder::DownloadFromCoordinator(remote.channel, keys.signing_key,
                                                            remote.card.signing_key.KeyId()));
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop.store(true);
  });
  keyholder::ServeOptions o;
  o.on_decision = [](const keyholder::Answer& a) {
    if (a.release) {
      std::cout << "released " << a.release_id << std::endl;
    } else {
      std::cout << "refused " << a.release_id << (a.final ? " (final)" : "") << ": "
                << absl::StrJoin(a.reasons, "; ") << std::endl;
    }
  };
  std::cout << "keyholder of " << keys.card.name << " (" << contracts::RoleName(keys.card.role)
            << ") serving coordinator " << remote.card.name << " at " << f.client.address
            << "; journal " << state << std::endl;
  absl::Status st = keyholder::Serve(k, remote.channel, o, stop);
  if (!stop.load()) pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return st;
}

struct LogFlags {
  std::string state;
  bool json = false;
};

absl::Status Log(const LogFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<keyholder::Journal> journal,
                         keyholder::Journal::OpenExisting(f.state));
  TRIAD_ASSIGN_OR_RETURN(std::vector<keyholder::Decision> decisions, journal->ListDecisions());
  for (const keyholder::Decision& d : decisions) {
    if (f.json) {
      nlohmann::ordered_json j;
      j["release_id"] = d.release_id;
      j["decision"] = d.release ? "release" : "refuse";
      j["final"] = d.final;
      j["contract_id"] = d.contract_id;
      j["job_id"] = d.job_id;
      j["attempt"] = d.attempt;
      j["artifact_id"] = d.artifact_id;
      j["recipient"] = d.recipient;
      j["reasons"] = d.reasons;
      j["decided_at"] = base::FormatRfc3339(d.decided_at);
      std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } else {
      std::cout << base::FormatRfc3339(d.decided_at) << "  "
                << (d.release ? "RELEASED" : "refused ") << "  " << d.artifact_id.substr(0, 19)
                << "…  job " << d.job_id << " attempt " << d.attempt << " (contract "
                << d.contract_id << ")";
      if (d.release) std::cout << " to " << d.recipient;
      if (!d.release) std::cout << ": " << absl::StrJoin(d.reasons, "; ");
      std::cout << "\n";
    }
  }
  TRIAD_ASSIGN_OR_RETURN(int64_t forks, journal->CountForks());
  if (forks > 0) {
    std::cerr << "triad: the journal holds " << forks
              << " fork(s): checkpoints of the coordinator that contradict each other (kept as "
                 "evidence)\n";
  }
  return absl::OkStatus();
}

struct RevokeFlags {
  std::string state;
  std::string contract;
  std::string reason;
};

absl::Status Revoke(const RevokeFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<keyholder::Journal> journal,
                         keyholder::Journal::OpenExisting(f.state));
  TRIAD_RETURN_IF_ERROR(journal->Revoke(f.contract, f.reason, base::SystemClock().Now()));
  std::cout << "this keyholder refuses every release for contract " << f.contract
            << " from now on, whatever the coordinator says\n";
  return absl::OkStatus();
}

struct ImportFlags {
  std::string as;
  std::string state;
  std::string file;
};

absl::Status Import(const ImportFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(PartyKeys keys, LoadPartyKeys(f.as));
  std::string state = f.state.empty() ? DefaultState(f.as) : f.state;
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<keyholder::Journal> journal,
                         keyholder::Journal::Open(state));
  base::UniqueFd fd(::open(f.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", f.file));
  TRIAD_ASSIGN_OR_RETURN(
      std::string id,
      keyholder::ImportArtifact(
          *journal, {keys.card, &keys.signing_key, &keys.identities}, base::SystemClock().Now(),
          [&](const std::function<absl::Status(absl::string_view)>& sink) -> absl::Status {
            std::string buf(1 << 20, '\0');
            for (;;) {
              ssize_t n = ::read(fd.get(), buf.data(), buf.size());
              if (n < 0 && errno == EINTR) continue;
              if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("reading ", f.file));
              if (n == 0) return absl::OkStatus();
              TRIAD_RETURN_IF_ERROR(sink(absl::string_view(buf.data(), static_cast<size_t>(n))));
            }
          }));
  std::cout << "this keyholder knows " << id << " now (encrypted to " << keys.card.name
            << " alone)\n";
  return absl::OkStatus();
}

}  // namespace

void AddKeyholderCommands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand(
      "keyholder", "An owner's keyholder: releases its file keys to attested workers, on its own");
  group->require_subcommand(1);

  auto s = std::make_shared<ServeFlags>();
  CLI::App* serve = group->add_subcommand(
      "serve",
      "Connect out to the coordinator and decide every release of your keys until stopped");
  AddClientFlags(serve, s->client);
  serve->add_option("--as", s->as, "Your keys (a model or data owner): DIR/NAME")->required();
  serve->add_option("--state", s->state,
                    "The keyholder's journal directory (default: DIR/NAME.keyholder)");
  serve->add_option("--roots", s->roots,
                    "The vendor roots evidence is verified against (default: the pinned ones)");
  serve->add_option("--trust-sim-key", s->sim_keys,
                    "Accept sim evidence signed by this key (development only; repeatable)");
  serve->callback([s, &ctx] {
    absl::Status st = Serve(*s);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto l = std::make_shared<LogFlags>();
  CLI::App* log =
      group->add_subcommand("log", "Every decision this keyholder made: what it released to whom");
  log->add_option("--state", l->state, "The keyholder's journal directory")->required();
  log->add_flag("--json", l->json, "One JSON object per decision");
  log->callback([l, &ctx] {
    absl::Status st = Log(*l);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto i = std::make_shared<ImportFlags>();
  CLI::App* import = group->add_subcommand(
      "import",
      "Record an artifact you encrypted (its id and header), so no download is needed later");
  import->add_option("FILE", i->file, "The age file, as uploaded")->required();
  import->add_option("--as", i->as, "Your keys: DIR/NAME")->required();
  import->add_option("--state", i->state,
                     "The keyholder's journal directory (default: DIR/NAME.keyholder)");
  import->callback([i, &ctx] {
    absl::Status st = Import(*i);
  ctx.exit_code = st.ok() ? kExitOk : Fail(st);
});

auto r = std::make_shared<RevokeFlags>();
CLI::App* revoke = group->add_subcommand(
    "revoke", "Refuse every release for a contract from now on (no coordinator needed)");
revoke->add_option("CONTRACT", r->contract, "The contract's id")->required();
revoke->add_option("--state", r->state, "The keyholder's journal directory")->required();
revoke->add_option("--reason", r->reason, "Why (journaled)")->required();
revoke->callback([r, &ctx] {
  absl::Status st = Revoke(*r);
  ctx.exit_code = st.ok() ? kExitOk : Fail(st);
});
}  // namespace triad::cli

}  // namespace triad::cli
