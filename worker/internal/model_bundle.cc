#include "worker/internal/model_bundle.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/tar.h"

namespace triad::worker::internal {
namespace {

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("model archive: ", what));
}

std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace

absl::StatusOr<trainer::ModelFiles> ModelFilesFromTar(absl::string_view archive) {
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<base::TarReader> reader,
                         base::Annotate(base::TarReader::Open(archive), "model archive"));
  trainer::ModelFiles files;
  bool config = false, tokenizer = false;
  while (true) {
    // The reader refuses links, special files, unsafe paths and names that appear twice.
    TRIAD_ASSIGN_OR_RETURN(std::optional<base::TarMember> member,
                           base::Annotate(reader->Next(), "model archive"));
    if (!member.has_value()) break;
    const std::string& name = member->path;
    if (absl::StrContains(name, "/")) continue;  // a subdirectory's file
    // A view into the archive: the plaintext stays in the caller's SecretBytes.
    TRIAD_ASSIGN_OR_RETURN(absl::string_view data,
                           base::Annotate(reader->View(), "model archive"));
    if (name == "config.json") {
      files.config_json = Std(data);
      config = true;
    } else if (name == "tokenizer.json") {
      files.tokenizer_json = Std(data);
      tokenizer = true;
    } else if (name == "model.safetensors.index.json") {
      files.safetensors_index_json = Std(data);
    } else if (absl::EndsWith(name, ".safetensors")) {
      files.safetensors.push_back({name, Std(data)});
    }
  }
  if (!config) return Bad("no config.json at its top level");
  if (!tokenizer) return Bad("no tokenizer.json at its top level");
  if (files.safetensors.empty()) return Bad("no *.safetensors file at its top level");
  return files;
}

absl::StatusOr<crypto::SecretBytes> PackAdapter(const std::vector<trainer::OutputFile>& adapter,
                                                absl::string_view training_report_json) {
  // ustar: one 512-byte header per member, data padded to 512 bytes, two zero blocks at the end.
  constexpr size_t kBlock = 512;
  auto padded = [](size_t n) { return (n + kBlock - 1) / kBlock * kBlock; };
  size_t total = 2 * kBlock + kBlock + padded(training_report_json.size());
  for (const trainer::OutputFile& f : adapter) total += kBlock + padded(f.data.size());
  crypto::SecretBytes out;
  out.reserve(total);
  auto sink = [&out, total](absl::string_view bytes) {
    if (out.size() + bytes.size() > total) {
      return absl::InternalError("adapter archive: larger than its reserved size");
    }
    out.append(bytes);
    return absl::OkStatus();
  };
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<base::TarWriter> tar, base::TarWriter::Create(sink));
  for (const trainer::OutputFile& f : adapter) TRIAD_RETURN_IF_ERROR(tar->AddFile(f.name, f.data));
  TRIAD_RETURN_IF_ERROR(tar->AddFile("training_report.json", training_report_json));
  TRIAD_RETURN_IF_ERROR(tar->Finish());
  return out;
}

}  // namespace triad::worker::internal
