#include "attestation/internal/snp_certs.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/status.h"

namespace triad::attestation::internal {
namespace {

using crypto::SslPtr;

uint32_t Le32(absl::string_view b, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[off + i]);
  return v;
}

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// One DER certificate that must span all of `der`.
absl::StatusOr<SslPtr<X509>> ParseDer(absl::string_view der, absl::string_view what) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  SslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    crypto::ClearOpenSslErrors();
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a DER X.509 certificate"));
  }
  return cert;
}

absl::StatusOr<std::vector<SslPtr<X509>>> ParsePemBundle(absl::string_view pem) {
  SslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return crypto::OpenSslError("BIO_new_mem_buf");
  std::vector<SslPtr<X509>> certs;
  for (;;) {
    SslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      unsigned long err = ERR_peek_last_error();
      crypto::ClearOpenSslErrors();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
      return absl::InvalidArgumentError(
          absl::StrCat("PEM certificate ", certs.size() + 1, " of the bundle does not parse"));
    }
    certs.push_back(std::move(cert));
    if (certs.size() > static_cast<size_t>(kMaxSnpCertsInBundle)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM bundle holds more than ", kMaxSnpCertsInBundle, " certificates"));
    }
  }
  if (certs.empty()) return absl::InvalidArgumentError("PEM bundle holds no certificate");
  return certs;
}

std::string NameCn(X509_NAME* name) {
  if (name == nullptr) return "";
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  X509_NAME_ENTRY* e = X509_NAME_get_entry(name, idx);
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(e);
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) {
    crypto::ClearOpenSslErrors();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::optional<AmdLeafKind> LeafKind(X509* cert) {
  std::string cn = SubjectCn(cert);
  if (cn == "SEV-VCEK") return AmdLeafKind::kVcek;
  if (cn == "SEV-VLEK") return AmdLeafKind::kVlek;
  return std::nullopt;
}

// Picks the VCEK/VLEK out of `all`; the rest become intermediates.
absl::StatusOr<SnpCertSet> SplitLeaf(std::vector<SslPtr<X509>> all) {
  SnpCertSet set;
  for (SslPtr<X509>& c : all) {
    std::optional<AmdLeafKind> kind = LeafKind(c.get());
    if (!kind) {
      set.intermediates.push_back(std::move(c));
      continue;
    }
    if (set.leaf != nullptr) {
      return absl::InvalidArgumentError(
          "the certificates hold more than one VCEK/VLEK (CN=SEV-VCEK or SEV-VLEK)");
    }
    set.leaf = std::move(c);
    set.kind = *kind;
  }
  if (set.leaf == nullptr) {
    return absl::InvalidArgumentError(
        "the certificates hold no VCEK or VLEK (a certificate with CN=SEV-VCEK or CN=SEV-VLEK)");
  }
  return set;
}

absl::StatusOr<SnpCertSet> LoadFromTable(absl::string_view blob) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<SnpCertTableEntry> entries,
                         base::Annotate(ParseSnpCertTable(blob), "certificate table"));
  const std::string vcek = GuidBytes(kSnpGuidVcek), vlek = GuidBytes(kSnpGuidVlek);
  const std::string ask = GuidBytes(kSnpGuidAsk), ark = GuidBytes(kSnpGuidArk);
  SnpCertSet set;
  for (const SnpCertTableEntry& e : entries) {
    bool is_leaf = e.guid == vcek || e.guid == vlek;
    if (!is_leaf && e.guid != ask && e.guid != ark) continue;  // CRLs, vendor entries: not ours
    std::string what = absl::StrCat("certificate table entry ", GuidText(e.guid));
    TRIAD_ASSIGN_OR_RETURN(SslPtr<X509> cert, ParseDer(e.data, what));
    if (!is_leaf) {
      set.intermediates.push_back(std::move(cert));
      continue;
    }
    if (set.leaf != nullptr) {
      return absl::InvalidArgumentError("certificate table holds both a VCEK and a VLEK");
    }
    set.kind = e.guid == vcek ? AmdLeafKind::kVcek : AmdLeafKind::kVlek;
    std::optional<AmdLeafKind> cn_kind = LeafKind(cert.get());
    if (cn_kind != set.kind) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " (", AmdLeafKindName(set.kind),
                       ") holds a certificate with CN=", SubjectCn(cert.get())));
    }
    set.leaf = std::move(cert);
  }
  if (set.leaf == nullptr)
    return absl::InvalidArgumentError("certificate table holds no VCEK or VLEK entry");
  return set;
}

