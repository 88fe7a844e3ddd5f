// The `triad` binary's command groups. Each group lives in its own file and registers its subcommands
// on the CLI11 app; the callback of the chosen subcommand sets the exit code.
//
// Exit codes, the same for every command: 0 success, 1 the operation failed (a check, a signature, I/O),
// 2 usage error (bad flags or arguments), 3 (audit watch only) the coordinator showed a log that
// does not extend the one seen before: evidence of a fork, kept beside the state file.
#ifndef TRIAD_CLI_COMMAND_H_
#define TRIAD_CLI_COMMAND_H_

#include <string>

#include "absl/strings/string_view.h"

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace triad::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotAnExtension = 3;

struct Context {
  int exit_code = kExitOk;
};

// A usage error found after parsing (a flag value that only makes sense with others, a missing
// default): Fail returns kExitUsage for it.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);
// A coordinator's log that does not extend the one seen before (audit watch): Fail returns
// kExitNotAnExtension for it, apart from every other failure.
absl::Status NotAnExtension(absl::string_view message);


// Prints "triad: <message>" on stderr and returns kExitFailure, or kExitUsage for a UsageError,
// or kExitNotAnExtension for NotAnExtension.
int Fail(const absl::Status& status);
int Fail(absl::string_view message);
// kExitOk for OK, else Fail(status).
int Finish(const absl::Status& status);

// A positive duration given as FLAG ("30s", "2m", "1h", "500ms"); kInvalidArgument naming it otherwise.
absl::StatusOr<absl::Duration> PositiveDuration(const char* flag, const std::string& text);

// The subcommand NAME of APP, added with DESCRIPTION if no group registered it yet: two files may add
// commands to one group (`model init` in train.cc, `model push` in artifact.cc).
CLI::App* GroupCommand(CLI::App& app, const std::string& name, const std::string& description);

void AddAttestCommands(CLI::App& app, Context& ctx);
void AddKeygenCommands(CLI::App& app, Context& ctx);
void AddContractCommands(CLI::App& app, Context& ctx);
void AddAgeCommands(CLI::App& app, Context& ctx);  // encrypt, decrypt
// In triad-worker only (cli/main.cc explains the split; built only when trainer/ is):
// triad train, triad model init (cli/train.cc).
void AddTrainCommands(CLI::App& app, Context& ctx);
// triad worker run (cli/worker.cc).
void AddWorkerCommands(CLI::App& app, Context& ctx);
void AddCoordinatorCommands(CLI::App& app, Context& ctx);  // coordinator init, serve, card
void AddPartyCommands(CLI::App& app, Context& ctx);        // party register
void AddArtifactCommands(CLI::App& app, Context& ctx);     // model/dataset push, register
void AddJobCommands(CLI::App& app, Context& ctx);          // job submit, status, fetch
void AddAuditCommands(CLI::App& app, Context& ctx);        // audit export, verify, watch
void AddKeyholderCommands(CLI::App& app, Context& ctx);    // keyholder serve, log, revoke, import
void AddMeasureCommands(CLI::App& app, Context& ctx);      // measure image, coco, snp, tdx
void AddContextCommands(CLI::App& app, Context& ctx);      // context add, use, list, remove
void AddCompletionCommands(CLI::App& app, Context& ctx);   // completion bash|zsh

}  // namespace triad::cli

#endif  // TRIAD_CLI_COMMAND_H_
