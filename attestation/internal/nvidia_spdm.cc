#include "attestation/internal/nvidia_spdm.h"

#include "absl/strings/str_cat.h"
#include "attestation/internal/le_reader.h"

namespace triad::attestation::internal {
namespace {

constexpr uint8_t kGetMeasurements = 0xE0;
constexpr uint8_t kMeasurements = 0x60;
constexpr uint8_t kDmtfSpecification = 1;  // MeasurementSpecification bit 0: DMTF

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("SPDM report: ", what));
}

}  // namespace

const std::string* SpdmReport::Opaque(uint16_t type) const {
  for (const auto& [t, value] : opaque) {
    if (t == type) return &value;
  }
  return nullptr;
}

absl::StatusOr<SpdmReport> ParseSpdmReport(absl::string_view bytes) {
  if (bytes.size() > kMaxGpuReportSize) {
    return absl::ResourceExhaustedError(
        absl::StrCat("SPDM report: ", bytes.size(), " bytes, more than ", kMaxGpuReportSize));
  }
  SpdmReport rep;
  LeReader r(bytes);
  uint8_t code = 0;
  if (!r.U8(&rep.version) || !r.U8(&code) || !r.U8(&rep.request_param1) ||
      !r.U8(&rep.request_param2) || !r.Bytes(kSpdmNonceSize, &rep.nonce) || !r.U8(&rep.slot_id)) {
    return Malformed(absl::StrCat(bytes.size(), " bytes, shorter than the ", kSpdmRequestSize,
                                  "-byte GET_MEASUREMENTS request"));
  }
  if (code != kGetMeasurements) {
    return Malformed(absl::StrCat("the request code is 0x", absl::Hex(code, absl::kZeroPad2),
                                  ", not GET_MEASUREMENTS (0xe0)"));
  }
  uint8_t version = 0;
  uint8_t param1 = 0;
  uint8_t param2 = 0;
  uint8_t blocks = 0;
  uint32_t record_length = 0;
  if (!r.U8(&version) || !r.U8(&code) || !r.U8(&param1) || !r.U8(&param2) || !r.U8(&blocks) ||
      !r.U24(&record_length)) {
    return Malformed("the MEASUREMENTS response header is truncated");
  }
  if (code != kMeasurements) {
    return Malformed(absl::StrCat("the response code is 0x", absl::Hex(code, absl::kZeroPad2),
                                  ", not MEASUREMENTS (0x60)"));
  }
  if (version != rep.version) {
    return Malformed(absl::StrCat("the response is SPDM version 0x",
                                  absl::Hex(version, absl::kZeroPad2), ", the request 0x",
                                  absl::Hex(rep.version, absl::kZeroPad2)));
  }
  std::string record;
  if (!r.Bytes(record_length, &record)) {
    return Malformed(absl::StrCat("the measurement record (", record_length,
                                  " bytes) runs past the end"));
  }
  LeReader m(record);
  while (m.remaining() > 0) {
    SpdmMeasurement block;
    uint8_t spec = 0;
    uint16_t size = 0;
    uint16_t value_size = 0;
    if (!m.U8(&block.index) || !m.U8(&spec) || !m.U16(&size)) {
      return Malformed(absl::StrCat("measurement block ", rep.measurements.size() + 1,
                                    ": truncated header"));
    }
    if (spec != kDmtfSpecification) {
      return Malformed(absl::StrCat("measurement block ", int{block.index},
                                    ": specification 0x", absl::Hex(spec, absl::kZeroPad2),
                                    " is not DMTF (0x01)"));
    }
    if (!m.U8(&block.value_type) || !m.U16(&value_size) || size != 3 + size_t{value_size} ||
        !m.Bytes(value_size, &block.value)) {
      return Malformed(absl::StrCat("measurement block ", int{block.index},
                                    ": its sizes do not add up"));
    }
    rep.measurements.push_back(std::move(block));
  }
  if (rep.measurements.size() != blocks) {
    return Malformed(absl::StrCat("the response announces ", int{blocks},
                                  " measurement blocks; the record holds ",
                                  rep.measurements.size()));
  }
  uint16_t opaque_length = 0;
  std::string opaque;
  if (!r.Bytes(kSpdmNonceSize, &rep.responder_nonce) || !r.U16(&opaque_length) ||
      !r.Bytes(opaque_length, &opaque)) {
    return Malformed("the responder nonce or the opaque data runs past the end");
  }
  LeReader o(opaque);
  while (o.remaining() > 0) {
    uint16_t type = 0;
    uint16_t length = 0;
    std::string value;
    if (!o.U16(&type) || !o.U16(&length) || !o.Bytes(length, &value)) {
      return Malformed(absl::StrCat("opaque field ", rep.opaque.size() + 1, " runs past the end"));
    }
    rep.opaque.emplace_back(type, std::move(value));
  }
  const size_t signed_size = r.pos();
  if (!r.Bytes(kSpdmSignatureSize, &rep.signature)) {
    return Malformed(absl::StrCat("the signature is truncated: ", r.remaining(), " of ",
                                  kSpdmSignatureSize, " bytes"));
  }
  // What follows the signature is not signed: zero padding is tolerated and reported, anything
  // else is refused (it cannot change the verdict, but a report that carries it was not produced
  // by the GPU and its transport as they are documented).
  const size_t rest = r.remaining();
  std::string tail;
  r.Bytes(rest, &tail);
  if (tail.find_first_not_of('\0') != std::string::npos) {
    return Malformed(absl::StrCat(rest, rest == 1 ? " byte follows" : " bytes follow",
                                  " the signature and not all are zero"));
  }
  rep.trailing_zero_bytes = rest;
  rep.signed_part.assign(bytes.data(), signed_size);
  return rep;
}

}  // namespace triad::attestation::internal
