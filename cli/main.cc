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
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "crypto/hash.h"
#include "grpc/support/log.h"
#include "spdlog/spdlog.h"

namespace triad::cli {

namespace {

constexpr char kUsagePayload[] = "triad.dev/usage";
constexpr char kForkPayload[] = "triad.dev/not-an-extension";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status st = absl::InvalidArgumentError(message);
  st.SetPayload(kUsagePayload, absl::Cord("1"));
  return st;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::Status NotAnExtension(absl::string_view message) {
  absl::Status st = absl::FailedPreconditionError(message);
  st.SetPayload(kForkPayload, absl::Cord("1"));
  return st;
}

int Fail(const absl::Status& status) {
  Fail(status.message());
  if (status.GetPayload(kForkPayload).has_value()) return kExitNotAnExtension;
  return IsUsageError(status) ? kExitUsage : kExitFailure;
}

int Finish(const absl::Status& status) { return status.ok() ? kExitOk : Fail(status); }

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

namespace triad::cli {
namespace {

// gRPC's own log lines ("E1207 … Handshake failed") are transport internals: the command says what
// failed in its own words (cli/client.cc). They go to the debug level.
void GrpcLogToSpdlog(gpr_log_func_args* args) {
  spdlog::debug("grpc: {}", args->message);
}

// The path of a command for messages: "triad job submit".
std::string CommandPath(const CLI::App* app) {
  std::string path = "triad";
  const CLI::App* cur = app;
  for (;;) {
    std::vector<CLI::App*> subs = const_cast<CLI::App*>(cur)->get_subcommands();
    if (subs.empty()) return path;
    cur = subs.front();
    path += " " + cur->get_name();
  }
}

// The command being run: the last subcommand parsed.
const CLI::App* Leaf(const CLI::App* app) {
  for (;;) {
    std::vector<CLI::App*> subs = const_cast<CLI::App*>(app)->get_subcommands();
    if (subs.empty()) return app;
    app = subs.front();
  }
}

// CLI11's "The following argument(s) was/were not expected: …" with a flag among them: that flag,
// and the nearest one the command lists (`--compute_provider`: did you mean --compute-provider?).
std::string UnknownFlag(const CLI::App* app, const std::string& what) {
  size_t colon = what.find(" not expected: ");
  if (what.rfind("The following argument", 0) != 0 || colon == std::string::npos) return "";
  for (absl::string_view word : absl::StrSplit(what.substr(colon + 15), ' ')) {
    if (!absl::StartsWith(word, "--") || word.size() < 3) continue;
    std::string flag(word.substr(0, word.find('=')));
    std::vector<std::string> names;
    for (const CLI::Option* o : Leaf(app)->get_options()) {
      if (o->get_group().empty()) continue;  // hidden: older spellings are not suggested
      for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
    }
    std::string near = Nearest(flag, names);
    return absl::StrCat("unknown flag ", flag,
                        near.empty() ? "" : absl::StrCat(" (did you mean ", near, "?)"));
  }
  return "";
}

std::string FailureMessage(const CLI::App* app, const CLI::Error& e) {
  std::string what = e.what();
  if (what == "A subcommand is required") what = "a command is required";
  if (std::string flag = UnknownFlag(app, what); !flag.empty()) what = flag;
  return absl::StrCat("triad: ", what, "; see '", CommandPath(app), " --help'\n");
}

// The SHA-384 of triad-worker beside this executable: the sim measurement of workers built with
// it (docs/tees.md).
std::string WorkerMeasurement() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string path(self, static_cast<size_t>(n));
  path.resize(path.rfind('/') + 1);
  path += "triad-worker";
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return "";
  crypto::Hasher h(crypto::HashAlg::kSha384);
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t got = ::read(fd.get(), buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return "";
    if (got == 0) break;
    h.Update(absl::string_view(buf.data(), static_cast<size_t>(got)));
  }
  return base::HexEncode(h.Finish());
}

int PrintVersion() {
  std::cout << "triad " << TRIAD_VERSION << "\n";
#ifndef TRIAD_CLI_WORKER_BINARY
  std::string m = WorkerMeasurement();
  if (m.empty()) {
    std::cout << "triad-worker: not built beside triad (no trainer, no worker)\n";
  } else {
    std::cout << "triad-worker sha384:" << m << " (its sim measurement)\n";
  }
#endif
  return kExitOk;
}

CLI::Validator LogLevelValue() { return OneOf({"trace", "debug", "info", "warn", "error", "off"}); }

// What argv asks before CLI11 parses it: --version, `help [COMMAND…]` (rewritten to COMMAND…
// --help), and a command word that is not one (exit 2 naming the nearest). Returns -1 to go on.
int PreParse(CLI::App& app, std::vector<std::string>& args) {
  CLI::App* cur = &app;
  std::string path = "triad";
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    // --log-level is checked here, before any command's own checks, so that its error is the one.
    if (a == "--log-level" || a.rfind("--log-level=", 0) == 0) {
      std::string level = a == "--log-level" ? (i + 1 < args.size() ? args[++i] : "")
                                             : a.substr(strlen("--log-level="));
      std::string bad = LogLevelValue()(level);
      if (!bad.empty()) {
        std::cerr << "triad: --log-level: " << bad << "; see 'triad --help'" << std::endl;
        return kExitUsage;
      }
      continue;
    }
    if (a == "--version" && cur == &app) return PrintVersion();
    if (a.empty() || a[0] == '-') return -1;
    std::vector<CLI::App*> subs = cur->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return -1;  // a command's own arguments from here
    if (a == "help") {
      // `triad help`, `triad job help`: that group's help; `triad help job submit`: the command's.
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      args.push_back("--help");
      return PreParse(app, args);
    }
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->check_name(a)) next = sub;
    }
    if (next == nullptr) {
      std::string near = Nearest(a, names);
      std::cerr << "triad: unknown command \"" << a << "\""
                << (near.empty() ? "" : absl::StrCat(" (did you mean \"", near, "\"?)")) << "; see '"
                << path << " --help'" << std::endl;
      return kExitUsage;
    }
    cur = next;
    path += " " + next->get_name();
  }
  return -1;
}

}  // namespace
}  // namespace triad::cli

int main(int argc, char** argv) {
  using namespace triad::cli;
#ifndef TRIAD_CLI_WORKER_BINARY
  if (IsWorkerCommand(argc, argv)) return ExecWorkerBinary(argv);
#endif
  gpr_set_log_function(GrpcLogToSpdlog);
  CLI::App app{"Triad: confidential three-party LoRA fine-tuning", "triad"};
  app.failure_message(FailureMessage);
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(LogLevelValue());
  app.add_flag("--version", "Print the version (and the SHA-384 of triad-worker) and exit");

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
      AddContextCommands,
      AddCompletionCommands,
  };
#endif
  for (Adder add : kGroups) add(app, ctx);

  std::vector<std::string> args(argv, argv + argc);
  if (int rc = PreParse(app, args); rc >= 0) return rc;
  app.parse_complete_callback([&] { triad::base::InitLogging(log_level); });
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);
    app.parse(reversed);
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
