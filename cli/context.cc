// triad context add | use | list | remove: saved contexts (cli/context.h).
#include "cli/context.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "contracts/card.h"
#include "nlohmann/json.hpp"

namespace triad::cli {
namespace {

std::string Absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

struct AddFlags {
  std::string name;
  ClientFlags client;
  std::string as;
  bool use = false;
};

absl::Status Add(const AddFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(std::string dir, ConfigDir());
  TRIAD_ASSIGN_OR_RETURN(Contexts all, LoadContexts(dir));
  if (all.by_name.count(f.name) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("context ", f.name,
                                                 " exists; remove it first (triad context remove ",
                                                 f.name, ")"));
  }
  TRIAD_ASSIGN_OR_RETURN(coordinator::CoordinatorCard card,
                         ReadCoordinatorCard(f.client.card_path));
  SavedContext s;
  s.coordinator = f.client.address;
  if (!f.as.empty()) {
    const std::string prefix = KeyPrefix(f.as);
    TRIAD_RETURN_IF_ERROR(
        base::Annotate(contracts::PartyCard::FromFile(prefix + ".card.json").status(),
                       absl::StrCat("--as ", f.as)));
    s.as = Absolute(prefix);
  }
  // A copy of the card: the pin is what was checked now, whatever happens to the file later.
  const std::string cards = dir + "/cards";
  TRIAD_RETURN_IF_ERROR(SaveContexts(dir, all));  // makes the directory
  if (::mkdir(cards.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(errno, absl::StrCat("creating ", cards));
  }
  s.coordinator_card = absl::StrCat(cards, "/", f.name, ".card.json");
  TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(s.coordinator_card, card.ToJson(), 0644));
  const bool make_current = f.use || all.current.empty();
  all.by_name[f.name] = s;
  if (make_current) all.current = f.name;
  TRIAD_RETURN_IF_ERROR(SaveContexts(dir, all));
  std::cout << "added context " << f.name << ": coordinator " << card.name << " at "
            << s.coordinator << (s.as.empty() ? "" : absl::StrCat(", as ", s.as))
            << (make_current ? "; it is the current context" : "") << "\n";
  return absl::OkStatus();
}

absl::Status Use(const std::string& name) {
  TRIAD_ASSIGN_OR_RETURN(std::string dir, ConfigDir());
  TRIAD_ASSIGN_OR_RETURN(Contexts all, LoadContexts(dir));
  if (all.by_name.count(name) == 0) {
    return absl::NotFoundError(absl::StrCat("no context ", name, " (triad context list)"));
  }
  all.current = name;
  TRIAD_RETURN_IF_ERROR(SaveContexts(dir, all));
  std::cout << "the current context is " << name << "\n";
  return absl::OkStatus();
}

absl::Status Remove(const std::string& name) {
  TRIAD_ASSIGN_OR_RETURN(std::string dir, ConfigDir());
  TRIAD_ASSIGN_OR_RETURN(Contexts all, LoadContexts(dir));
  auto it = all.by_name.find(name);
  if (it == all.by_name.end()) {
    return absl::NotFoundError(absl::StrCat("no context ", name, " (triad context list)"));
  }
  const std::string card = it->second.coordinator_card;
  all.by_name.erase(it);
  if (all.current == name) all.current.clear();
  TRIAD_RETURN_IF_ERROR(SaveContexts(dir, all));
  if (card.rfind(dir + "/cards/", 0) == 0) ::unlink(card.c_str());
  std::cout << "removed context " << name << "\n";
  return absl::OkStatus();
}

absl::Status List(bool json) {
  TRIAD_ASSIGN_OR_RETURN(std::string dir, ConfigDir());
  TRIAD_ASSIGN_OR_RETURN(Contexts all, LoadContexts(dir));
  for (const auto& [name, s] : all.by_name) {
    if (json) {
      nlohmann::ordered_json j;
      j["name"] = name;
      j["current"] = name == all.current;
      j["coordinator"] = s.coordinator;
      j["coordinator_card"] = s.coordinator_card;
      j["as"] = s.as;
      std::cout << j.dump() << "\n";
    } else {
      std::cout << (name == all.current ? "* " : "  ") << name << "  " << s.coordinator << "  "
                << (s.as.empty() ? "-" : s.as) << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace

void AddContextCommands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand(
      "context", "Saved contexts: a coordinator, its card and your keys under one name");
  group->require_subcommand(1);

  auto a = std::make_shared<AddFlags>();
  CLI::App* add = group->add_subcommand(
      "add", "Save a context (the first one saved, or with --use, becomes the current one)");
  add->add_option("NAME", a->name, "The context's name")->required()->check(NameValue());
  add->add_option("--coordinator", a->client.address, "The coordinator's HOST:PORT")
      ->required()
      ->check(AddressValue(/*listen=*/false));
  add->add_option("--coordinator-card", a->client.card_path,
                  "The coordinator's card (copied into the context)")
      ->required();
  add->add_option("--as", a->as, "Your keys: DIR/NAME (optional)");
  add->add_flag("--use", a->use, "Make it the current context");
  add->callback([a, &ctx] { ctx.exit_code = Finish(Add(*a)); });

  auto u = std::make_shared<std::string>();
  CLI::App* use = group->add_subcommand("use", "Make a saved context the current one");
  use->add_option("NAME", *u, "The context's name")->required();
  use->callback([u, &ctx] { ctx.exit_code = Finish(Use(*u)); });

  auto l = std::make_shared<bool>(false);
  CLI::App* list = group->add_subcommand("list", "List the saved contexts (* marks the current one)");
  list->add_flag("--json", *l, "One JSON object per context");
  list->callback([l, &ctx] { ctx.exit_code = Finish(List(*l)); });

  auto r = std::make_shared<std::string>();
  CLI::App* remove = group->add_subcommand("remove", "Forget a saved context");
  remove->add_option("NAME", *r, "The context's name")->required();
  remove->callback([r, &ctx] { ctx.exit_code = Finish(Remove(*r)); });
}

}  // namespace triad::cli
