#include "cli/flags.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/context.h"
#include "contracts/card.h"

namespace triad::cli {
namespace {

constexpr int64_t kMaxValidityDays = 3650;

// Levenshtein distance, for "did you mean".
size_t Distance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Quoted(const std::string& text) { return absl::StrCat("\"", text, "\""); }

}  // namespace

std::string Nearest(absl::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;
  for (const std::string& c : candidates) {
    size_t d = Distance(word, c);
    if (word.size() >= 3 && (absl::StartsWith(c, word) || absl::StartsWith(word, c))) {
      d = std::min<size_t>(d, 1);
    }
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

CLI::Validator DurationValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        absl::Duration d;
        if (absl::ParseDuration(text, &d) && d > absl::ZeroDuration()) return "";
        return absl::StrCat(Quoted(text), " is not a positive duration (30s, 2m, 1h)");
      },
      "DURATION");
}

absl::StatusOr<absl::Duration> ParseValidity(const std::string& text) {
  absl::Duration d;
  bool ok = false;
  if (absl::EndsWith(text, "d")) {
    int64_t days = 0;
    ok = absl::SimpleAtoi(absl::string_view(text).substr(0, text.size() - 1), &days) && days > 0 &&
         days <= kMaxValidityDays;
    d = absl::Hours(24 * days);
  } else {
    ok = absl::ParseDuration(text, &d);
  }
  if (ok && d > absl::ZeroDuration() && d <= absl::Hours(24 * kMaxValidityDays)) return d;
  return absl::InvalidArgumentError(absl::StrCat(
      "--valid-for: ", Quoted(text), " is not a duration from 1s to 3650d (examples: 30d, 12h, 90m)"));
}

CLI::Validator ValidityValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        absl::StatusOr<absl::Duration> d = ParseValidity(text);
        // CLI11 names the flag itself.
        return d.ok() ? "" : std::string(absl::StripPrefix(d.status().message(), "--valid-for: "));
      },
      "DURATION");
}

CLI::Validator TimeValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        absl::Time t;
        if (base::ParseRfc3339(text, &t)) return "";
        return absl::StrCat(Quoted(text), " is not an RFC 3339 time (2025-07-01T12:00:00Z)");
      },
      "TIME");
}

CLI::Validator RoleValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (contracts::ParseRole(text).ok()) return "";
        const std::vector<std::string> roles = {"model-owner", "data-owner", "compute-provider",
                                                "auditor"};
        std::string near = Nearest(text, roles);
        std::replace(near.begin(), near.end(), '_', '-');
        std::string fixed = text;
        std::replace(fixed.begin(), fixed.end(), '_', '-');
        if (contracts::ParseRole(fixed).ok()) near = fixed;
        return absl::StrCat(Quoted(text), " is not a role (model-owner, data-owner, "
                                          "compute-provider or auditor)",
                            near.empty() ? "" : absl::StrCat("; did you mean ", Quoted(near), "?"));
      },
      "ROLE");
}

CLI::Validator NameValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        absl::Status st = contracts::ValidateName(text);
        return st.ok() ? "" : absl::StrCat(Quoted(text), ": ", st.message());
      },
      "NAME");
}

CLI::Validator AddressValue(bool listen) {
  return CLI::Validator(
      [listen](std::string& text) -> std::string {
        size_t colon;
        bool bracketed = !text.empty() && text.front() == '[';
        if (bracketed) {
          size_t close = text.find(']');
          colon = close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':'
                      ? std::string::npos
                      : close + 1;
        } else {
          colon = text.rfind(':');
          // A bare IPv6 address has colons but no port.
          if (colon != std::string::npos && text.find(':') != colon) colon = std::string::npos;
        }
        const std::string example = listen ? "127.0.0.1:7443 or 0.0.0.0:7443; port 0 picks one"
                                           : "coordinator.example:7443";
        if (colon == std::string::npos || colon == 0 || (bracketed && colon <= 2)) {
          return absl::StrCat(Quoted(text), " has no port: give HOST:PORT (", example, ")");
        }
        int port = -1;
        if (!absl::SimpleAtoi(absl::string_view(text).substr(colon + 1), &port) || port < 0 ||
            port > 65535 || (port == 0 && !listen)) {
          return absl::StrCat(Quoted(text), ": the port must be a number from ", listen ? 0 : 1,
                              " to 65535 (", example, ")");
        }
        return "";
      },
      "HOST:PORT");
}

CLI::Validator OneOf(std::vector<std::string> choices) {
  std::string desc = absl::StrJoin(choices, "|");
  return CLI::Validator(
      [choices](std::string& text) -> std::string {
        if (std::find(choices.begin(), choices.end(), text) != choices.end()) return "";
        std::string near = Nearest(text, choices);
        std::string list = absl::StrJoin(choices, ", ");
        return absl::StrCat(Quoted(text), " is not one of ", list,
                            near.empty() ? "" : absl::StrCat("; did you mean ", Quoted(near), "?"));
      },
      desc);
}

namespace {

// "0,1,3" as indices; the reason without the flag's name otherwise.
absl::StatusOr<std::vector<int>> ParseGpuList(const std::string& text) {
  std::vector<int> gpus;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int g = -1;
    if (!absl::SimpleAtoi(part, &g) || g < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          Quoted(text), " is not a list of GPU indices (0,1: as nvidia-smi numbers them)"));
    }
    if (std::find(gpus.begin(), gpus.end(), g) != gpus.end()) {
      return absl::InvalidArgumentError(absl::StrCat(Quoted(text), ": GPU ", g, " is given twice"));
    }
    gpus.push_back(g);
  }
  return gpus;
}

