#include "tests/attestation/nvidia_forge.h"

#include <openssl/ec.h>
#include <openssl/pem.h>

#include <cstdlib>

#include "attestation/internal/revocation.h"
#include "attestation/internal/x509_check.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/attestation/snp_forge.h"

namespace triad::attestation::nvforge {
namespace {

using crypto::SslPtr;

void Check(bool ok, const char* what) {
  if (!ok) {
    ADD_FAILURE() << "nvforge: " << what;
    std::abort();
  }
}

void U16(std::string& out, size_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}

void U24(std::string& out, size_t v) {
  U16(out, v & 0xffff);
  out.push_back(static_cast<char>((v >> 16) & 0xff));
}

void Opaque(std::string& out, uint16_t type, const std::string& value) {
  U16(out, type);
  U16(out, value.size());
  out += value;
}

// ECDSA P-384 / SHA-384, as raw r || s (48 bytes each).
std::string SignRaw(EVP_PKEY* key, const std::string& data) {
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  Check(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1,
        "DigestSign");
  std::string der(len, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1,
        "DigestSign");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  std::string raw(96, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);
  return raw;
}

}  // namespace

TrustAnchors Pki::Anchors() const {
  TrustAnchors a;
  a.nvidia_device_identity_ca = forge::ToPem(root.get());
  return a;
}

const Pki& ForgedPki() {
  static const Pki* pki = [] {
    auto* p = new Pki;
    p->root_key = forge::NewEcKey("P-384");
    p->root = forge::Issue(forge::EcSpec("Forged NVIDIA Device Identity CA", true),
                           p->root_key.get(), nullptr, p->root_key.get());
    p->ica_key = forge::NewEcKey("P-384");
    p->ica = forge::Issue(forge::EcSpec("Forged GH100 Identity", true), p->ica_key.get(),
                          p->root.get(), p->root_key.get());
    return p;
  }();
  return *pki;
}

std::string Gpu::ChainPem() const {
  const Pki& pki = ForgedPki();
  return forge::ToPem(device.get()) + forge::ToPem(identity.get()) + forge::ToPem(pki.ica.get()) +
         forge::ToPem(pki.root.get());
}

Gpu NewGpu(const std::string& chip) {
  const Pki& pki = ForgedPki();
  Gpu g;
  g.chip = chip;
  g.identity_key = forge::NewEcKey("P-384");
  g.identity = forge::Issue(forge::EcSpec(chip + " A01 GSP BROM", true), g.identity_key.get(),
                            pki.ica.get(), pki.ica_key.get());
  g.device_key = forge::NewEcKey("P-384");
  g.device = forge::Issue(forge::EcSpec(chip + " A01 GSP FMC LF", false), g.device_key.get(),
                          g.identity.get(), g.identity_key.get());
  return g;
}

std::string BlockValue(int index) {
  return crypto::Sha384("forged measurement " + std::to_string(index));
}

std::string Report(const Gpu& gpu, const ReportSpec& spec) {
  std::string m;
  // Request (DSP0274 GET_MEASUREMENTS): version 1.1, code, param1, param2 = all blocks, nonce,
  // slot.
  m += '\x11';
  m += '\xe0';
  m += static_cast<char>(spec.request_param1);
  m += '\xff';
  m += spec.nonce;
  m += '\x00';
  // Response (MEASUREMENTS).
  std::string record;
  for (int i = 1; i <= spec.blocks; ++i) {
    const std::string value = BlockValue(i);
    record += static_cast<char>(i);
    record += '\x01';  // DMTF measurement specification
    U16(record, 3 + value.size());
    record += '\x01';  // DMTF value type
    U16(record, value.size());
    record += value;
  }
  m += '\x11';
  m += '\x60';
  m += '\x00';
  m += '\x00';
  m += static_cast<char>(spec.blocks);
  U24(m, record.size());
  m += record;
  m += std::string(32, '\x42');  // responder nonce
  std::string opaque;
  Opaque(opaque, 3, spec.driver_version + std::string(1, '\0'));
  Opaque(opaque, 6, spec.vbios);
  Opaque(opaque, 15, spec.chip_sku);
  Opaque(opaque, 17, spec.project);
  Opaque(opaque, 18, spec.project_sku);
  U16(m, opaque.size());
  m += opaque;
  m += SignRaw(gpu.device_key.get(), m);
  m += spec.trailing;
  return m;
}

std::string OcspResponse(X509* subject, X509* issuer, EVP_PKEY* issuer_key, const OcspSpec& spec) {
  SslPtr<OCSP_BASICRESP> bs(OCSP_BASICRESP_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), subject, issuer);
  Check(bs != nullptr && id != nullptr, "OCSP_cert_to_id");
  SslPtr<ASN1_STRING> this_update(
      ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(spec.this_update)));
  SslPtr<ASN1_STRING> next_update(
      spec.next_update ? ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(*spec.next_update))
                       : nullptr);
  SslPtr<ASN1_STRING> revoked_at(
      ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(spec.this_update)));
  OCSP_SINGLERESP* single = OCSP_basic_add1_status(
      bs.get(), id, spec.status, spec.status == V_OCSP_CERTSTATUS_REVOKED ? 1 : -1,
      spec.status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at.get() : nullptr, this_update.get(),
      next_update.get());
  OCSP_CERTID_free(id);
  Check(single != nullptr, "OCSP_basic_add1_status");
  X509* signer = issuer;
  EVP_PKEY* signing_key = issuer_key;
  unsigned long flags = OCSP_NOCERTS;
  SslPtr<EVP_PKEY> wrong;
  SslPtr<X509> impostor;
  if (spec.sign_with_wrong_key) {
    // A certificate with the issuer's name and another key: the response names the issuer.
    wrong = forge::NewEcKey("P-384");
    impostor = forge::Issue(forge::EcSpec(internal::CommonName(issuer), false), wrong.get(),
                            nullptr, wrong.get());
    signer = impostor.get();
    signing_key = wrong.get();
  } else if (spec.signer != nullptr) {
    signer = spec.signer;
    signing_key = spec.signer_key;
    flags = 0;
  }
  Check(OCSP_basic_sign(bs.get(), signer, signing_key, EVP_sha384(), nullptr, flags) == 1,
        "OCSP_basic_sign");
  SslPtr<OCSP_RESPONSE> resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  Check(resp != nullptr, "OCSP_response_create");
  unsigned char* der = nullptr;
  int n = i2d_OCSP_RESPONSE(resp.get(), &der);
  Check(n > 0, "i2d_OCSP_RESPONSE");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace triad::attestation::nvforge
