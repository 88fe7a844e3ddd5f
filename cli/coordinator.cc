// triad coordinator init | serve | card | parties add|list|remove: the coordinator's state
// directory, its server, and the parties its operator admits.
#include "coordinator/coordinator.h"

#include <signal.h>

#include <cstring>
#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attestation/roots.h"
#include "attestation/verifier.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hardening.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "contracts/card.h"
#include "coordinator/operator.h"
#include "coordinator/server.h"
#include "coordinator/state_dir.h"
#include "nlohmann/json.hpp"

namespace triad::cli {
namespace {

struct InitFlags {
  std::string dir;
  std::string name = "triad-coordinator";
  std::string origin;
  bool json = false;
};

absl::Status Init(const InitFlags& f) {
  coordinator::InitOptions o;
  o.name = f.name;
  o.origin = f.origin;
  TRIAD_ASSIGN_OR_RETURN(coordinator::CoordinatorCard card,
                         coordinator::InitStateDir(f.dir, o, base::SystemClock().Now()));
  if (f.json) {
    std::cout << card.ToJson();
    return absl::OkStatus();
  }
  std::cout << "initialized " << f.dir << "\n"
            << "name:             " << card.name << "\n"
            << "signing key:      " << card.signing_key.KeyId() << "\n"
            << "TLS certificate:  " << card.tls_fingerprint << "\n"
            << "log origin:       " << card.log_origin << "\n"
            << "It holds no key that opens any artifact: owners keep theirs (docs/custody.md).\n"
            << "Parties pin " << f.dir << "/" << coordinator::kCardFile
            << " (`triad coordinator card --dir " << f.dir
            << "`) and pass it as --coordinator-card; add each party with `triad coordinator "
               "parties add CARD --dir "
            << f.dir << "`.\n";
  return absl::OkStatus();
}

struct CardFlags {
  std::string dir;
  std::string out;
};

absl::Status Card(const CardFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(
      coordinator::CoordinatorCard card,
      coordinator::CoordinatorCard::FromFile(f.dir + "/" + coordinator::kCardFile));
  if (!f.out.empty()) return base::WriteNewFile(f.out, card.ToJson(), 0644);
  std::cout << card.ToJson();
  return absl::OkStatus();
}

struct ServeFlags {
  std::string dir;
  std::string listen;
  std::vector<std::string> sim_keys;
  std::string roots;
  std::string nonce_ttl = "2m";
  std::string lease = "10m";
  std::string poll_wait = "5s";
  std::string release_timeout = "10m";
  std::string max_artifact_size = "64GiB";
  std::string party_quota = "256GiB";
  int max_watches = 16;
  int max_workers = 256;
  int max_threads = 256;
  std::string max_transport_memory = "256MiB";
  bool open_registration = false;
  bool insecure = false;
};

// "64GiB", "512MiB", "1000000" (bytes): a positive size.
absl::StatusOr<uint64_t> ByteSize(const char* flag, const std::string& text) {
  static const std::pair<const char*, uint64_t> kUnits[] = {{"TiB", uint64_t{1} << 40},
                                                            {"GiB", uint64_t{1} << 30},
                                                            {"MiB", uint64_t{1} << 20},
                                                            {"KiB", uint64_t{1} << 10},
                                                            {"B", 1}};
  std::string digits = text;
  uint64_t unit = 1;
  for (const auto& [suffix, mult] : kUnits) {
    if (absl::EndsWith(text, suffix)) {
      digits = text.substr(0, text.size() - strlen(suffix));
      unit = mult;
      break;
    }
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n == 0 || n > (uint64_t{1} << 50) / unit) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not a size such as 64GiB, 512MiB or a byte count"));
  }
  return n * unit;
}

struct PartiesFlags {
  std::string dir;
  std::string card;
  std::string name;
  bool json = false;
};

// Opens the state directory's store the way serve does (its checkpoints signed with its key).
template <typename F>
absl::Status WithStore(const std::string& dir, F f) {
  TRIAD_ASSIGN_OR_RETURN(coordinator::StateDir state, coordinator::LoadStateDir(dir));
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store,
                         coordinator::OpenStateDatabase(state, base::SystemClock()));
  return f(*store);
}