// cpu, cuda, or cuda:N as {cuda, N or -1}.
absl::StatusOr<std::pair<bool, int>> ParseDevice(const std::string& text) {
  if (text == "cpu") return std::make_pair(false, -1);
  if (text == "cuda") return std::make_pair(true, -1);
  int n = -1;
  if (absl::StartsWith(text, "cuda:") && absl::SimpleAtoi(text.substr(5), &n) && n >= 0 &&
      text.substr(5).find_first_not_of("0123456789") == std::string::npos) {
    return std::make_pair(true, n);
  }
  std::string near = Nearest(text, {"cpu", "cuda"});
  return absl::InvalidArgumentError(
      absl::StrCat(Quoted(text), " is not a device (cpu, cuda or cuda:N)",
                   near.empty() ? "" : absl::StrCat("; did you mean ", Quoted(near), "?")));
}

}  // namespace

CLI::Validator DeviceValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto d = ParseDevice(text);
        return d.ok() ? "" : std::string(d.status().message());
      },
      "cpu|cuda|cuda:N");
}

CLI::Validator GpuListValue() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto g = ParseGpuList(text);
        return g.ok() ? "" : std::string(g.status().message());
      },
      "INDEX[,INDEX...]");
}

absl::StatusOr<DeviceChoice> ResolveDevice(const std::string& device, const std::string& gpus) {
  DeviceChoice choice;
  std::pair<bool, int> dev = {!gpus.empty(), -1};  // --gpus alone means cuda
  if (!device.empty()) {
    TRIAD_ASSIGN_OR_RETURN(dev, ParseDevice(device));
  }
  choice.cuda = dev.first;
  if (!gpus.empty()) {
    TRIAD_ASSIGN_OR_RETURN(choice.gpus, ParseGpuList(gpus));
  }
  if (!choice.cuda && !choice.gpus.empty()) {
    return UsageError(absl::StrCat("--device ", device, " and --gpus ", gpus,
                                   " disagree: GPUs need --device cuda"));
  }
  if (dev.second >= 0) {
    if (!choice.gpus.empty() && choice.gpus != std::vector<int>{dev.second}) {
      return UsageError(absl::StrCat("--device ", device, " and --gpus ", gpus,
                                     " name different GPUs: give one of them (--device cuda:N is "
                                     "--device cuda --gpus N)"));
    }
    choice.gpus = {dev.second};
  }
  return choice;
}

void AfterParse(CLI::App* cmd, std::function<void()> fn) {
  // One list per command, kept alive by the callback that runs it.
  static std::map<CLI::App*, std::shared_ptr<std::vector<std::function<void()>>>> lists;
  auto& list = lists[cmd];
  if (!list) {
    list = std::make_shared<std::vector<std::function<void()>>>();
    cmd->parse_complete_callback([cmd, l = list] {
      // An argument the command does not take is the error to report (cli/main.cc names the
      // nearest flag), not what these checks say of the command line without it.
      if (!cmd->remaining().empty()) return;
      for (const auto& f : *l) f();
    });
  }
  list->push_back(std::move(fn));
}

CLI::Option* AddAliasedOption(CLI::App* cmd, const std::string& names, const std::string& alias,
                              std::string& value, const std::string& description, bool required) {
  CLI::Option* primary = cmd->add_option(names, value, description);
  CLI::Option* old = cmd->add_option(alias, value, description)->group("");
  // Checked here rather than with excludes(), which help would print with the hidden alias.
  AfterParse(cmd, [primary, old, alias, required] {
    if (primary->count() > 0 && old->count() > 0) {
      throw CLI::ValidationError(primary->get_name(),
                                 "given twice (" + alias + " is its older spelling)");
    }
    if (required && primary->count() + old->count() == 0) {
      throw CLI::RequiredError(primary->get_name() + " is required", CLI::ExitCodes::RequiredError);
    }
  });
  return primary;
}

std::string KeyPrefix(const std::string& as) {
  for (const char* suffix : {".identity", ".signing.pem", ".card.json"}) {
    if (absl::EndsWith(as, suffix) && as.size() > strlen(suffix)) {
      return as.substr(0, as.size() - strlen(suffix));
    }
  }
  return as;
}

CLI::Option* AddAsFlag(CLI::App* cmd, std::string& as, const std::string& description) {
  CLI::Option* opt = cmd->add_option("--as", as, description + " (default: TRIAD_AS, or the context's)");
  AfterParse(cmd, [opt, &as] {
    if (opt->count() == 0) {
      if (const char* env = std::getenv("TRIAD_AS"); env != nullptr && *env != '\0') {
        as = env;
      } else {
        as = DefaultFromContext(ContextField::kAs);
      }
    }
    if (as.empty()) {
      throw CLI::RequiredError(
          "--as (your keys, DIR/NAME as `triad keygen --dir DIR --name NAME` wrote them; or "
          "TRIAD_AS, or a context: triad context add)");
    }
    as = KeyPrefix(as);
  });
  return opt;
}

}  // namespace triad::cli
