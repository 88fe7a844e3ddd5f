// Fuzzes the TDX quote parser and what it hands on: the PEM PCK chain of the certification data and
// the PCK certificate's SGX extension.
#include <cstddef>
#include <cstdint>

#include "attestation/internal/tdx_pck.h"
#include "attestation/internal/tdx_quote.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triad::attestation::internal;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(bytes);
  if (!quote.ok()) return 0;
  // The signed part is the quote's own prefix, and the fixed-size fields have their sizes.
  if (bytes.substr(0, quote->signed_part.size()) != quote->signed_part) __builtin_trap();
  if (quote->signature.size() != 64 || quote->attestation_key.size() != 64 ||
      quote->qe_report.raw.size() != kSgxReportBytes || quote->body.report_data.size() != 64) {
    __builtin_trap();
  }
  auto certs = ParsePemCertificates(quote->pck_chain_pem, 4);
  if (!certs.ok()) return 0;
  for (const auto& cert : *certs) (void)ParsePckSgxExtensions(cert.get());
  return 0;
}
