// triad: one command line, a table of command groups.
//
// The commands that run LibTorch (`train`, `model init`, `worker run`) live in `triad-worker`, built
// beside `triad` from this same file with TRIAD_CLI_WORKER_BINARY: loading LibTorch costs every
// process about 0.4 s, which no other command should pay, and the worker executable (whose SHA-384 is
// the sim measurement) then holds only what a worker runs. `triad train …`, `triad model init …` and
// `triad worker run …` exec `triad-worker` with the same arguments, so users see one command.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
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

absl::StatusOr<absl::Duration> PositiveDuration(const char* flag, const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not a positive duration (30s, 2m, 1h)"));
  }
  return d;
}

#ifndef TRIAD_CLI_WORKER_BINARY
namespace {

// Whether argv names a command of triad-worker: its first two words, after the global options.
bool IsWorkerCommand(int argc, char** argv) {
  std::vector<std::string> words;
  for (int i = 1; i < argc && words.size() < 2; ++i) {
    std::string a = argv[i];
    if (a == "--log-level") {
      ++i;  // its value
    } else if (a.empty() || a[0] != '-') {
      words.push_back(a);
    } else if (words.empty()) {
      continue;  // --help and the like: triad answers them itself
    } else {
      break;
    }
  }
  if (words.empty()) return false;
  if (words[0] == "train" || words[0] == "worker") return true;
  return words[0] == "model" && words.size() == 2 && words[1] == "init";
}

// Replaces this process with triad-worker from the same directory; returns only on failure.
int ExecWorkerBinary(char** argv) {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return Fail(absl::StrCat("finding this executable: ", std::strerror(errno)));
  std::string dir(self, static_cast<size_t>(n));
  dir.resize(dir.rfind('/') + 1);
  const std::string worker = dir + "triad-worker";
  argv[0] = const_cast<char*>(worker.c_str());
  ::execv(worker.c_str(), argv);
  return Fail(absl::StrCat("this command runs ", worker, " (the trainer and worker, with LibTorch), ",
                           "which cannot be started: ", std::strerror(errno),
                           "; build it (CMake target triad_worker_cli) or install it beside triad"));
}

// The worker binary's commands, listed in `triad --help`; never run here (see IsWorkerCommand).
void AddWorkerBinaryStubs(CLI::App& app, Context&) {
  app.add_subcommand("train", "Fine-tune a LoRA adapter on your own plaintext model and data (runs triad-worker)")
      ->allow_extras();
  GroupCommand(app, "model", "Encrypted base models and model bundles")
      ->add_subcommand("init", "Write a small random model in the Hugging Face layout (runs triad-worker)")
      ->allow_extras();
  app.add_subcommand("worker", "The TEE worker of a compute provider (runs triad-worker)")->allow_extras();
}

}  // namespace
#endif

}  // namespace triad::cli

int main(int argc, char** argv) {
  using namespace triad::cli;
#ifndef TRIAD_CLI_WORKER_BINARY
  if (IsWorkerCommand(argc, argv)) return ExecWorkerBinary(argv);
#endif
  CLI::App app{"Triad: confidential three-party LoRA fine-tuning", "triad"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();

  Context ctx;
  using Adder = void (*)(CLI::App&, Context&);
#ifdef TRIAD_CLI_WORKER_BINARY
  static constexpr Adder kGroups[] = {AddTrainCommands, AddWorkerCommands};
#else
  static constexpr Adder kGroups[] = {
      AddAttestCommands,      AddKeygenCommands,    AddContractCommands, AddAgeCommands,
#ifdef TRIAD_HAVE_TRAINER
      AddWorkerBinaryStubs,
#endif
      AddCoordinatorCommands,
      AddPartyCommands,
      AddArtifactCommands,
      AddJobCommands,
      AddAuditCommands,
      AddKeyholderCommands,
      AddMeasureCommands,
  };
#endif
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
