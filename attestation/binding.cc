#include "attestation/binding.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::attestation {
namespace {

absl::Status CheckInputs(const BindingInputs& in) {
  if (in.nonce.size() != kBindingNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat("attestation nonce must be ", kBindingNonceSize,
                                                   " bytes, got ", in.nonce.size()));
  }
  if (in.job_id.empty() || in.job_id.size() > kMaxJobIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("job id must be 1 to ", kMaxJobIdSize, " bytes, got ", in.job_id.size()));
  }
  return absl::OkStatus();
}

std::string Admission(absl::string_view context, const BindingInputs& in) {
  std::string msg(context);
  msg += in.nonce;
  msg += in.job_id;
  msg += in.key.raw();
  msg += in.recipient.ToString();
  return msg;
}

void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

bool Equal(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool HasGpuPart(const contracts::Claims& claims) {
  return !claims.gpus.empty() || claims.gpu_cc.has_value();
}

}  // namespace

absl::StatusOr<std::string> ExpectedReportData(const BindingInputs& in) {
  TRIAD_RETURN_IF_ERROR(CheckInputs(in));
  return crypto::Sha512(Admission(kBindingContext, in));
}

absl::StatusOr<std::string> ExpectedReportData(const BindingInputs& in,
                                               absl::string_view gpu_set_digest) {
  TRIAD_RETURN_IF_ERROR(CheckInputs(in));
  if (gpu_set_digest.size() != kGpuSetDigestSize) {
    return absl::InvalidArgumentError(absl::StrCat("the GPU set digest must be ",
                                                   kGpuSetDigestSize, " bytes, got ",
                                                   gpu_set_digest.size()));
  }
  std::string msg = Admission(kBindingContextGpus, in);
  msg.append(gpu_set_digest.data(), gpu_set_digest.size());
  return crypto::Sha512(msg);
}

absl::StatusOr<std::string> GpuNonce(const BindingInputs& in, uint32_t index) {
  TRIAD_ASSIGN_OR_RETURN(std::string d1, ExpectedReportData(in));
  std::string msg = kGpuNonceContext;
  msg += d1;
  AppendU32(msg, index);
  return crypto::Sha256(msg);
}

absl::StatusOr<std::string> GpuSetDigest(const contracts::GpuCcState& cc,
                                         const std::vector<GpuSetEntry>& gpus) {
  if (gpus.size() > contracts::kMaxGpus) {
    return absl::InvalidArgumentError(
        absl::StrCat(gpus.size(), " GPUs, more than ", contracts::kMaxGpus));
  }
  std::string msg = kGpuSetContext;
  for (uint32_t v : {cc.environment, cc.cc_feature, cc.devtools_mode, cc.multi_gpu_mode,
                     cc.gpus_ready}) {
    AppendU32(msg, v);
  }
  AppendU32(msg, static_cast<uint32_t>(gpus.size()));
  for (size_t i = 0; i < gpus.size(); ++i) {
    const GpuSetEntry& g = gpus[i];
    if (g.uuid.empty() || g.uuid.size() > kMaxGpuUuidSize) {
      return absl::InvalidArgumentError(absl::StrCat("GPU ", i, ": the UUID must be 1 to ",
                                                     kMaxGpuUuidSize, " bytes, got ",
                                                     g.uuid.size()));
    }
    if (g.report_digest.size() != 48) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GPU ", i, ": the report digest must be 48 bytes (SHA-384), got ", g.report_digest.size()));
    }
    AppendU32(msg, static_cast<uint32_t>(i));
    msg.push_back(static_cast<char>(g.uuid.size() >> 8));
    msg.push_back(static_cast<char>(g.uuid.size() & 0xff));
    msg += g.uuid;
    msg += g.report_digest;
  }
  return crypto::Sha384(msg);
}

absl::StatusOr<std::string> GpuSetDigest(const contracts::Claims& claims) {
  if (!claims.gpu_cc) {
    return absl::InvalidArgumentError("claims carry GPUs without their CC state");
  }
  std::vector<GpuSetEntry> entries;
  for (const contracts::GpuClaims& g : claims.gpus) entries.push_back({g.uuid, g.report_digest});
  return GpuSetDigest(*claims.gpu_cc, entries);
}

absl::Status CheckReportData(const contracts::Claims& claims, absl::string_view expected) {
  if (expected.size() != kReportDataSize) {
    return absl::InvalidArgumentError(absl::StrCat("expected report data must be ", kReportDataSize,
                                                   " bytes, got ", expected.size()));
  }
  if (claims.report_data.size() != kReportDataSize) {
    return absl::UnauthenticatedError(absl::StrCat("evidence carries ", claims.report_data.size(),
                                                   " bytes of report data, expected ",
                                                   kReportDataSize));
  }
  if (CRYPTO_memcmp(claims.report_data.data(), expected.data(), kReportDataSize) != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "report data does not bind this admission (nonce, job id, Ed25519 key, age recipient): "
        "expected ",
        base::HexEncode(expected), ", evidence carries ", base::HexEncode(claims.report_data)));
  }
  return absl::OkStatus();
}

std::vector<std::string> BindingProblems(const contracts::Claims& claims, const BindingInputs& in) {
  if (absl::Status st = CheckInputs(in); !st.ok()) return {std::string(st.message())};
  if (!HasGpuPart(claims)) {
    absl::Status st = CheckReportData(claims, *ExpectedReportData(in));
    if (st.ok()) return {};
    return {std::string(st.message())};
  }
  std::vector<std::string> problems;
  // GPU -> admission: every report was made over this admission's nonce for its position.
  for (size_t i = 0; i < claims.gpus.size(); ++i) {
    const contracts::GpuClaims& g = claims.gpus[i];
    const std::string who = absl::StrCat("GPU ", i, " (", g.uuid, ")");
    if (g.index != i) {
      problems.push_back(absl::StrCat("GPU ", i, " is at position ", i, " but claims index ",
                                      g.index));
      continue;
    }
    std::string expected = *GpuNonce(in, static_cast<uint32_t>(i));
    if (!Equal(g.nonce, expected)) {
      problems.push_back(absl::StrCat(who, ": its report's nonce ", base::HexEncode(g.nonce),
                                      " is not the one this admission derives for GPU ", i, " (",
                                      base::HexEncode(expected),
                                      "): the report was made for another admission or job"));
    }
  }
  // Admission -> GPUs: the CPU report data commits to exactly these GPUs and this CC state.
  absl::StatusOr<std::string> set = GpuSetDigest(claims);
  if (!set.ok()) {
    problems.push_back(std::string(set.status().message()));
    return problems;
  }
  std::string expected = *ExpectedReportData(in, *set);
  if (!Equal(claims.report_data, expected)) {
    problems.push_back(absl::StrCat(
        "report data does not commit to this admission and this set of GPUs (nonce, job id, "
        "Ed25519 key, age recipient, GPU reports, UUIDs, CC state): expected ",
        base::HexEncode(expected), ", evidence carries ", base::HexEncode(claims.report_data)));
  }
  return problems;
}

absl::Status CheckBinding(const contracts::Claims& claims, const BindingInputs& in) {
  TRIAD_RETURN_IF_ERROR(CheckInputs(in));
  std::vector<std::string> problems = BindingProblems(claims, in);
  if (problems.empty()) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrJoin(problems, "; "));
}

}  // namespace triad::attestation
