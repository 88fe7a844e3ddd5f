#include "tests/attestation/rim_forge.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
// xmlsec.h first, on its own: the other xmlsec headers use its definitions.
#include <xmlsec/xmlsec.h>

#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "attestation/internal/nvidia_rim.h"
#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/attestation/snp_forge.h"

namespace triad::attestation::rimforge {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    ADD_FAILURE() << "rimforge: " << what;
    std::abort();
  }
}

}  // namespace

void Pki::Pin(TrustAnchors& anchors) const {
  anchors.nvidia_corim_signing_root_ca = forge::ToPem(root.get());
}

const Pki& ForgedPki() {
  static const Pki* pki = [] {
    auto* p = new Pki;
    p->root_key = forge::NewEcKey("P-384");
    p->root = forge::Issue(forge::EcSpec("Forged CoRIM Root", true), p->root_key.get(), nullptr,
                           p->root_key.get());
    p->ca_key = forge::NewEcKey("P-384");
    p->ca = forge::Issue(forge::EcSpec("Forged RIM CA", true), p->ca_key.get(), p->root.get(),
                         p->root_key.get());
    p->signer_key = forge::NewEcKey("P-384");
    p->signer = forge::Issue(forge::EcSpec("Forged RIM Signer", false), p->signer_key.get(),
                             p->ca.get(), p->ca_key.get());
    return p;
  }();
  return *pki;
}

std::string SignedRim(const RimSpec& spec) {
  Check(internal::InitXmlsec().ok(), "xmlsec init");
  const Pki& pki = ForgedPki();
  std::string xml = absl::StrCat(
      R"(<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" )",
      R"(xmlns:ns0="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" )",
      R"(xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" name=")", spec.product,
      R"(" tagId="forged-)", spec.version, "\">\n", R"(  <ns0:Meta colloquialVersion=")",
      spec.version, R"(" product=")", spec.product, "\"/>\n  <ns0:Payload>\n");
  for (const Measurement& m : spec.measurements) {
    absl::StrAppend(&xml, R"(    <ns0:Resource type="Measurement" index=")", m.index,
                    R"(" active=")", m.active ? "True" : "False", R"(" alternatives=")",
                    m.values.size(), "\"");
    for (size_t i = 0; i < m.values.size(); ++i) {
      absl::StrAppend(&xml, " ns2:Hash", i, "=\"", base::HexEncode(m.values[i]), "\"");
    }
    absl::StrAppend(&xml, R"( size="48" name="m)", m.index, "\"/>\n");
  }
  absl::StrAppend(
      &xml, "  </ns0:Payload>\n",
      R"(<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>)",
      R"(<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>)",
      R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/>)",
      R"(<ds:Reference URI=""><ds:Transforms>)",
      R"(<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>)",
      R"(<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></ds:Transforms>)",
      R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/>)",
      R"(<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>)",
      R"(<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>)");
  for (X509* c : {pki.signer.get(), pki.ca.get(), pki.root.get()}) {
    absl::StrAppend(&xml, "<ds:X509Certificate>", base::Base64Encode(forge::ToDer(c)),
                    "</ds:X509Certificate>");
  }
  absl::StrAppend(&xml, "</ds:X509Data></ds:KeyInfo>", spec.inside_signature,
                  "</ds:Signature>\n</SoftwareIdentity>\n");

  xmlDoc* doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "forged.xml", nullptr,
                              XML_PARSE_NONET);
  Check(doc != nullptr, "template parse");
  xmlNode* sig = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
  Check(sig != nullptr, "Signature node");
  xmlSecDSigCtx* ctx = xmlSecDSigCtxCreate(nullptr);
  Check(ctx != nullptr && EVP_PKEY_up_ref(pki.signer_key.get()) == 1, "dsig ctx");
  xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(pki.signer_key.get());
  xmlSecKeyPtr key = xmlSecKeyCreate();
  Check(data != nullptr && key != nullptr && xmlSecKeySetValue(key, data) == 0, "key");
  ctx->signKey = key;
  Check(xmlSecDSigCtxSign(ctx, sig) == 0, "xmlSecDSigCtxSign");
  xmlChar* out = nullptr;
  int size = 0;
  xmlDocDumpMemory(doc, &out, &size);
  std::string signed_xml(reinterpret_cast<char*>(out), static_cast<size_t>(size));
  xmlFree(out);
  xmlSecDSigCtxDestroy(ctx);
  xmlFreeDoc(doc);
  return signed_xml;
}

}  // namespace triad::attestation::rimforge