absl::StatusOr<std::optional<uint8_t>> ReadSpl(X509* cert, const char* oid_text) {
  SslPtr<ASN1_OBJECT> oid(OBJ_txt2obj(oid_text, 1));
  if (oid == nullptr) return crypto::OpenSslError("OBJ_txt2obj");
  int idx = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (idx < 0) return std::optional<uint8_t>();
  if (X509_get_ext_by_OBJ(cert, oid.get(), idx) >= 0) {
    return absl::InvalidArgumentError(absl::StrCat("extension ", oid_text, " appears twice"));
  }
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  const unsigned char* p = ASN1_STRING_get0_data(data);
  const unsigned char* end = p + ASN1_STRING_length(data);
  SslPtr<ASN1_STRING> value(d2i_ASN1_INTEGER(nullptr, &p, ASN1_STRING_length(data)));
  int64_t v = -1;
  if (value == nullptr || p != end || ASN1_INTEGER_get_int64(&v, value.get()) != 1 || v < 0 ||
      v > 255) {
    crypto::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("extension ", oid_text, " is not a DER INTEGER from 0 to 255"));
  }
  return std::optional<uint8_t>(static_cast<uint8_t>(v));
}

// The raw value of an extension, or nullopt; fails if it appears twice.
absl::StatusOr<std::optional<std::string>> RawExtension(X509* cert, const char* oid_text) {
  SslPtr<ASN1_OBJECT> oid(OBJ_txt2obj(oid_text, 1));
  if (oid == nullptr) return crypto::OpenSslError("OBJ_txt2obj");
  int idx = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (idx < 0) return std::optional<std::string>();
  if (X509_get_ext_by_OBJ(cert, oid.get(), idx) >= 0) {
    return absl::InvalidArgumentError(absl::StrCat("extension ", oid_text, " appears twice"));
  }
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  return std::optional<std::string>(
      std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                  static_cast<size_t>(ASN1_STRING_length(data))));
}

std::string DescribeCert(X509* cert, int depth, absl::string_view leaf_name) {
  if (depth == 0) return absl::StrCat(leaf_name, " certificate");
  std::string cn = cert != nullptr ? SubjectCn(cert) : "";
  return absl::StrCat(cn.empty() ? "intermediate" : cn, " certificate");
}

std::string AsnTime(const ASN1_TIME* t) {
  struct tm tm;
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable time)";
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

struct ChainErrors {
  absl::Time now;
  std::string leaf_name;
  std::string ark_cn;
  std::vector<std::string> reasons;
  std::set<std::string> seen;  // OpenSSL may report one problem under several codes
};

std::string ChainErrorText(int err, int depth, X509* cert, const ChainErrors& ce) {
  std::string what = DescribeCert(cert, depth, ce.leaf_name);
  std::string at = base::FormatRfc3339(ce.now);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat(what, " expired at ", AsnTime(X509_get0_notAfter(cert)),
                          " (verification time ", at, ")");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::StrCat(what, " is not valid before ", AsnTime(X509_get0_notBefore(cert)),
                          " (verification time ", at, ")");
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return absl::StrCat(what, " signature does not verify under its issuer ",
                          cert != nullptr ? IssuerCn(cert) : "");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return absl::StrCat(what, " (issuer ", cert != nullptr ? IssuerCn(cert) : "?",
                          ") does not chain to the pinned ", ce.ark_cn);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return absl::StrCat(what, " is self-signed and is not the pinned ", ce.ark_cn);
    default:
      return absl::StrCat(what, ": ", X509_verify_cert_error_string(err));
  }
}

