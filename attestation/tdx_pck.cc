// The SGX extension of PCK certificates. OpenSSL does not decode the SGX extension,
// so its DER is walked here with a small bounded reader (DER: definite lengths, minimal encodings).
#include "attestation/internal/tdx_pck.h"

#include <openssl/objects.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"

namespace triad::attestation::internal {
namespace {


// DER tags used below (X.690).
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagEnumerated = 0x0a;
constexpr uint8_t kTagSequence = 0x30;

// OID 1.2.840.113741.1.13.1 (Intel SGX extensions), content octets. Sub-extensions append one arc
// (.1 .. .7), TCB components two (.2.1 .. .2.18); all those arcs are below 128, i.e. one octet.
constexpr absl::string_view kSgxOid("\x2a\x86\x48\x86\xf8\x4d\x01\x0d\x01", 9);

struct Tlv {
  uint8_t tag = 0;
  absl::string_view value;
};

// Reads one DER TLV from the front of `in`. Low tag numbers only, definite minimal lengths.
bool ReadTlv(absl::string_view* in, Tlv* out) {
  if (in->size() < 2) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in->data());
  uint8_t tag = p[0];
  if ((tag & 0x1f) == 0x1f) return false;
  size_t len = p[1];
  size_t header = 2;
  if (len & 0x80) {
    size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in->size() < 2 + n) return false;
    if (p[2] == 0) return false;  // not minimal
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | p[2 + i];
    if (len < 0x80) return false;  // should have used the short form
    header += n;
  }
  if (len > in->size() - header) return false;
  out->tag = tag;
  out->value = in->substr(header, len);
  in->remove_prefix(header + len);
  return true;
}

// A non-negative DER INTEGER (or ENUMERATED) no larger than `max`.
bool ReadUint(absl::string_view v, uint32_t max, uint32_t* out) {
  if (v.empty() || v.size() > 5) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  if (p[0] & 0x80) return false;                                  // negative
  if (v.size() > 1 && p[0] == 0 && !(p[1] & 0x80)) return false;  // not minimal
  uint64_t value = 0;
  for (size_t i = 0; i < v.size(); ++i) value = (value << 8) | p[i];
  if (value > max) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

// For an OID below the SGX arc, the arcs after it (e.g. {2, 17} for .2.17); false otherwise.
bool SgxArcs(absl::string_view oid, std::vector<int>* arcs) {
  if (oid.size() <= kSgxOid.size() || oid.substr(0, kSgxOid.size()) != kSgxOid) return false;
  arcs->clear();
  for (char c : oid.substr(kSgxOid.size())) {
    if (static_cast<unsigned char>(c) & 0x80) return false;  // multi-octet arcs are none of ours
    arcs->push_back(static_cast<unsigned char>(c));
  }
  return true;
}

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("PCK certificate SGX extension: ", what));
}

// Reads a SEQUENCE { OID, value } pair.
bool ReadOidPair(absl::string_view* in, absl::string_view* oid, Tlv* value) {
  Tlv pair, id;
  if (!ReadTlv(in, &pair) || pair.tag != kTagSequence) return false;
  absl::string_view body = pair.value;
  if (!ReadTlv(&body, &id) || id.tag != kTagOid || !ReadTlv(&body, value) || !body.empty()) {
    return false;
  }
  *oid = id.value;
  return true;
}

