// TrustAnchors::LoadDir and DefaultRootsDir.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "attestation/internal/snp_certs.h"
#include "attestation/roots.h"
#include "attestation/verifier.h"
#include "base/file.h"
#include "base/status.h"

#ifndef TRIAD_ATTESTATION_ROOTS_DIR
#error "TRIAD_ATTESTATION_ROOTS_DIR must be defined by the build (attestation/CMakeLists.txt)"
#endif

namespace triad::attestation {
namespace {

constexpr size_t kMaxAnchorFileSize = 64 * 1024;

// "milan" -> "Milan". Product names in file names are lower-case letters and digits.
absl::StatusOr<std::string> ProductKey(absl::string_view file, absl::string_view lower) {
  if (lower.empty())
    return absl::InvalidArgumentError(absl::StrCat(file, ": no product in the file name"));
  for (char c : lower) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": the product in the file name must be lower-case letters and digits"));
    }
  }
  std::string key(lower);
  key[0] = absl::ascii_toupper(key[0]);
  return key;
}

}  // namespace

absl::StatusOr<TrustAnchors> TrustAnchors::LoadDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("trust anchor directory ", dir, " does not exist"));
  }
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
  }
  if (ec) return absl::InternalError(absl::StrCat("listing ", dir, ": ", ec.message()));
  std::sort(names.begin(), names.end());

  TrustAnchors a;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir, "/", name);
    std::map<std::string, std::string>* amd = nullptr;
    absl::string_view stem = name;
    if (!absl::ConsumeSuffix(&stem, ".pem")) continue;
    if (absl::ConsumePrefix(&stem, "amd_ark_")) {
      amd = &a.amd_ark;
    } else if (absl::ConsumePrefix(&stem, "amd_ask_")) {
      amd = &a.amd_ask;
    } else if (absl::ConsumePrefix(&stem, "amd_asvk_")) {
      amd = &a.amd_asvk;
    } else if (name != "intel_sgx_root_ca.pem" && name != "nvidia_device_identity_ca.pem" &&
               name != "nvidia_corim_signing_root_ca.pem" &&
               !(absl::StartsWith(name, "sim_") && absl::EndsWith(name, ".pub.pem"))) {
      continue;  // README, bundles: not anchors of these verifiers
    }
    TRIAD_ASSIGN_OR_RETURN(std::string pem, base::ReadFile(path, kMaxAnchorFileSize));
    if (absl::StartsWith(name, "sim_")) {
      TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                             base::Annotate(crypto::Ed25519PublicKey::FromPem(pem), path));
      a.sim_keys.push_back(std::move(key));
      continue;
    }
    // Every certificate file must hold exactly one certificate.
    TRIAD_RETURN_IF_ERROR(base::Annotate(internal::ParsePemCertificate(pem).status(), path));
    if (amd == nullptr) {
      std::string& slot = name == "intel_sgx_root_ca.pem"           ? a.intel_sgx_root_ca
                          : name == "nvidia_device_identity_ca.pem" ? a.nvidia_device_identity_ca
                                                                    : a.nvidia_corim_signing_root_ca;
      slot = std::move(pem);
      continue;
    }
    TRIAD_ASSIGN_OR_RETURN(std::string product, ProductKey(path, stem));
    (*amd)[product] = std::move(pem);
  }
  return a;
}

std::string DefaultRootsDir() {
  const char* env = std::getenv(kRootsDirEnv);
  if (env != nullptr && *env != '\0') return env;
  return TRIAD_ATTESTATION_ROOTS_DIR;
}

}  // namespace triad::attestation