absl::Status PartiesAdd(const PartiesFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card, contracts::PartyCard::FromFile(f.card));
  return WithStore(f.dir, [&](storage::Store& store) -> absl::Status {
    TRIAD_ASSIGN_OR_RETURN(bool added,
                           coordinator::AddParty(store, card, base::SystemClock().Now()));
    if (f.json) {
      nlohmann::ordered_json j;
      j["name"] = card.name;
      j["role"] = contracts::RoleName(card.role);
      j["fingerprint"] = card.fingerprint();
      j["added"] = added;  // false: it was there already
      std::cout << j.dump() << "\n";
    } else {
      std::cout << (added ? "added " : "already added ") << contracts::RoleName(card.role) << " "
                << card.name << " (key " << card.fingerprint() << ")\n";
    }
    return absl::OkStatus();
  });
}

absl::Status PartiesRemove(const PartiesFlags& f) {
  return WithStore(f.dir, [&](storage::Store& store) -> absl::Status {
    TRIAD_RETURN_IF_ERROR(coordinator::RemoveParty(store, f.name, base::SystemClock().Now()));
    if (f.json) {
      std::cout << nlohmann::ordered_json{{"name", f.name}, {"removed", true}}.dump() << "\n";
    } else {
      std::cout << "removed " << f.name << "; its requests are refused from now on\n";
    }
    return absl::OkStatus();
  });
}

absl::Status PartiesList(const PartiesFlags& f) {
  return WithStore(f.dir, [&](storage::Store& store) -> absl::Status {
    TRIAD_ASSIGN_OR_RETURN(std::vector<coordinator::PartyListing> parties,
                           coordinator::ListParties(store));
    for (const coordinator::PartyListing& p : parties) {
      if (f.json) {
        nlohmann::ordered_json j;
        j["name"] = p.name;
        j["role"] = p.role;
        j["fingerprint"] = p.fingerprint;
        j["registered_at"] = base::FormatRfc3339(p.registered_at);
        j["removed"] = p.removed;
        std::cout << j.dump() << "\n";
      } else {
        std::cout << p.name << "  " << p.role << "  " << p.fingerprint << "  "
                  << base::FormatRfc3339(p.registered_at) << (p.removed ? "  removed" : "") << "\n";
      }
    }
    return absl::OkStatus();
  });
}

