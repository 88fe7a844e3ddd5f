#include "measure/oci.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::measure {
namespace {

constexpr size_t kMaxDocument = 1 << 20;  // index, manifest, config
constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

absl::StatusOr<Descriptor> ReadDescriptor(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("mediaType") || !j["mediaType"].is_string() ||
      !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": not an OCI descriptor (mediaType, digest, size)"));
  }
  Descriptor d{j["mediaType"].get<std::string>(), j["digest"].get<std::string>(),
               j["size"].get<uint64_t>()};
  absl::string_view hex = d.digest;
  if (!absl::ConsumePrefix(&hex, "sha256:") || hex.size() != 64 ||
      hex.find_first_not_of("0123456789abcdef") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": digest \"", d.digest, "\" is not sha256:<64 lower-case hex>"));
  }
  return d;
}

std::string BlobPath(const std::string& dir, const std::string& digest) {
  return absl::StrCat(dir, "/blobs/sha256/", digest.substr(7));
}

// Streams a blob through SHA-256 and checks it against its descriptor.
absl::Status CheckBlob(const std::string& dir, const Descriptor& d) {
  const std::string path = BlobPath(dir, d.digest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("blob ", d.digest));
  crypto::Hasher h(crypto::HashAlg::kSha256);
  uint64_t size = 0;
  std::string buf(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return base::ErrnoStatus(err, absl::StrCat("reading blob ", d.digest));
    }
    if (n == 0) break;
    size += static_cast<uint64_t>(n);
    h.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  const std::string got = absl::StrCat("sha256:", base::HexEncode(h.Finish()));
  if (got != d.digest) {
    return absl::InvalidArgumentError(
        absl::StrCat("blob ", d.digest, " has SHA-256 ", got, ": the layout is corrupt"));
  }
  if (size != d.size) {
    return absl::InvalidArgumentError(absl::StrCat("blob ", d.digest, " is ", size,
                                                   " bytes; its descriptor says ", d.size));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> ReadJson(const std::string& path, const std::string& what) {
  TRIAD_ASSIGN_OR_RETURN(std::string text, base::Annotate(base::ReadFile(path, kMaxDocument), what));
  return base::Annotate(base::ParseJsonStrict(text), what);
}

}  // namespace

absl::StatusOr<OciImage> MeasureOciLayout(const std::string& dir) {
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json layout, ReadJson(dir + "/oci-layout", "oci-layout"));
  if (!layout.is_object() || layout.value("imageLayoutVersion", "") != "1.0.0") {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, " is not an OCI image layout (oci-layout imageLayoutVersion 1.0.0)"));
  }
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json index, ReadJson(dir + "/index.json", "index.json"));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array() ||
      index.value("schemaVersion", 0) != 2) {
    return absl::InvalidArgumentError("index.json: not an OCI image index (schemaVersion 2)");
  }
  if (index["manifests"].size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index.json lists ", index["manifests"].size(),
        " manifests; `triad measure image` measures a layout holding exactly one image"));
  }
  TRIAD_ASSIGN_OR_RETURN(Descriptor md, ReadDescriptor(index["manifests"][0], "index.json"));
  if (md.media_type != kManifestType) {
    return absl::InvalidArgumentError(
        absl::StrCat("index.json: the manifest's mediaType is ", md.media_type, ", not ", kManifestType));
  }
  TRIAD_RETURN_IF_ERROR(CheckBlob(dir, md));
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json manifest, ReadJson(BlobPath(dir, md.digest), "manifest"));
  if (!manifest.is_object() || manifest.value("schemaVersion", 0) != 2 ||
      (manifest.contains("mediaType") && manifest["mediaType"] != kManifestType) ||
      !manifest.contains("config") || !manifest.contains("layers") ||
      !manifest["layers"].is_array()) {
    return absl::InvalidArgumentError("manifest: not an OCI image manifest");
  }
  OciImage out;
  out.digest = md.digest;
  out.total_size = md.size;
  TRIAD_ASSIGN_OR_RETURN(Descriptor config, ReadDescriptor(manifest["config"], "manifest config"));
  if (config.media_type != "application/vnd.oci.image.config.v1+json") {
    return absl::InvalidArgumentError("manifest config: not application/vnd.oci.image.config.v1+json");
  }
  TRIAD_RETURN_IF_ERROR(CheckBlob(dir, config));
  out.config_digest = config.digest;
  out.total_size += config.size;
  for (size_t i = 0; i < manifest["layers"].size(); ++i) {
    TRIAD_ASSIGN_OR_RETURN(Descriptor l,
                           ReadDescriptor(manifest["layers"][i], absl::StrCat("manifest layer ", i)));
    TRIAD_RETURN_IF_ERROR(CheckBlob(dir, l));
    out.layer_digests.push_back(l.digest);
    out.total_size += l.size;
  }
  return out;
}

}  // namespace triad::measure
