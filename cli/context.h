// Saved contexts: a coordinator's address, its pinned card and the keys to sign with, under a name,
// so that `triad job submit CONTRACT` needs no other flag (as kubectl contexts, `gh auth` and
// `gcloud config` do). Stored in $XDG_CONFIG_HOME/triad/contexts.json (default ~/.config/triad),
// mode 0600 in a 0700 directory; `context add` copies the coordinator card there
// (cards/NAME.card.json), so the pin cannot change behind the context's back.
//
// Where a flag's value comes from, first found wins: the flag; the environment (TRIAD_COORDINATOR,
// TRIAD_COORDINATOR_CARD, TRIAD_AS); the context named by TRIAD_CONTEXT, else the one chosen with
// `triad context use`.
#ifndef TRIAD_CLI_CONTEXT_H_
#define TRIAD_CLI_CONTEXT_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triad::cli {

struct SavedContext {
  std::string coordinator;
  std::string coordinator_card;  // absolute path of the card copied into the config directory
  std::string as;                // absolute DIR/NAME, or empty
};

struct Contexts {
  std::string current;  // "" when none is current
  std::map<std::string, SavedContext> by_name;
};

// $XDG_CONFIG_HOME/triad, else $HOME/.config/triad; kFailedPrecondition when neither is absolute.
absl::StatusOr<std::string> ConfigDir();
std::string ContextsPath(const std::string& config_dir);
// The saved contexts (none when the file does not exist); kDataLoss naming the file when it is not
// a contexts file.
absl::StatusOr<Contexts> LoadContexts(const std::string& config_dir);
// Writes them atomically (0600), making the directory (0700) when needed.
absl::Status SaveContexts(const std::string& config_dir, const Contexts& contexts);

enum class ContextField { kCoordinator, kCoordinatorCard, kAs };

// The current context's value of `field`, or "" when there is no current context. Throws
// CLI::ValidationError (a usage error) when TRIAD_CONTEXT names no saved context or the file
// cannot be read.
std::string DefaultFromContext(ContextField field);

}  // namespace triad::cli

#endif  // TRIAD_CLI_CONTEXT_H_
