#include "attestation/internal/nvidia_rim.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
// xmlsec.h first, on its own: the other xmlsec headers use its definitions.
#include <xmlsec/xmlsec.h>

#include <xmlsec/errors.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include <memory>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {
namespace {

constexpr char kSwidNs[] = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
constexpr char kSha384Ns[] = "http://www.w3.org/2001/04/xmlenc#sha384";
constexpr char kDsigNs[] = "http://www.w3.org/2000/09/xmldsig#";
constexpr size_t kMaxAttributeSize = 4096;

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;
struct XmlCharFree {
  void operator()(xmlChar* s) const { xmlFree(s); }
};
using XmlString = std::unique_ptr<xmlChar, XmlCharFree>;
struct DsigCtxFree {
  void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); }
};
struct KeyFree {
  void operator()(xmlSecKey* k) const { xmlSecKeyDestroy(k); }
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("RIM: ", what));
}

const char* Chars(const xmlChar* s) { return reinterpret_cast<const char*>(s); }
const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

bool Is(const xmlNode* n, const char* name, const char* ns) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, X(name)) &&
         n->ns != nullptr && xmlStrEqual(n->ns->href, X(ns));
}

// Parses a bounded document with no network access and no entity substitution; refuses a DTD.
absl::StatusOr<DocPtr> ParseXml(absl::string_view xml) {
  if (xml.size() > kMaxRimSize) {
    return absl::ResourceExhaustedError(
        absl::StrCat("RIM: ", xml.size(), " bytes, more than ", kMaxRimSize));
  }
  xmlInitParser();
  DocPtr doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "rim.xml", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (doc == nullptr) return Malformed("not well-formed XML");
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return Malformed("it has a document type declaration (refused: no DTDs, no entities)");
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Is(root, "SoftwareIdentity", kSwidNs)) {
    return Malformed("the root element is not an ISO 19770-2 SoftwareIdentity");
  }
  return doc;
}

// The one child element of `parent` named `name` in `ns`; null (and `error` set) when there is
// none or more than one.
const xmlNode* OnlyChild(const xmlNode* parent, const char* name, const char* ns,
                         absl::Status* error) {
  const xmlNode* found = nullptr;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (!Is(c, name, ns)) continue;
    if (found != nullptr) {
      *error = Malformed(absl::StrCat("more than one ", name, " element"));
      return nullptr;
    }
    found = c;
  }
  if (found == nullptr) *error = Malformed(absl::StrCat("no ", name, " element"));
  return found;
}

// An attribute's value (without namespace when `ns` is null), bounded; nullopt when absent.
std::optional<std::string> Attr(const xmlNode* n, const char* name, const char* ns = nullptr) {
  XmlString v(ns == nullptr ? xmlGetNoNsProp(n, X(name)) : xmlGetNsProp(n, X(name), X(ns)));
  if (v == nullptr) return std::nullopt;
  std::string s(Chars(v.get()));
  if (s.size() > kMaxAttributeSize) s.resize(kMaxAttributeSize);
  return s;
}

absl::StatusOr<uint32_t> UintAttr(const xmlNode* n, const char* name, uint32_t max,
                                  absl::string_view where) {
  std::optional<std::string> v = Attr(n, name);
  uint32_t out = 0;
  if (!v || v->empty() || v->size() > 10 || !absl::SimpleAtoi(*v, &out) || out > max) {
    return Malformed(absl::StrCat(where, ": ", name, " is not an integer from 0 to ", max));
  }
  for (char c : *v) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return Malformed(absl::StrCat(where, ": ", name, " is not an integer from 0 to ", max));
    }
  }
  return out;
}

