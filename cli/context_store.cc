// The contexts file (cli/context.h): reading, writing, and the defaults it gives.
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "cli/context.h"
#include "nlohmann/json.hpp"

namespace triad::cli {
namespace {

constexpr size_t kMaxContextsFile = 1 << 20;

}  // namespace

absl::StatusOr<std::string> ConfigDir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg == '/') return absl::StrCat(xdg, "/triad");
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home == '/') return absl::StrCat(home, "/.config/triad");
  return absl::FailedPreconditionError(
      "neither XDG_CONFIG_HOME nor HOME is an absolute directory: contexts have nowhere to live");
}

std::string ContextsPath(const std::string& dir) { return dir + "/contexts.json"; }

absl::StatusOr<Contexts> LoadContexts(const std::string& dir) {
  Contexts out;
  const std::string path = ContextsPath(dir);
  absl::StatusOr<std::string> text = base::ReadFile(path, kMaxContextsFile);
  if (absl::IsNotFound(text.status())) return out;
  TRIAD_RETURN_IF_ERROR(text.status());
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json j, base::Annotate(base::ParseJsonStrict(*text), path));
  auto bad = [&path](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(path, ": ", why, "; fix or remove the file"));
  };
  if (!j.is_object() || !j.contains("contexts") || !j["contexts"].is_object()) {
    return bad("not a contexts file");
  }
  if (j.contains("current")) {
    if (!j["current"].is_string()) return bad("\"current\" is not a string");
    out.current = j["current"].get<std::string>();
  }
  for (const auto& [name, c] : j["contexts"].items()) {
    if (!c.is_object()) return bad(absl::StrCat("context ", name, " is not an object"));
    SavedContext s;
    for (const auto& [key, field] :
         {std::pair<const char*, std::string*>{"coordinator", &s.coordinator},
          {"coordinator_card", &s.coordinator_card},
          {"as", &s.as}}) {
      if (!c.contains(key)) continue;
      if (!c[key].is_string()) return bad(absl::StrCat("context ", name, ": ", key, " is not a string"));
      *field = c[key].get<std::string>();
    }
    out.by_name[name] = std::move(s);
  }
  return out;
}

absl::Status SaveContexts(const std::string& dir, const Contexts& c) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    // The parent (~/.config) may not exist yet.
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::FailedPreconditionError(absl::StrCat("creating ", dir, ": ", ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  nlohmann::ordered_json j;
  j["current"] = c.current;
  j["contexts"] = nlohmann::ordered_json::object();
  for (const auto& [name, s] : c.by_name) {
    nlohmann::ordered_json e;
    e["coordinator"] = s.coordinator;
    e["coordinator_card"] = s.coordinator_card;
    if (!s.as.empty()) e["as"] = s.as;
    j["contexts"][name] = e;
  }
  return base::WriteFileAtomic(ContextsPath(dir), j.dump(2) + "\n", 0600);
}

std::string DefaultFromContext(ContextField field) {
  absl::StatusOr<std::string> dir = ConfigDir();
  const char* named = std::getenv("TRIAD_CONTEXT");
  if (!dir.ok()) {
    if (named != nullptr && *named != '\0') throw CLI::ValidationError("TRIAD_CONTEXT", std::string(dir.status().message()));
    return "";
  }
  absl::StatusOr<Contexts> all = LoadContexts(*dir);
  if (!all.ok()) throw CLI::ValidationError("contexts", std::string(all.status().message()));
  std::string name = all->current;
  if (named != nullptr && *named != '\0') {
    name = named;
    if (all->by_name.count(name) == 0) {
      throw CLI::ValidationError("TRIAD_CONTEXT",
                                 absl::StrCat("no context ", name, " in ", ContextsPath(*dir)));
    }
  }
  auto it = all->by_name.find(name);
  if (it == all->by_name.end()) return "";
  switch (field) {
    case ContextField::kCoordinator:
      return it->second.coordinator;
    case ContextField::kCoordinatorCard:
      return it->second.coordinator_card;
    case ContextField::kAs:
      return it->second.as;
  }
  return "";
}

}  // namespace triad::cli
