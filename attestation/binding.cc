#include "attestation/binding.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::attestation {

absl::StatusOr<std::string> ExpectedReportData(const BindingInputs& in) {
  if (in.nonce.size() != kBindingNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat("attestation nonce must be ", kBindingNonceSize,
                                                   " bytes, got ", in.nonce.size()));
  }
  if (in.job_id.empty() || in.job_id.size() > kMaxJobIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("job id must be 1 to ", kMaxJobIdSize, " bytes, got ", in.job_id.size()));
  }
  std::string msg = kBindingContext;
  msg += in.nonce;
  msg += in.job_id;
  msg += in.key.raw();
  msg += in.recipient.ToString();
  return crypto::Sha512(msg);
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

absl::Status CheckBinding(const contracts::Claims& claims, const BindingInputs& in) {
  TRIAD_ASSIGN_OR_RETURN(std::string expected, ExpectedReportData(in));
  return CheckReportData(claims, expected);
}

}  // namespace triad::attestation