absl::StatusOr<RimMeasurement> ReadResource(const xmlNode* r, size_t ordinal) {
  const std::string where = absl::StrCat("Resource ", ordinal);
  if (Attr(r, "type") != "Measurement") {
    return Malformed(absl::StrCat(where, ": type is not \"Measurement\""));
  }
  RimMeasurement m;
  absl::StatusOr<uint32_t> index = UintAttr(r, "index", 255, where);
  if (!index.ok()) return index.status();
  m.index = *index;
  const std::string named = absl::StrCat("measurement index ", m.index);
  std::optional<std::string> active = Attr(r, "active");
  if (active == "True" || active == "true") {
    m.active = true;
  } else if (active != "False" && active != "false") {
    return Malformed(absl::StrCat(named, ": active is not True or False"));
  }
  absl::StatusOr<uint32_t> alternatives = UintAttr(r, "alternatives", kMaxRimAlternatives, named);
  absl::StatusOr<uint32_t> size = UintAttr(r, "size", 64, named);
  if (!alternatives.ok()) return alternatives.status();
  if (!size.ok()) return size.status();
  if (*alternatives == 0) return Malformed(absl::StrCat(named, ": no alternatives"));
  m.size = *size;
  for (uint32_t i = 0; i < *alternatives; ++i) {
    const std::string attr = absl::StrCat("Hash", i);
    std::optional<std::string> hex = Attr(r, attr.c_str(), kSha384Ns);
    if (!hex) return Malformed(absl::StrCat(named, ": no ", attr, " (SHA-384)"));
    absl::StatusOr<std::string> value = base::HexDecode(absl::AsciiStrToLower(*hex));
    if (!value.ok() || value->size() != m.size) {
      return Malformed(absl::StrCat(named, ": ", attr, " is not ", m.size, " bytes of hex"));
    }
    m.values.push_back(*std::move(value));
  }
  m.name = Attr(r, "name").value_or("");
  return m;
}

}  // namespace

// xmlsec's error output is silenced: its failures come back as return codes, and the RIM is outside
// input.
absl::Status InitXmlsec() {
  static const absl::Status* status = [] {
    xmlInitParser();
    xmlSecErrorsDefaultCallbackEnableOutput(0);
    if (xmlSecInit() < 0) return new absl::Status(absl::InternalError("xmlSecInit failed"));
    if (xmlSecCheckVersion() != 1) {
      return new absl::Status(
          absl::InternalError("libxmlsec1 is not the version Triad was built with"));
    }
    if (xmlSecOpenSSLAppInit(nullptr) < 0 || xmlSecOpenSSLInit() < 0) {
      return new absl::Status(absl::InternalError("xmlsec's OpenSSL backend does not initialize"));
    }
    return new absl::Status();
  }();
  return *status;
}

absl::StatusOr<Rim> ParseRim(absl::string_view xml) {
  absl::StatusOr<DocPtr> doc = ParseXml(xml);
  if (!doc.ok()) return doc.status();
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  Rim rim;
  rim.tag_id = Attr(root, "tagId").value_or("");
  absl::Status error;
  const xmlNode* meta = OnlyChild(root, "Meta", kSwidNs, &error);
  if (meta == nullptr) return error;
  std::optional<std::string> version = Attr(meta, "colloquialVersion");
  if (!version || version->empty()) return Malformed("Meta has no colloquialVersion");
  rim.version = *version;
  rim.product = Attr(meta, "product").value_or("");
  const xmlNode* payload = OnlyChild(root, "Payload", kSwidNs, &error);
  if (payload == nullptr) return error;
  std::set<uint32_t> seen;
  for (const xmlNode* c = payload->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (!Is(c, "Resource", kSwidNs)) {
      return Malformed(absl::StrCat("Payload holds a ", Chars(c->name), " element"));
    }
    if (rim.measurements.size() == kMaxRimMeasurements) {
      return Malformed(absl::StrCat("more than ", kMaxRimMeasurements, " measurements"));
    }
    absl::StatusOr<RimMeasurement> m = ReadResource(c, rim.measurements.size() + 1);
    if (!m.ok()) return m.status();
    if (!seen.insert(m->index).second) {
      return Malformed(absl::StrCat("measurement index ", m->index, " appears twice"));
    }
    rim.measurements.push_back(*std::move(m));
  }
  // The signer's certificates: Signature/KeyInfo/X509Data/X509Certificate (base64 DER).
  const xmlNode* sig = OnlyChild(root, "Signature", kDsigNs, &error);
  if (sig == nullptr) return error;
  const xmlNode* key_info = OnlyChild(sig, "KeyInfo", kDsigNs, &error);
  if (key_info == nullptr) return error;
  for (const xmlNode* d = key_info->children; d != nullptr; d = d->next) {
    if (!Is(d, "X509Data", kDsigNs)) continue;
    for (const xmlNode* c = d->children; c != nullptr; c = c->next) {
      if (!Is(c, "X509Certificate", kDsigNs)) continue;
      if (rim.certificates.size() == kMaxRimCertificates) {
        return Malformed(absl::StrCat("more than ", kMaxRimCertificates, " certificates"));
      }
      XmlString text(xmlNodeGetContent(c));
      std::string b64;
      for (const char* p = text ? Chars(text.get()) : ""; *p != '\0'; ++p) {
        if (!absl::ascii_isspace(static_cast<unsigned char>(*p))) b64.push_back(*p);
      }
      absl::StatusOr<std::string> der = base::Base64Decode(b64);
      if (!der.ok() || der->empty()) {
        return Malformed(
            absl::StrCat("X509Certificate ", rim.certificates.size() + 1, " is not base64"));
      }
      rim.certificates.push_back(*std::move(der));
    }
  }
  if (rim.certificates.empty()) return Malformed("KeyInfo holds no X509Certificate");
  return rim;
}