absl::Status Serve(const ServeFlags& f) {
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  coordinator::CoordinatorOptions options;
  TRIAD_ASSIGN_OR_RETURN(options.nonce_ttl, PositiveDuration("--nonce-ttl", f.nonce_ttl));
  TRIAD_ASSIGN_OR_RETURN(options.lease, PositiveDuration("--lease", f.lease));
  TRIAD_ASSIGN_OR_RETURN(options.poll_wait, PositiveDuration("--poll-wait", f.poll_wait));
  TRIAD_ASSIGN_OR_RETURN(options.release_timeout,
                         PositiveDuration("--release-timeout", f.release_timeout));
  TRIAD_ASSIGN_OR_RETURN(options.max_artifact_bytes,
                         ByteSize("--max-artifact-size", f.max_artifact_size));
  TRIAD_ASSIGN_OR_RETURN(options.party_quota_bytes, ByteSize("--party-quota", f.party_quota));
  TRIAD_ASSIGN_OR_RETURN(uint64_t transport_bytes,
                         ByteSize("--max-transport-memory", f.max_transport_memory));
  if (transport_bytes < (uint64_t{64} << 20)) {
    return UsageError("--max-transport-memory: at least 64MiB");
  }
  if (f.max_watches < 1 || f.max_workers < 1) {
    return absl::InvalidArgumentError(
        "--max-watches and --max-workers-per-provider must be at least 1");
  }
  options.max_watches_per_party = f.max_watches;
  options.max_workers_per_provider = f.max_workers;
  // Calls that wait for a change (watches, workers' polls) may hold three quarters of the
  // threads; the rest stay free for calls that answer at once.
  options.max_waiting_calls = f.max_threads / 4 * 3;
  options.open_registration = f.open_registration;
  // SIGINT and SIGTERM are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  TRIAD_ASSIGN_OR_RETURN(coordinator::StateDir state, coordinator::LoadStateDir(f.dir));
  std::string roots = f.roots.empty() ? attestation::DefaultRootsDir() : f.roots;
  TRIAD_ASSIGN_OR_RETURN(
      attestation::TrustAnchors anchors,
      base::Annotate(attestation::TrustAnchors::LoadDir(roots), absl::StrCat("roots ", roots)));
  for (const std::string& path : f.sim_keys) {
    TRIAD_ASSIGN_OR_RETURN(std::string pem, base::ReadFile(path, 64 * 1024));
    TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                           base::Annotate(crypto::Ed25519PublicKey::FromPem(pem),
                                          absl::StrCat("--trust-sim-key ", path)));
    anchors.sim_keys.push_back(key);
  }
  const base::Clock& clock = base::SystemClock();
  TRIAD_ASSIGN_OR_RETURN(coordinator::OpenState stores, coordinator::OpenStateStores(state, clock));
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey signing, state.SigningKey());
  coordinator::Coordinator c(clock, *stores.store, *stores.blobs, anchors, std::move(signing),
                             options);
  coordinator::ServeOptions so;
  so.listen = f.listen;
  so.insecure = f.insecure;
  so.tls_key_pem = &state.tls_key_pem;
  so.tls_cert_pem = state.tls_cert_pem;
  so.max_threads = f.max_threads;
  so.max_transport_bytes = static_cast<size_t>(transport_bytes);
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<coordinator::Server> server,
                         coordinator::Server::Start(c, so));

  std::string host = f.listen.substr(0, f.listen.rfind(':'));
  if (options.open_registration) {
    std::cerr
        << "triad: OPEN REGISTRATION: anyone who reaches this coordinator may register as any "
           "party name not yet taken; parties are normally added by the operator (triad "
           "coordinator parties add)"
        << std::endl;
  }
  if (!anchors.sim_keys.empty()) {
    std::cerr << "triad: trusting " << anchors.sim_keys.size()
              << " simulation key(s): sim workers are admitted where a contract allows it ("
              << contracts::kSimulatedNotice << ")" << std::endl;
  }
  std::cout << "listening on " << host << ":" << server->port()
            << (f.insecure ? " (plaintext)" : " (TLS)") << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "triad: signal " << sig << ", shutting down" << std::endl;
  server->Shutdown();
  return absl::OkStatus();
}

}  // namespace