// .2: SEQUENCE of 18 pairs: .2.1..16 INTEGER (SGX TCB component SVNs), .2.17 INTEGER (PCESVN),
// .2.18 OCTET STRING[16] (CPUSVN).
absl::Status ParseTcb(absl::string_view seq, PckSgxExtensions* ext) {
  uint32_t seen = 0;  // bit i: arc .2.(i+1)
  std::vector<int> arcs;
  while (!seq.empty()) {
    absl::string_view oid;
    Tlv value;
    if (!ReadOidPair(&seq, &oid, &value)) return Bad("TCB entry is not an (OID, value) pair");
    if (!SgxArcs(oid, &arcs) || arcs.size() != 2 || arcs[0] != 2 || arcs[1] < 1 || arcs[1] > 18) {
      return Bad("TCB entry has an unexpected OID");
    }
    int arc = arcs[1];
    if (seen & (1u << (arc - 1))) return Bad(absl::StrCat("TCB entry .2.", arc, " appears twice"));
    seen |= 1u << (arc - 1);
    if (arc <= 16) {
      uint32_t svn = 0;
      if (value.tag != kTagInteger || !ReadUint(value.value, 255, &svn)) {
        return Bad(absl::StrCat("SGX TCB component ", arc, " is not an integer from 0 to 255"));
      }
      ext->sgx_tcb_components[arc - 1] = static_cast<uint8_t>(svn);
    } else if (arc == 17) {
      if (value.tag != kTagInteger || !ReadUint(value.value, 65535, &ext->pce_svn)) {
        return Bad("PCESVN is not an integer from 0 to 65535");
      }
    } else {
      if (value.tag != kTagOctetString || value.value.size() != 16) {
        return Bad("CPUSVN is not a 16-byte octet string");
      }
      ext->cpu_svn = std::string(value.value);
    }
  }
  if (seen != (1u << 18) - 1) return Bad("TCB lacks some of its 18 entries");
  return absl::OkStatus();
}

absl::Status OctetString(const Tlv& value, size_t size, absl::string_view name, std::string* out) {
  if (value.tag != kTagOctetString || value.value.size() != size) {
    return Bad(absl::StrCat(name, " is not a ", size, "-byte octet string"));
  }
  *out = std::string(value.value);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PckSgxExtensions> ParseSgxExtensionValue(absl::string_view der) {
  Tlv outer;
  if (!ReadTlv(&der, &outer) || outer.tag != kTagSequence || !der.empty()) {
    return Bad("not one DER SEQUENCE");
  }
  PckSgxExtensions ext;
  uint32_t seen = 0;
  absl::string_view seq = outer.value;
  std::vector<int> arcs;
  while (!seq.empty()) {
    absl::string_view oid;
    Tlv value;
    if (!ReadOidPair(&seq, &oid, &value)) return Bad("entry is not an (OID, value) pair");
    if (!SgxArcs(oid, &arcs) || arcs.size() != 1) continue;  // not a top-level SGX entry: skip
    int arc = arcs[0];
    if (arc >= 1 && arc <= 31) {
      if (seen & (1u << arc)) return Bad(absl::StrCat("entry .", arc, " appears twice"));
      seen |= 1u << arc;
    }
    absl::Status st;
    switch (arc) {
      case 1:
        st = OctetString(value, 16, "PPID", &ext.ppid);
        break;
      case 2:
        st = value.tag == kTagSequence ? ParseTcb(value.value, &ext) : Bad("TCB is not a SEQUENCE");
        break;
      case 3:
        st = OctetString(value, 2, "PCE-ID", &ext.pce_id);
        break;
      case 4:
        st = OctetString(value, 6, "FMSPC", &ext.fmspc);
        break;
      case 5: {
        uint32_t type = 0;
        if (value.tag != kTagEnumerated || !ReadUint(value.value, 2, &type)) {
          st = Bad("SGX type is not an enumerated 0, 1 or 2");
        }
        ext.sgx_type = static_cast<int>(type);
        break;
      }
      case 6:
        st = OctetString(value, 16, "PlatformInstanceID", &ext.platform_instance_id);
        break;
      default:
        break;  // .7 Configuration and later additions carry nothing the verifier uses
    }
    if (!st.ok()) return st;
  }
  for (int arc : {1, 2, 3, 4, 5}) {
    if (!(seen & (1u << arc))) return Bad(absl::StrCat("entry .", arc, " is missing"));
  }
  return ext;
}

absl::StatusOr<PckSgxExtensions> ParsePckSgxExtensions(X509* pck) {
  crypto::SslPtr<ASN1_OBJECT> oid(OBJ_txt2obj("1.2.840.113741.1.13.1", /*no_name=*/1));
  if (oid == nullptr) return crypto::OpenSslError("creating the SGX extension OID");
  int idx = X509_get_ext_by_OBJ(pck, oid.get(), -1);
  if (idx < 0) return Bad("missing from the PCK certificate");
  if (X509_get_ext_by_OBJ(pck, oid.get(), idx) >= 0) return Bad("appears twice");
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
  absl::string_view der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                        static_cast<size_t>(ASN1_STRING_length(data)));
  return ParseSgxExtensionValue(der);
}

}  // namespace triad::attestation::internal
