// triad coordinator init | serve | card: the coordinator's state directory and server.
#include "coordinator/coordinator.h"

#include <signal.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attestation/roots.h"
#include "attestation/verifier.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hardening.h"
#include "base/status.h"
#include "cli/command.h"
#include "coordinator/server.h"
#include "coordinator/state_dir.h"

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
            << "key broker:       " << card.key_broker_recipient.ToString() << "\n"
            << "signing key:      " << card.signing_key.KeyId() << "\n"
            << "TLS certificate:  " << card.tls_fingerprint << "\n"
            << "log origin:       " << card.log_origin << "\n"
            << "Parties pin " << f.dir << "/" << coordinator::kCardFile
            << " (`triad coordinator card --dir " << f.dir
            << "`) and pass it as --coordinator-card.\n";
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
  bool insecure = false;
};

absl::Status Serve(const ServeFlags& f) {
  TRIAD_RETURN_IF_ERROR(base::DisableCoreDumps());
  coordinator::CoordinatorOptions options;
  TRIAD_ASSIGN_OR_RETURN(options.nonce_ttl, PositiveDuration("--nonce-ttl", f.nonce_ttl));
  TRIAD_ASSIGN_OR_RETURN(options.lease, PositiveDuration("--lease", f.lease));
  TRIAD_ASSIGN_OR_RETURN(options.poll_wait, PositiveDuration("--poll-wait", f.poll_wait));
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
  coordinator::Coordinator c(clock, *stores.store, *stores.blobs, anchors,
                             std::move(state.key_broker), std::move(signing), options);
  coordinator::ServeOptions so;
  so.listen = f.listen;
  so.insecure = f.insecure;
  so.tls_key_pem = &state.tls_key_pem;
  so.tls_cert_pem = state.tls_cert_pem;
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<coordinator::Server> server,
                         coordinator::Server::Start(c, so));

  std::string host = f.listen.substr(0, f.listen.rfind(':'));
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
      ->required();
  serve->add_option(
      "--trust-sim-key", s->sim_keys,
      "Accept sim evidence signed by this Ed25519 public key (PEM; repeatable; development only)");
  serve->add_option("--roots", s->roots,
                    "Vendor roots directory (default: the pinned attestation/roots)");
  serve->add_option("--nonce-ttl", s->nonce_ttl, "How long a worker has to attest")
      ->capture_default_str();
  serve->add_option("--lease", s->lease, "Silence after which an admitted job is requeued")
      ->capture_default_str();
  serve->add_option("--poll-wait", s->poll_wait, "How long a worker's poll waits for a job")
      ->capture_default_str();
  serve->add_flag("--insecure", s->insecure,
                  "Serve plaintext instead of TLS (loopback addresses only)");
  serve->callback([s, &ctx] {
    absl::Status st = Serve(*s);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
