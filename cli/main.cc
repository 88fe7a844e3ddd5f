// triad: one binary, a table of command groups.
#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "base/log.h"
#include "cli/command.h"

namespace triad::cli {

int Fail(const absl::Status& status) { return Fail(status.message()); }

CLI::App* GroupCommand(CLI::App& app, const std::string& name, const std::string& description) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == name) return sub;
  }
  return app.add_subcommand(name, description);
}

int Fail(absl::string_view message) {
  std::cerr << "triad: " << message << std::endl;
  return kExitFailure;
}

}  // namespace triad::cli

int main(int argc, char** argv) {
  using namespace triad::cli;
  CLI::App app{"Triad: confidential three-party LoRA fine-tuning", "triad"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();

  Context ctx;
  using Adder = void (*)(CLI::App&, Context&);
  static constexpr Adder kGroups[] = {
      AddAttestCommands,
      AddKeygenCommands,
      AddContractCommands,
      AddAgeCommands,
#ifdef TRIAD_HAVE_TRAINER
      AddTrainCommands,
      AddWorkerCommands,
#endif
      AddCoordinatorCommands,
      AddPartyCommands,
      AddArtifactCommands,
      AddJobCommands,
      AddAuditCommands,
  };
  for (Adder add : kGroups) add(app, ctx);

  app.parse_complete_callback([&] { triad::base::InitLogging(log_level); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return ctx.exit_code;
}
