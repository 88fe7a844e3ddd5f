#include "tests/attestation/snp_forge.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "gtest/gtest.h"

namespace triad::attestation::forge {
namespace {

using crypto::SslPtr;

void Check(bool ok, const char* what) {
  if (!ok) {
    ADD_FAILURE() << "forge: " << what;
    std::abort();
  }
}

std::string DerTlv(uint8_t tag, const std::string& body) {
  std::string out(1, static_cast<char>(tag));
  if (body.size() < 128) {
    out.push_back(static_cast<char>(body.size()));
  } else {
    out.push_back(static_cast<char>(0x82));
    out.push_back(static_cast<char>(body.size() >> 8));
    out.push_back(static_cast<char>(body.size() & 0xff));
  }
  return out + body;
}

void PutLe(std::string* b, size_t off, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) (*b)[off + i] = static_cast<char>(v >> (8 * i));
}

void Put(std::string* b, size_t off, const std::string& bytes) {
  b->replace(off, bytes.size(), bytes);
}

}  // namespace

std::string DerInt(int v) {
  // Minimal two's-complement big-endian, for 0 <= v < 32768.
  std::string body;
  if (v >= 128) body.push_back(static_cast<char>(v >> 8));
  body.push_back(static_cast<char>(v & 0xff));
  return DerTlv(0x02, body);
}
std::string DerIa5(const std::string& s) { return DerTlv(0x16, s); }
std::string DerOctets(const std::string& s) { return DerTlv(0x04, s); }

SslPtr<EVP_PKEY> NewRsaKey() {
  SslPtr<EVP_PKEY> k(EVP_RSA_gen(2048));
  Check(k != nullptr, "RSA keygen");
  return k;
}

CertSpec EcSpec(const std::string& cn, bool ca) {
  CertSpec s;
  s.cn = cn;
  s.ca = ca;
  s.pss = false;
  return s;
}

SslPtr<EVP_PKEY> NewEcKey(const char* curve) {
  SslPtr<EVP_PKEY> k(EVP_EC_gen(curve));
  Check(k != nullptr, "EC keygen");
  return k;
}

SslPtr<X509> Issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                   EVP_PKEY* issuer_key) {
  static int serial = 1;
  SslPtr<X509> x(X509_new());
  Check(x != nullptr && X509_set_version(x.get(), 2) == 1, "X509_new");
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  SslPtr<X509_NAME> name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Advanced Micro Devices"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509_set_subject_name(x.get(), name.get());
  X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name.get());
  X509_set_pubkey(x.get(), subject_key);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), absl::ToTimeT(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), absl::ToTimeT(spec.not_after));
  if (spec.ca) {
    for (auto [nid, value] :
         {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
          std::pair<int, const char*>{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
      SslPtr<X509_EXTENSION> e(X509V3_EXT_conf_nid(nullptr, nullptr, nid, value));
      Check(e != nullptr && X509_add_ext(x.get(), e.get(), -1) == 1, "CA extension");
    }
  }
  for (const Extension& ext : spec.extensions) {
    SslPtr<ASN1_OBJECT> oid(OBJ_txt2obj(ext.oid.c_str(), 1));
    SslPtr<ASN1_STRING> os(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(os.get(), reinterpret_cast<const unsigned char*>(ext.value.data()),
                          static_cast<int>(ext.value.size()));
    SslPtr<X509_EXTENSION> e(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, os.get()));
    Check(e != nullptr && X509_add_ext(x.get(), e.get(), -1) == 1, "custom extension");
  }
  SslPtr<EVP_MD_CTX> mctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  Check(EVP_DigestSignInit(mctx.get(), &pctx, EVP_sha384(), nullptr, issuer_key) == 1,
        "DigestSignInit");
  if (spec.pss && EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_RSA) {
    Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1,
          "PSS parameters");
  }
  Check(X509_sign_ctx(x.get(), mctx.get()) > 0, "X509_sign_ctx");
  return x;
}