int CollectChainErrors(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* ce = static_cast<ChainErrors*>(X509_STORE_CTX_get_app_data(ctx));
  int err = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  std::string text = ChainErrorText(err, depth, X509_STORE_CTX_get_current_cert(ctx), *ce);
  if (ce->seen.insert(text).second) ce->reasons.push_back(std::move(text));
  // Keep going: every failed check is reported, and the outcome is decided by `reasons`, not by the
  // return value of X509_verify_cert.
  return 1;
}

}  // namespace

std::string GuidBytes(absl::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
    return "";
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(c);
  }
  absl::StatusOr<std::string> b = base::HexDecode(hex);
  return b.ok() ? *b : "";
}

std::string GuidText(absl::string_view bytes) {
  std::string hex = base::HexEncode(bytes);
  if (hex.size() != 32) return hex;
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

absl::StatusOr<std::vector<SnpCertTableEntry>> ParseSnpCertTable(absl::string_view blob) {
  if (blob.size() > kSnpCertTableMaxSize) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "certificate table is ", blob.size(), " bytes; the limit is ", kSnpCertTableMaxSize));
  }
  const std::string zero_guid(16, '\0');
  std::vector<SnpCertTableEntry> entries;
  size_t n = 0;  // entries before the terminator
  for (;; ++n) {
    size_t off = n * kSnpCertTableEntrySize;
    if (off + kSnpCertTableEntrySize > blob.size()) {
      return absl::InvalidArgumentError("certificate table has no all-zero terminating entry");
    }
    absl::string_view e = blob.substr(off, kSnpCertTableEntrySize);
    if (e.substr(0, 16) == zero_guid) {
      if (Le32(e, 16) != 0 || Le32(e, 20) != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "certificate table entry ", n, " has a zero GUID but a non-zero offset or length"));
      }
      break;
    }
    if (n == kSnpCertTableMaxEntries) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate table has more than ", kSnpCertTableMaxEntries, " entries"));
    }
  }
  const uint64_t data_start = (n + 1) * kSnpCertTableEntrySize;
  for (size_t i = 0; i < n; ++i) {
    absl::string_view e = blob.substr(i * kSnpCertTableEntrySize, kSnpCertTableEntrySize);
    SnpCertTableEntry entry;
    entry.guid = std::string(e.substr(0, 16));
    uint64_t offset = Le32(e, 16), length = Le32(e, 20);
    std::string which =
        absl::StrCat("certificate table entry ", i, " (", GuidText(entry.guid), ")");
    if (length == 0) return absl::InvalidArgumentError(absl::StrCat(which, " is empty"));
    if (offset < data_start || offset + length > blob.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, " points at bytes ", offset, "..", offset + length,
                       ", outside the certificate area ", data_start, "..", blob.size()));
    }
    for (const SnpCertTableEntry& other : entries) {
      if (other.guid == entry.guid)
        return absl::InvalidArgumentError(absl::StrCat(which, " appears twice"));
    }
    entry.data = std::string(blob.substr(offset, length));
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string SerializeSnpCertTable(const std::vector<SnpCertTableEntry>& entries) {
  std::string table;
  uint32_t offset = static_cast<uint32_t>((entries.size() + 1) * kSnpCertTableEntrySize);
  for (const SnpCertTableEntry& e : entries) {
    table.append(e.guid);
    PutLe32(&table, offset);
    PutLe32(&table, static_cast<uint32_t>(e.data.size()));
    offset += static_cast<uint32_t>(e.data.size());
  }
  table.append(kSnpCertTableEntrySize, '\0');
  for (const SnpCertTableEntry& e : entries) table.append(e.data);
  return table;
}

const char* AmdLeafKindName(AmdLeafKind k) { return k == AmdLeafKind::kVcek ? "VCEK" : "VLEK"; }