void AddCoordinatorCommands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("coordinator", "Create, show and run a coordinator");
  group->require_subcommand(1);

  auto i = std::make_shared<InitFlags>();
  CLI::App* init = group->add_subcommand(
      "init", "Create a coordinator state directory (keys, TLS, database, card)");
  init->add_option("--dir", i->dir, "The state directory to create (new or empty)")->required();
  init->add_option("--name", i->name, "The coordinator's name")->capture_default_str();
  init->add_option("--origin", i->origin,
                   "The log's origin line (default: NAME/log/<key fingerprint prefix>)");
  init->add_flag("--json", i->json, "Print the card as JSON");
  init->callback([i, &ctx] {
    absl::Status st = Init(*i);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto c = std::make_shared<CardFlags>();
  CLI::App* card = group->add_subcommand("card", "Print the coordinator card that parties pin");
  card->add_option("--dir", c->dir, "The state directory")->required();
  card->add_option("--out", c->out, "Write the card to this new file instead");
  card->callback([c, &ctx] {
    absl::Status st = Card(*c);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto s = std::make_shared<ServeFlags>();
  CLI::App* serve = group->add_subcommand(
      "serve", "Serve the coordinator's gRPC services until SIGINT or SIGTERM");
  serve->add_option("--dir", s->dir, "The state directory")->required();
  serve
      ->add_option("--listen", s->listen, "HOST:PORT to listen on (port 0: any free port, printed)")
      ->required()
      ->check(AddressValue(/*listen=*/true));
  serve->add_option(
      "--trust-sim-key", s->sim_keys,
      "Accept sim evidence signed by this Ed25519 public key (PEM; repeatable; development only)");
  serve->add_option("--roots", s->roots,
                    "Vendor roots directory (default: the pinned attestation/roots)");
  serve->add_option("--nonce-ttl", s->nonce_ttl, "How long a worker has to attest")
      ->capture_default_str()
      ->check(DurationValue());
  serve->add_option("--lease", s->lease, "Silence after which an admitted job is requeued")
      ->capture_default_str()
      ->check(DurationValue());
  serve->add_option("--poll-wait", s->poll_wait, "How long a worker's poll waits for a job")
      ->capture_default_str()
      ->check(DurationValue());
  serve
      ->add_option("--release-timeout", s->release_timeout,
                   "How long an admitted attempt waits for the owners' keyholders")
      ->capture_default_str()
      ->check(DurationValue());
  serve->add_option("--max-artifact-size", s->max_artifact_size, "The largest artifact accepted")
      ->capture_default_str();
  serve->add_option("--party-quota", s->party_quota, "The ciphertext one party may keep here")
      ->capture_default_str();
  serve->add_option("--max-watches", s->max_watches, "Concurrent job watches per party")
      ->capture_default_str();
  serve->add_option("--max-workers-per-provider", s->max_workers, "Workers per compute provider")
      ->capture_default_str();
  serve
      ->add_option("--max-threads", s->max_threads,
                   "Threads serving calls; calls that wait for a change (watches, polls) may hold "
                   "three quarters of them, past which they are refused")
      ->capture_default_str()
      ->check(CLI::Range(16, 16384));
  serve
      ->add_option("--max-transport-memory", s->max_transport_memory,
                   "Memory the transport may take for its buffers, all calls together (gRPC's "
                   "resource quota); near it uploads slow down instead of growing the process")
      ->capture_default_str();
  serve->add_flag("--open-registration", s->open_registration,
                  "Let parties register themselves (otherwise: coordinator parties add)");
  serve->add_flag("--insecure", s->insecure,
                  "Serve plaintext instead of TLS (loopback addresses only)");
  serve->callback([s, &ctx] {
    absl::Status st = Serve(*s);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  CLI::App* parties = group->add_subcommand(
      "parties", "The parties this coordinator serves: added by its operator, from their cards");
  parties->require_subcommand(1);
  auto pa = std::make_shared<PartiesFlags>();
  CLI::App* add = parties->add_subcommand("add", "Register a party from its card (CARD.json)");
  add->add_option("CARD", pa->card, "The party's card, as it sent it (triad keygen writes it)")
      ->required();
  add->add_option("--dir", pa->dir, "The state directory")->required();
  add->add_flag("--json", pa->json, "The party as one JSON object (and whether it was added)");
  add->callback([pa, &ctx] {
    absl::Status st = PartiesAdd(*pa);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
  auto pl = std::make_shared<PartiesFlags>();
  CLI::App* list = parties->add_subcommand("list", "List the registered parties");
  list->add_option("--dir", pl->dir, "The state directory")->required();
  list->add_flag("--json", pl->json, "One JSON object per party");
  list->callback([pl, &ctx] {
    absl::Status st = PartiesList(*pl);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
  auto pr = std::make_shared<PartiesFlags>();
  CLI::App* remove = parties->add_subcommand("remove", "Remove a party: its requests are refused");
  remove->add_option("NAME", pr->name, "The party's name")->required();
  remove->add_option("--dir", pr->dir, "The state directory")->required();
  remove->add_flag("--json", pr->json, "Say what was removed as one JSON object");
  remove->callback([pr, &ctx] {
    absl::Status st = PartiesRemove(*pr);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
