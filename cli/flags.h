// Flag values checked where they are parsed, so that a bad value is a usage error (exit 2) that names
// the flag, before the command does anything; and the defaults that come from the environment and
// the saved context (cli/context.h) for the flags every networked command shares.
//
// Each validator returns CLI11's form: an empty string when the value is good, else the reason
// without the flag's name (CLI11 prefixes it: `--every: "5" is not a duration ...`).
#ifndef TRIAD_CLI_FLAGS_H_
#define TRIAD_CLI_FLAGS_H_

#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace triad::cli {

// A positive duration: 30s, 2m, 1h, 500ms.
CLI::Validator DurationValue();
// A contract validity: 30d, 12h, 90m (1s to 3650d).
CLI::Validator ValidityValue();
// Its value: "30d", "12h", "90m", "1h30m", "3600s" (a day suffix on top of absl::ParseDuration);
// kInvalidArgument "--valid-for: ..." otherwise.
absl::StatusOr<absl::Duration> ParseValidity(const std::string& text);
// An RFC 3339 time (--now).
CLI::Validator TimeValue();
// A party role: model-owner, data-owner, compute-provider or auditor (a near miss is named).
CLI::Validator RoleValue();
// A name (party, artifact, contract id): letters, digits, '.', '_', '-', 1 to 64, not starting with
// '.' or '-'.
CLI::Validator NameValue();
// HOST:PORT or [IPv6]:PORT with an explicit port (0 to 65535); `listen` allows port 0 (any free
// port), clients need a real one.
CLI::Validator AddressValue(bool listen);
// One of `choices`.
CLI::Validator OneOf(std::vector<std::string> choices);

// --device and --gpus, one meaning in `triad train` and `triad worker run`: --device is cpu, cuda
// or cuda:N, and --gpus a list of GPU indices as nvidia-smi numbers them (0,1), which is what a
// worker attests through NVML and what train hands CUDA. `--device cuda:N` is `--device cuda
// --gpus N`. docs/commands.md#devices-and-gpus.
CLI::Validator DeviceValue();   // cpu, cuda or cuda:N
CLI::Validator GpuListValue();  // 0,1,3: distinct non-negative indices
struct DeviceChoice {
  bool cuda = false;
  std::vector<int> gpus;  // nvidia-smi indices; empty: the command's default
};
// The two flags as given ("" when absent, both already checked by the validators above); a
// UsageError naming both when they disagree (`--device cuda:1 --gpus 0`, `--device cpu --gpus 0`).
// No --device with --gpus means cuda.
absl::StatusOr<DeviceChoice> ResolveDevice(const std::string& device, const std::string& gpus);

// The nearest of `candidates` to `word` (edit distance at most 2, or a prefix either way); empty
// when none is near.
std::string Nearest(absl::string_view word, const std::vector<std::string>& candidates);

// Runs `fn` after `cmd`'s command line is parsed and before its callback; `fn` throws
// CLI::ValidationError or CLI::RequiredError for a usage error. Several may be registered per
// command; they run in order.
void AfterParse(CLI::App* cmd, std::function<void()> fn);

// The --as DIR/NAME of a command: not required on the command line when TRIAD_AS or the current
// context gives it (in that order), and a usage error ("--as is required ...") when nothing does.
// DIR/NAME.identity, .signing.pem or .card.json name the same keys and are taken as DIR/NAME.
CLI::Option* AddAsFlag(CLI::App* cmd, std::string& as, const std::string& description);

// An option `names` ("--out", "-o,--out", or a positional "FILE") that also answers to `alias`,
// an older spelling kept for scripts that help does not list; the two exclude each other. When
// `required`, one of them must be given ("FILE is required", a usage error).
CLI::Option* AddAliasedOption(CLI::App* cmd, const std::string& names, const std::string& alias,
                              std::string& value, const std::string& description, bool required);

// DIR/NAME for a path the user may have given as one of the key files (DIR/NAME.identity, …).
std::string KeyPrefix(const std::string& as);

}  // namespace triad::cli

#endif  // TRIAD_CLI_FLAGS_H_