std::string ToPem(X509* cert) {
  SslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string ToDer(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

TrustAnchors Pki::Anchors() const {
  TrustAnchors a;
  a.amd_ark[product] = ToPem(ark.get());
  a.amd_ask[product] = ToPem(ask.get());
  a.amd_asvk[product] = ToPem(asvk.get());
  return a;
}

const Pki& ForgedPki(const std::string& product) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Pki>>* cache =
      new std::map<std::string, std::unique_ptr<Pki>>();
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<Pki>& p = (*cache)[product];
  if (p == nullptr) {
    p = std::make_unique<Pki>();
    p->product = product;
    p->ark_key = NewRsaKey();
    p->ask_key = NewRsaKey();
    p->asvk_key = NewRsaKey();
    CertSpec ca;
    ca.ca = true;
    ca.cn = "ARK-" + product;
    p->ark = Issue(ca, p->ark_key.get(), nullptr, p->ark_key.get());
    ca.cn = "SEV-" + product;
    p->ask = Issue(ca, p->ask_key.get(), p->ark.get(), p->ark_key.get());
    ca.cn = "SEV-VLEK-" + product;
    p->asvk = Issue(ca, p->asvk_key.get(), p->ark.get(), p->ark_key.get());
  }
  return *p;
}

SslPtr<X509> IssueLeaf(const Pki& pki, const LeafSpec& spec, EVP_PKEY* leaf_key) {
  CertSpec c;
  c.cn = spec.vlek ? "SEV-VLEK" : "SEV-VCEK";
  c.not_before = spec.not_before;
  c.not_after = spec.not_after;
  const std::string arc = "1.3.6.1.4.1.3704.1.";
  c.extensions.push_back({arc + "1", DerInt(0)});
  if (!spec.product_name.empty()) c.extensions.push_back({arc + "2", DerIa5(spec.product_name)});
  if (spec.bl) c.extensions.push_back({arc + "3.1", DerInt(*spec.bl)});
  if (spec.tee) c.extensions.push_back({arc + "3.2", DerInt(*spec.tee)});
  if (spec.snp) c.extensions.push_back({arc + "3.3", DerInt(*spec.snp)});
  if (spec.ucode) c.extensions.push_back({arc + "3.8", DerInt(*spec.ucode)});
  if (spec.fmc) c.extensions.push_back({arc + "3.9", DerInt(*spec.fmc)});
  if (spec.hwid_ext) c.extensions.push_back({arc + "4", *spec.hwid_ext});
  return spec.vlek ? Issue(c, leaf_key, pki.asvk.get(), pki.asvk_key.get())
                   : Issue(c, leaf_key, pki.ask.get(), pki.ask_key.get());
}

std::string BuildReport(const ReportSpec& s, EVP_PKEY* leaf_key) {
  // SEV-SNP ABI Table 22 offsets.
  std::string b(0x4A0, '\0');
  PutLe(&b, 0x000, s.version, 4);
  PutLe(&b, 0x004, s.guest_svn, 4);
  PutLe(&b, 0x008, s.policy, 8);
  PutLe(&b, 0x030, s.vmpl, 4);
  PutLe(&b, 0x034, s.signature_algo, 4);
  PutLe(&b, 0x038, s.tcb, 8);  // CURRENT_TCB
  PutLe(&b, 0x048, s.key_info, 4);
  Put(&b, 0x050, s.report_data);
  Put(&b, 0x090, s.measurement);
  Put(&b, 0x0C0, s.host_data);
  PutLe(&b, 0x180, s.tcb, 8);  // REPORTED_TCB
  if (s.version >= 3) {
    b[0x188] = static_cast<char>(s.cpuid_family);
    b[0x189] = static_cast<char>(s.cpuid_model);
    b[0x18A] = static_cast<char>(s.cpuid_stepping);
  }
  Put(&b, 0x1A0, s.chip_id);
  PutLe(&b, 0x1E0, s.tcb, 8);  // COMMITTED_TCB
  PutLe(&b, 0x1F0, s.tcb, 8);  // LAUNCH_TCB
  if (s.version >= 5) {
    PutLe(&b, 0x1F8, s.launch_mit_vector, 8);
    PutLe(&b, 0x200, s.current_mit_vector, 8);
  }
  return SignReport(std::move(b), leaf_key);
}

std::string SignReport(std::string b, EVP_PKEY* leaf_key) {
  Check(b.size() >= 0x330, "report size");
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  Check(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, leaf_key) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(b.data()), 0x2A0) == 1,
        "report DigestSign size");
  std::string der(len, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       reinterpret_cast<const unsigned char*>(b.data()), 0x2A0) == 1,
        "report DigestSign");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  Check(BN_bn2lebinpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(&b[0x2A0]),
                       72) == 72 &&
            BN_bn2lebinpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(&b[0x2E8]),
                           72) == 72,
        "R/S little-endian");
  return b;
}

}  // namespace triad::attestation::forge