absl::StatusOr<SnpCertSet> LoadSnpCerts(absl::string_view certs) {
  if (certs.empty()) {
    return absl::InvalidArgumentError("no VCEK or VLEK certificate was supplied with the report");
  }
  if (certs.size() > kMaxSnpCertsSize) {
    return absl::ResourceExhaustedError(
        absl::StrCat("certificates are ", certs.size(), " bytes; the limit is ", kMaxSnpCertsSize));
  }
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(certs);
  if (absl::StartsWith(trimmed, "-----BEGIN")) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<SslPtr<X509>> all, ParsePemBundle(certs));
    return SplitLeaf(std::move(all));
  }
  // A DER certificate starts with a SEQUENCE; a table starts with a GUID. Try DER first, and fall
  // back to the table only when the bytes are not exactly one certificate.
  if (static_cast<uint8_t>(certs[0]) == 0x30) {
    absl::StatusOr<SslPtr<X509>> der = ParseDer(certs, "certificate");
    if (der.ok()) {
      std::vector<SslPtr<X509>> one;
      one.push_back(std::move(*der));
      return SplitLeaf(std::move(one));
    }
  }
  return LoadFromTable(certs);
}

bool AmdExtensions::IsMalformed(absl::string_view oid) const {
  return std::find(malformed.begin(), malformed.end(), oid) != malformed.end();
}

AmdExtensions ReadAmdExtensions(X509* cert) {
  AmdExtensions ext;
  auto note = [&ext](const char* oid, const absl::Status& st) {
    ext.errors.push_back(std::string(st.message()));
    ext.malformed.push_back(oid);
  };
  const std::pair<const char*, std::optional<uint8_t>*> spls[] = {
      {kOidBlSpl, &ext.bl_spl},       {kOidTeeSpl, &ext.tee_spl}, {kOidSnpSpl, &ext.snp_spl},
      {kOidUcodeSpl, &ext.ucode_spl}, {kOidFmcSpl, &ext.fmc_spl},
  };
  for (const auto& [oid, field] : spls) {
    absl::StatusOr<std::optional<uint8_t>> v = ReadSpl(cert, oid);
    if (v.ok()) {
      *field = *v;
    } else {
      note(oid, v.status());
    }
  }

  absl::StatusOr<std::optional<std::string>> name = RawExtension(cert, kOidProductName);
  if (!name.ok()) {
    note(kOidProductName, name.status());
  } else if (name->has_value()) {
    const std::string& der = **name;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    SslPtr<ASN1_STRING> s(d2i_ASN1_IA5STRING(nullptr, &p, static_cast<long>(der.size())));
    if (s == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      crypto::ClearOpenSslErrors();
      note(kOidProductName,
           absl::InvalidArgumentError(
               absl::StrCat("extension ", kOidProductName, " (productName) is not an IA5String")));
    } else {
      ext.product_name = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s.get())),
                                     static_cast<size_t>(ASN1_STRING_length(s.get())));
    }
  }

  absl::StatusOr<std::optional<std::string>> hwid = RawExtension(cert, kOidHwid);
  if (!hwid.ok()) {
    note(kOidHwid, hwid.status());
  } else if (hwid->has_value()) {
    // Raw bytes (64 or 8), or DER OCTET STRING 04 40 || 64 bytes / 04 08 || 8 bytes. The lengths of
    // the two forms differ, so the encoding is never ambiguous.
    const std::string& h = **hwid;
    if (h.size() == 64 || h.size() == 8) {
      ext.hwid = h;
    } else if ((h.size() == 66 || h.size() == 10) && h[0] == 0x04 &&
               static_cast<size_t>(static_cast<uint8_t>(h[1])) == h.size() - 2) {
      ext.hwid = h.substr(2);
    } else {
      note(kOidHwid,
           absl::InvalidArgumentError(absl::StrCat(
               "extension ", kOidHwid, " (hwID) is ", h.size(),
               " bytes; expected 64 or 8 raw bytes, or a DER OCTET STRING of 64 or 8 bytes")));
    }
  }
  return ext;
}

