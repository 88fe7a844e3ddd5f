// triad keygen: a party's age identity, Ed25519 signing key and public card.
#include <sys/stat.h>

#include <cerrno>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "contracts/card.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"

namespace triad::cli {
namespace {

struct KeygenFlags {
  std::string name;
  std::string role;
  std::string dir;
  bool json = false;
};

absl::Status Keygen(const KeygenFlags& f) {
  TRIAD_RETURN_IF_ERROR(contracts::ValidateName(f.name));
  TRIAD_ASSIGN_OR_RETURN(contracts::Role role, contracts::ParseRole(f.role));
  if (::mkdir(f.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(errno, absl::StrCat("creating ", f.dir));
  }
  std::string prefix = absl::StrCat(f.dir, "/", f.name);
  crypto::age::X25519Identity identity = crypto::age::X25519Identity::Generate();
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  contracts::PartyCard card{f.name, role, identity.recipient(), signing.public_key()};

  // New files only: an existing key is never overwritten. The card goes last, so a card on disk
  // always has its keys beside it.
  TRIAD_RETURN_IF_ERROR(crypto::WriteSecretFile(
      prefix + ".identity",
      crypto::age::FormatIdentityFile(identity, base::FormatRfc3339(base::SystemClock().Now()))));
  TRIAD_RETURN_IF_ERROR(crypto::WriteSecretFile(prefix + ".signing.pem", signing.ToPem()));
  TRIAD_RETURN_IF_ERROR(base::WriteNewFile(prefix + ".card.json", card.ToJson(), 0644));

  if (f.json) {
    std::cout << card.ToJsonValue().dump() << "\n";  // one object per line; the file is indented
  } else {
    std::cout << "wrote " << prefix << ".identity, " << prefix << ".signing.pem, " << prefix
              << ".card.json\n"
              << "role:        " << contracts::RoleName(role) << "\n"
              << "recipient:   " << card.age_recipient.ToString() << "\n"
              << "fingerprint: " << card.fingerprint() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddKeygenCommands(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<KeygenFlags>();
  CLI::App* cmd = app.add_subcommand("keygen", "Make a party's age identity, Ed25519 signing key and card");
  cmd->add_option("--name", flags->name, "Party name (letters, digits, '.', '_', '-')")
      ->required()
      ->check(NameValue());
  cmd->add_option("--role", flags->role, "model-owner, data-owner, compute-provider or auditor")
      ->required()
      ->check(RoleValue());
  cmd->add_option("--dir", flags->dir, "Directory for NAME.identity, NAME.signing.pem, NAME.card.json")
      ->required();
  cmd->add_flag("--json", flags->json, "Print the card as JSON");
  cmd->callback([flags, &ctx] {
    absl::Status st = Keygen(*flags);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