absl::Status VerifyRimSignature(absl::string_view xml, EVP_PKEY* key) {
  if (absl::Status st = InitXmlsec(); !st.ok()) return st;
  absl::StatusOr<DocPtr> doc = ParseXml(xml);
  if (!doc.ok()) return doc.status();
  xmlNode* root = xmlDocGetRootElement(doc->get());
  absl::Status error;
  // Enveloped: the one Signature is a direct child of the root, so URI="" covers everything the
  // parser reads.
  xmlNode* sig = const_cast<xmlNode*>(OnlyChild(root, "Signature", kDsigNs, &error));
  if (sig == nullptr) return error;

  if (key == nullptr || EVP_PKEY_up_ref(key) != 1) {
    return absl::InternalError("RIM signature: no key");
  }
  xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(key);  // owns the reference on success
  if (data == nullptr) {
    EVP_PKEY_free(key);
    crypto::ClearOpenSslErrors();
    return absl::InvalidArgumentError("RIM signature: the signer's key is not usable");
  }
  std::unique_ptr<xmlSecKey, KeyFree> sign_key(xmlSecKeyCreate());
  if (sign_key == nullptr || xmlSecKeySetValue(sign_key.get(), data) < 0) {
    xmlSecKeyDataDestroy(data);
    return absl::InternalError("RIM signature: cannot set up the key");
  }
  std::unique_ptr<xmlSecDSigCtx, DsigCtxFree> ctx(xmlSecDSigCtxCreate(nullptr));
  if (ctx == nullptr) return absl::InternalError("RIM signature: cannot set up xmlsec");
  ctx->signKey = sign_key.release();  // the context destroys it
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
  // What NVIDIA signs with, and nothing else: no XSLT, XPath, external references, other hashes.
  if (xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformInclC14N11Id) < 0 ||
      xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecOpenSSLTransformEcdsaSha384Id) < 0 ||
      xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId) < 0 ||
      xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformInclC14N11Id) < 0 ||
      xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecOpenSSLTransformSha384Id) < 0) {
    return absl::InternalError("RIM signature: cannot restrict the transforms");
  }
  const int rc = xmlSecDSigCtxVerify(ctx.get(), sig);
  crypto::ClearOpenSslErrors();
  if (rc < 0) {
    return absl::InvalidArgumentError(
        "RIM signature: the Signature element cannot be processed (a method other than C14N 1.1, "
        "ECDSA-SHA384 and SHA-384, a reference other than URI=\"\", or a malformed element)");
  }
  if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) {
    return absl::InvalidArgumentError("RIM signature: SignedInfo must hold exactly one Reference");
  }
  if (ctx->status != xmlSecDSigStatusSucceeded) {
    return absl::UnauthenticatedError("RIM signature does not verify");
  }
  return absl::OkStatus();
}

}  // namespace triad::attestation::internal
