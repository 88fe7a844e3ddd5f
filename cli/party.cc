// triad party register: a party registers its own card with a coordinator.
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/status.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "cli/keys.h"
#include "coordinator/request.h"
#include "nlohmann/json.hpp"
#include "triad/v1/registry.grpc.pb.h"

namespace triad::cli {
namespace {

struct RegisterFlags {
  ClientFlags client;
  std::string as;
  bool json = false;
};

absl::Status Register(const RegisterFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(PartyKeys keys, LoadPartyKeys(f.as));
  TRIAD_ASSIGN_OR_RETURN(Remote remote, ConnectRemote(f.client));
  auto stub = v1::Registry::NewStub(remote.channel);
  v1::SignedRequest req;
  req.set_envelope_json(
      remote.Sign("register-party", {{"card", keys.card.ToJsonValue()}}, keys.signing_key));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::RegisterPartyReply reply;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->RegisterParty(&ctx, req, &reply), f.client));
  if (f.json) {
    nlohmann::ordered_json j;
    j["name"] = keys.card.name;
    j["role"] = contracts::RoleName(keys.card.role);
    j["fingerprint"] = reply.fingerprint();
    j["already_registered"] = reply.already_registered();
    std::cout << j.dump() << "\n";
  } else if (reply.already_registered()) {
    std::cout << keys.card.name << " was already registered (fingerprint " << reply.fingerprint()
              << ")\n";
  } else {
    std::cout << "registered " << keys.card.name << " (" << contracts::RoleName(keys.card.role)
              << "), fingerprint " << reply.fingerprint() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddPartyCommands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("party", "A party's registration with a coordinator");
  group->require_subcommand(1);
  auto f = std::make_shared<RegisterFlags>();
  CLI::App* reg = group->add_subcommand(
      "register",
      "Register your card yourself, where the coordinator takes self-registrations "
      "(--open-registration); otherwise send the card to its operator");
  AddClientFlags(reg, f->client);
  AddAsFlag(reg, f->as, "Your keys: DIR/NAME (from `triad keygen`)");
  reg->add_flag("--json", f->json, "Print the result as JSON");
  reg->callback([f, &ctx] {
    absl::Status st = Register(*f);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
