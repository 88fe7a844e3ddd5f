#include "worker/internal/model_bundle.h"

#include <set>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "worker/internal/tar.h"

namespace triad::worker::internal {
namespace {

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("model archive: ", what));
}

std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace

absl::StatusOr<trainer::ModelFiles> ModelFilesFromTar(absl::string_view archive) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<TarMember> members,
                         base::Annotate(ReadTar(archive), "model archive"));
  trainer::ModelFiles files;
  std::set<std::string> seen;
  bool config = false, tokenizer = false;
  for (TarMember& m : members) {
    absl::string_view name = m.name;
    while (absl::StartsWith(name, "./")) name.remove_prefix(2);
    if (name.empty() || absl::StrContains(name, "/")) continue;  // a subdirectory's file
    if (!seen.insert(std::string(name)).second) {
      return Bad(absl::StrCat("holds \"", name, "\" twice"));
    }
    if (name == "config.json") {
      files.config_json = Std(m.data);
      config = true;
    } else if (name == "tokenizer.json") {
      files.tokenizer_json = Std(m.data);
      tokenizer = true;
    } else if (name == "model.safetensors.index.json") {
      files.safetensors_index_json = Std(m.data);
    } else if (absl::EndsWith(name, ".safetensors")) {
      files.safetensors.push_back({std::string(name), Std(m.data)});
    }
  }
  if (!config) return Bad("no config.json at its top level");
  if (!tokenizer) return Bad("no tokenizer.json at its top level");
  if (files.safetensors.empty()) return Bad("no *.safetensors file at its top level");
  return files;
}

}  // namespace triad::worker::internal