std::string AmdProductFromCert(X509* cert, const AmdExtensions& ext) {
  if (ext.product_name) {
    absl::string_view name = *ext.product_name;
    return std::string(name.substr(0, name.find('-')));
  }
  const std::string issuer = IssuerCn(cert);
  for (absl::string_view prefix : {"SEV-VLEK-", "SEV-"}) {
    if (absl::StartsWith(issuer, prefix)) return issuer.substr(prefix.size());
  }
  return "";
}

std::vector<std::string> VerifyAmdChain(X509* leaf, const std::vector<X509*>& untrusted, X509* ark,
                                        absl::Time now, absl::string_view leaf_name,
                                        std::vector<X509*>* path) {
  ChainErrors ce;
  ce.now = now;
  ce.leaf_name = std::string(leaf_name);
  ce.ark_cn = SubjectCn(ark);
  auto internal_error = [&](absl::string_view what) {
    crypto::ClearOpenSslErrors();
    return std::vector<std::string>{
        absl::StrCat("internal error verifying the certificate chain: ", what)};
  };
  // Declared so that the context goes first: it borrows the store and the stack.
  SslPtr<X509_STORE> store(X509_STORE_new());
  SslPtr<STACK_OF(X509)> chain_in(sk_X509_new_null());
  SslPtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr || chain_in == nullptr)
    return internal_error("allocation");
  if (X509_STORE_add_cert(store.get(), ark) != 1) return internal_error("X509_STORE_add_cert");
  for (X509* c : untrusted) {
    if (sk_X509_push(chain_in.get(), c) <= 0) return internal_error("sk_X509_push");
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain_in.get()) != 1) {
    return internal_error("X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  // The ARK is pinned, but its own PSS self-signature is checked as well.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CHECK_SS_SIGNATURE);
  X509_STORE_CTX_set_app_data(ctx.get(), &ce);
  X509_STORE_CTX_set_verify_cb(ctx.get(), CollectChainErrors);
  // Both the callback's findings and the return value decide: X509_verify_cert can fail without
  // calling the callback (an internal error, a path it could not build for a reason it reports
  // only in the context's error).
  const int verified = X509_verify_cert(ctx.get());
  crypto::ClearOpenSslErrors();
  if (!ce.reasons.empty()) return ce.reasons;
  if (verified != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return {absl::StrCat("certificate chain does not verify: ",
                         err != X509_V_OK ? X509_verify_cert_error_string(err)
                                          : "X509_verify_cert failed without a reason")};
  }

  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  int n = chain != nullptr ? sk_X509_num(chain) : 0;
  if (n != 3) {
    return {absl::StrCat("certificate chain has ", n, " certificates; an AMD chain is ", leaf_name,
                         ", ASK/ASVK, ARK")};
  }
  std::vector<std::string> reasons;
  if (path != nullptr) path->clear();
  for (int i = 0; i < n; ++i) {
    X509* c = sk_X509_value(chain, i);
    if (path != nullptr) path->push_back(c);
    int md = NID_undef, pk = NID_undef;
    if (X509_get_signature_info(c, &md, &pk, nullptr, nullptr) != 1 || pk != NID_rsassaPss ||
        md != NID_sha384) {
      crypto::ClearOpenSslErrors();
      reasons.push_back(absl::StrCat(DescribeCert(c, i, leaf_name),
                                     " is not signed with RSASSA-PSS and SHA-384"));
    }
  }
  if (!reasons.empty() && path != nullptr) path->clear();
  return reasons;
}

absl::StatusOr<SslPtr<X509>> ParsePemCertificate(absl::string_view pem) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<SslPtr<X509>> certs, ParsePemBundle(pem));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one PEM certificate, found ", certs.size()));
  }
  return std::move(certs[0]);
}

std::string SubjectCn(X509* cert) { return NameCn(X509_get_subject_name(cert)); }
std::string IssuerCn(X509* cert) { return NameCn(X509_get_issuer_name(cert)); }

}  // namespace triad::attestation::internal
