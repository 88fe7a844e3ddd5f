// The TDX parsers alone: quote structure, PEM chains, the PCK SGX extension, and collateral.
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "attestation/internal/tdx_collateral.h"
#include "attestation/internal/tdx_pck.h"
#include "attestation/internal/tdx_quote.h"
#include "attestation/tdx.h"
#include "base/encoding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/tdx_test_util.h"
#include "tests/testing/testing.h"

namespace triad::attestation::internal {
namespace {

using tdx_test::Data;
using tdx_test::Field;
using tdx_test::WithFields;

std::string Hex(absl::string_view b) { return base::HexEncode(b); }

// --- Quote ---------------------------------------------------------------------------------------

TEST(TdxQuoteParse, V4Fields) {
  auto q = ParseTdxQuote(Data("tdx/dcapqvl-v4-b0c06f/quote.bin"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->version, 4);
  EXPECT_EQ(q->body_type, 2);
  EXPECT_FALSE(q->body.is_td15);
  EXPECT_EQ(q->signed_part.size(), 48u + 584u);
  // QE report fields as Python read them (VERIFY.md §2.3 offsets).
  EXPECT_EQ(q->qe_report.isv_prod_id, 2);
  EXPECT_EQ(q->qe_report.isv_svn, 6);
  EXPECT_EQ(Hex(q->qe_report.mr_signer),
            "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  EXPECT_EQ(Hex(q->qe_report.attributes), "1500000000000000e700000000000000");
  EXPECT_EQ(q->qe_auth_data.size(), 32u);
  EXPECT_EQ(q->pck_chain_pem.size(), 3678u);
  EXPECT_EQ(q->pck_chain_pem.back(), '\0');  // NUL-terminated, as quote generators write it
}

TEST(TdxQuoteParse, V5Fields) {
  auto q = ParseTdxQuote(Data("tdx/gotdx-v5-90c06f/quote.bin"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->version, 5);
  EXPECT_EQ(q->body_type, 3);
  EXPECT_TRUE(q->body.is_td15);
  EXPECT_EQ(q->signed_part.size(), 702u);  // VERIFY.md: 48 + 6 + 648
  EXPECT_EQ(Hex(q->body.tee_tcb_svn2), "0d010400000000000000000000000000");
  EXPECT_EQ(q->body.mr_service_td, std::string(48, '\0'));
}

TEST(TdxQuoteParse, NonZeroPaddingAfterTheSignatureDataIsIgnored) {
  // go-tdx-guest's SPR quote has 39 bytes of non-zero garbage after its signature data.
  std::string quote = Data("tdx/gotdx-v4-spr-50806f/quote.bin");
  auto q = ParseTdxQuote(quote);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(tdx_test::QuoteDataEnd(quote), quote.size() - 39);
}

// Rebuilds the v4 quote with its signature data replaced.
std::string WithSignatureData(const std::string& sig_data) {
  std::string q = Data("tdx/dcapqvl-v4-b0c06f/quote.bin").substr(0, 632);
  uint32_t n = static_cast<uint32_t>(sig_data.size());
  q += std::string{static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                   static_cast<char>(n >> 24)};
  return q + sig_data;
}

std::string CertHeader(uint16_t type, uint32_t size) {
  return std::string{static_cast<char>(type),       static_cast<char>(type >> 8),
                     static_cast<char>(size),       static_cast<char>(size >> 8),
                     static_cast<char>(size >> 16), static_cast<char>(size >> 24)};
}

TEST(TdxQuoteParse, CertificationDataErrors) {
  const std::string keys(128, 'k');
  EXPECT_EQ(
      ParseTdxQuote(WithSignatureData(keys + CertHeader(5, 3) + "pem")).status().message(),
      "TDX quote: certification data type 5 is not supported; only 6 (QE report certification "
      "data) is");
  EXPECT_EQ(
      ParseTdxQuote(WithSignatureData(keys + CertHeader(6, 10) + "short")).status().message(),
      "TDX quote: certification data size 10 does not match the 5 bytes left in the signature "
      "data");
  EXPECT_EQ(
      ParseTdxQuote(WithSignatureData(keys + CertHeader(6, 5) + "short")).status().message(),
      "TDX quote: QE report certification data is shorter than the QE report and its signature");
  std::string qe(384 + 64, 'q');
  std::string no_auth = qe + "\x20";
  EXPECT_EQ(ParseTdxQuote(WithSignatureData(keys + CertHeader(6, no_auth.size()) + no_auth))
                .status()
                .message(),
            "TDX quote: QE authentication data runs past the QE report certification data");
  std::string ppid = qe + std::string("\0\0", 2) + CertHeader(3, 4) + "ppid";
  EXPECT_EQ(
      ParseTdxQuote(WithSignatureData(keys + CertHeader(6, ppid.size()) + ppid)).status().message(),
      "TDX quote: QE certification data type 3 is not supported; only 5 (PCK certificate "
      "chain) is");
  std::string longer = qe + std::string("\0\0", 2) + CertHeader(5, 9) + "pem";
  EXPECT_EQ(
      ParseTdxQuote(WithSignatureData(keys + CertHeader(6, longer.size()) + longer))
          .status()
          .message(),
      "TDX quote: PCK certificate chain size 9 does not match the 3 bytes left in the QE report "
      "certification data");
  EXPECT_EQ(
      ParseTdxQuote(WithSignatureData("")).status().message(),
      "TDX quote: signature data is shorter than the signature, key and certification header");
}

// --- PEM -----------------------------------------------------------------------------------------

TEST(TdxPem, Chains) {
  std::string pem = tdx_test::ChainOf(Data("tdx/dcapqvl-v4-b0c06f/quote.bin"));
  auto certs = ParsePemCertificates(pem, 4);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_EQ(CommonName((*certs)[0].get()), "Intel SGX PCK Certificate");
  EXPECT_EQ(CommonName((*certs)[1].get()), "Intel SGX PCK Platform CA");
  EXPECT_EQ(CommonName((*certs)[2].get()), "Intel SGX Root CA");
  EXPECT_EQ(ParsePemCertificates(pem, 2).status().message(), "PEM: more than 2 certificates");
  EXPECT_EQ(ParsePemCertificates("", 4).status().message(), "PEM: no certificate");
  EXPECT_EQ(ParsePemCertificates(pem + "trailer", 4).status().message(),
            "PEM: expected \"-----BEGIN CERTIFICATE-----\" at byte 3677");
  std::string cut = pem.substr(0, pem.rfind("-----END"));
  EXPECT_EQ(ParsePemCertificates(cut, 4).status().message(),
            "PEM: certificate block has no END line");
  std::string bad = absl::StrReplaceAll(pem, {{"MIIE", "MI*E"}});
  EXPECT_THAT(std::string(ParsePemCertificates(bad, 4).status().message()),
              ::testing::StartsWith("PEM: certificate 1: "));
  std::string extra = absl::StrReplaceAll(pem, {{"MIIE", "AAAAMIIE"}});  // bytes before the DER
  EXPECT_EQ(ParsePemCertificates(extra, 4).status().message(),
            "PEM: certificate 1 is not one DER X.509 certificate");
}

// --- SGX extension -------------------------------------------------------------------------------

TEST(TdxSgxExtension, ValuesOfARealPck) {
  // Values read with Python `cryptography` + a DER walk (MANIFEST's "checked here" tooling).
  std::string pem = tdx_test::ChainOf(Data("tdx/dcapqvl-v4-b0c06f/quote.bin"));
  auto certs = ParsePemCertificates(pem, 4);
  ASSERT_TRUE(certs.ok());
  auto ext = ParsePckSgxExtensions((*certs)[0].get());
  ASSERT_TRUE(ext.ok()) << ext.status();
  EXPECT_EQ(Hex(ext->ppid), "811dca2a26b952e85bb6448b097ba4fd");
  EXPECT_EQ(
      Hex(absl::string_view(reinterpret_cast<const char*>(ext->sgx_tcb_components.data()), 16)),
      "03030202040100050000000000000000");
  EXPECT_EQ(ext->pce_svn, 11u);
  EXPECT_EQ(Hex(ext->cpu_svn), "03030202040100050000000000000000");
  EXPECT_EQ(Hex(ext->pce_id), "0000");
  EXPECT_EQ(Hex(ext->fmspc), "b0c06f000000");
  EXPECT_EQ(ext->sgx_type, 1);
  EXPECT_EQ(Hex(ext->platform_instance_id), "07828474603e7019dc930775ffe8cdd2");
  // The platform CA itself has no SGX extension.
  EXPECT_EQ(ParsePckSgxExtensions((*certs)[1].get()).status().message(),
            "PCK certificate SGX extension: missing from the PCK certificate");
}

// DER builders for crafted extensions.
std::string Tlv(uint8_t tag, const std::string& value) {
  std::string out(1, static_cast<char>(tag));
  if (value.size() < 0x80) {
    out += static_cast<char>(value.size());
  } else {
    out += "\x82";
    out += static_cast<char>(value.size() >> 8);
    out += static_cast<char>(value.size() & 0xff);
  }
  return out + value;
}
std::string Oid(std::vector<int> arcs) {
  std::string oid("\x2a\x86\x48\x86\xf8\x4d\x01\x0d\x01", 9);
  for (int a : arcs) oid += static_cast<char>(a);
  return Tlv(0x06, oid);
}
std::string Pair(std::vector<int> arcs, const std::string& value) {
  return Tlv(0x30, Oid(arcs) + value);
}
std::string Int(uint32_t v) {
  std::string b;
  do {
    b.insert(b.begin(), static_cast<char>(v & 0xff));
    v >>= 8;
  } while (v);
  if (static_cast<unsigned char>(b[0]) & 0x80) b.insert(b.begin(), '\0');
  return Tlv(0x02, b);
}
std::string Octets(size_t n, char c = '\x01') { return Tlv(0x04, std::string(n, c)); }

struct ExtParts {
  std::string ppid = Pair({1}, Octets(16));
  std::vector<std::string> tcb;
  std::string pceid = Pair({3}, Octets(2, '\0'));
  std::string fmspc = Pair({4}, Octets(6, '\x22'));
  std::string type = Pair({5}, Tlv(0x0a, std::string(1, '\0')));
  std::string extra;
  ExtParts() {
    for (int i = 1; i <= 16; ++i) tcb.push_back(Pair({2, i}, Int(static_cast<uint32_t>(i))));
    tcb.push_back(Pair({2, 17}, Int(300)));
    tcb.push_back(Pair({2, 18}, Octets(16, '\x07')));
  }
  std::string Der() const {
    std::string t;
    for (const auto& e : tcb) t += e;
    return Tlv(0x30, ppid + Pair({2}, Tlv(0x30, t)) + pceid + fmspc + type + extra);
  }
};

TEST(TdxSgxExtension, CraftedValues) {
  ExtParts parts;
  parts.extra = Pair({7}, Tlv(0x30, "")) + Tlv(0x30, Tlv(0x06, "\x2b\x06") + Tlv(0x05, ""));
  auto ext = ParseSgxExtensionValue(parts.Der());
  ASSERT_TRUE(ext.ok()) << ext.status();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(ext->sgx_tcb_components[i], i + 1);
  EXPECT_EQ(ext->pce_svn, 300u);
  EXPECT_EQ(ext->fmspc, std::string(6, '\x22'));
  EXPECT_EQ(ext->platform_instance_id, "");
}

TEST(TdxSgxExtension, MalformedValues) {
  auto error = [](const ExtParts& p) {
    return std::string(ParseSgxExtensionValue(p.Der()).status().message());
  };
  const std::string prefix = "PCK certificate SGX extension: ";
  ExtParts p;
  p.fmspc = "";
  EXPECT_EQ(error(p), prefix + "entry .4 is missing");
  p = ExtParts();
  p.extra = p.fmspc;
  EXPECT_EQ(error(p), prefix + "entry .4 appears twice");
  p = ExtParts();
  p.fmspc = Pair({4}, Octets(5));
  EXPECT_EQ(error(p), prefix + "FMSPC is not a 6-byte octet string");
  p = ExtParts();
  p.tcb[3] = Pair({2, 4}, Int(256));
  EXPECT_EQ(error(p), prefix + "SGX TCB component 4 is not an integer from 0 to 255");
  p = ExtParts();
  p.tcb[3] = Pair({2, 4}, Tlv(0x02, "\xff"));  // -1
  EXPECT_EQ(error(p), prefix + "SGX TCB component 4 is not an integer from 0 to 255");
  p = ExtParts();
  p.tcb[3] = Pair({2, 4}, Tlv(0x02, std::string("\0\x05", 2)));  // not minimal
  EXPECT_EQ(error(p), prefix + "SGX TCB component 4 is not an integer from 0 to 255");
  p = ExtParts();
  p.tcb[16] = Pair({2, 17}, Int(65536));
  EXPECT_EQ(error(p), prefix + "PCESVN is not an integer from 0 to 65535");
  p = ExtParts();
  p.tcb.pop_back();
  EXPECT_EQ(error(p), prefix + "TCB lacks some of its 18 entries");
  p = ExtParts();
  p.tcb.push_back(p.tcb[0]);
  EXPECT_EQ(error(p), prefix + "TCB entry .2.1 appears twice");
  p = ExtParts();
  p.tcb[0] = Pair({2, 19}, Int(1));
  EXPECT_EQ(error(p), prefix + "TCB entry has an unexpected OID");
  p = ExtParts();
  p.type = Pair({5}, Tlv(0x0a, "\x03"));
  EXPECT_EQ(error(p), prefix + "SGX type is not an enumerated 0, 1 or 2");
  EXPECT_EQ(ParseSgxExtensionValue("").status().message(), prefix + "not one DER SEQUENCE");
  EXPECT_EQ(ParseSgxExtensionValue(ExtParts().Der() + "x").status().message(),
            prefix + "not one DER SEQUENCE");
  std::string indefinite = ExtParts().Der();
  indefinite[1] = static_cast<char>(0x80);
  EXPECT_EQ(ParseSgxExtensionValue(indefinite).status().message(), prefix + "not one DER SEQUENCE");
  EXPECT_EQ(ParseSgxExtensionValue(Tlv(0x30, Tlv(0x30, Oid({1})))).status().message(),
            prefix + "entry is not an (OID, value) pair");
}

// --- Collateral ----------------------------------------------------------------------------------

std::string V4Collateral() { return Data("tdx/dcapqvl-v4-b0c06f/collateral.json"); }

std::string CollateralError(const std::string& json) {
  auto c = ParseTdxCollateral(json);
  EXPECT_FALSE(c.ok());
  return std::string(c.status().message());
}

std::string WithTcbInfo(const std::function<void(nlohmann::json&)>& edit) {
  std::string c = V4Collateral();
  nlohmann::json j = nlohmann::json::parse(Field(c, "tcb_info"));
  edit(j);
  return WithFields(c, {{"tcb_info", j.dump()}});
}

std::string WithQeIdentity(const std::function<void(nlohmann::json&)>& edit) {
  std::string c = V4Collateral();
  nlohmann::json j = nlohmann::json::parse(Field(c, "qe_identity"));
  edit(j);
  return WithFields(c, {{"qe_identity", j.dump()}});
}

TEST(TdxCollateralParse, RealCollateral) {
  auto c = ParseTdxCollateral(V4Collateral());
  ASSERT_TRUE(c.ok()) << c.status();
  const TdxCollateral& col = **c;
  EXPECT_EQ(col.tcb_info.id, "TDX");
  EXPECT_EQ(col.tcb_info.version, 3u);
  EXPECT_EQ(col.tcb_info.tcb_evaluation_data_number, 17u);
  EXPECT_EQ(Hex(col.tcb_info.fmspc), "b0c06f000000");
  ASSERT_EQ(col.tcb_info.levels.size(), 2u);
  EXPECT_EQ(col.tcb_info.levels[1].advisory_ids.size(), 14u);
  ASSERT_EQ(col.tcb_info.tdx_module_identities.size(), 2u);
  EXPECT_EQ(col.tcb_info.tdx_module_identities[1].id, "TDX_01");
  EXPECT_EQ(col.qe_identity.id, "TD_QE");
  EXPECT_EQ(col.qe_identity.isv_prod_id, 2u);
  EXPECT_EQ(col.tcb_info_issuer_chain.size(), 2u);
  // The signed bytes are the collateral's string exactly.
  EXPECT_EQ(col.tcb_info_json, Field(V4Collateral(), "tcb_info"));
}

TEST(TdxCollateralParse, Errors) {
  const std::string c = V4Collateral();
  EXPECT_EQ(CollateralError("[]"), "TDX collateral: collateral: must be a JSON object");
  EXPECT_EQ(CollateralError("{"), "TDX collateral: collateral: JSON: syntax error at byte 2");
  EXPECT_EQ(CollateralError(WithFields(c, {{"pck_crl", "zz"}})),
            "TDX collateral: pck_crl: is not hex-encoded DER");
  EXPECT_EQ(CollateralError(WithFields(c, {{"pck_crl", "3003020101"}})),
            "TDX collateral: pck_crl: is not one DER X.509 CRL");
  EXPECT_EQ(
      CollateralError(WithFields(c, {{"tcb_info_issuer_chain", "x"}})),
      "TDX collateral: tcb_info_issuer_chain: PEM: expected \"-----BEGIN CERTIFICATE-----\" at "
      "byte 0");
  EXPECT_EQ(CollateralError(WithFields(c, {{"tcb_info_signature", "00"}})),
            "TDX collateral: collateral: \"tcb_info_signature\" must be 128 hex digits");
  nlohmann::json j = nlohmann::json::parse(c);
  j["qe_identity"] = 5;
  EXPECT_EQ(CollateralError(j.dump()),
            "TDX collateral: collateral: \"qe_identity\" must be a string");
  EXPECT_EQ(CollateralError(std::string(kTdxMaxCollateralBytes + 1, ' ')),
            "TDX collateral: 1048577 bytes is more than the limit of 1048576");
}

TEST(TdxCollateralParse, TcbInfoErrors) {
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["id"] = "SGX"; })),
            "TDX collateral: tcb_info: \"id\" is \"SGX\", not \"TDX\"");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["version"] = 2; })),
            "TDX collateral: tcb_info: \"version\" 2 is not supported; only 3 is");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["tcbType"] = 1; })),
            "TDX collateral: tcb_info: \"tcbType\" 1 is not supported; only 0 is");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["nextUpdate"] = "tomorrow"; })),
            "TDX collateral: tcb_info: \"nextUpdate\" is not an RFC 3339 time");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["fmspc"] = "B0C06F"; })),
            "TDX collateral: tcb_info: \"fmspc\" must be 12 hex digits");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j.erase("tdxModule"); })),
            "TDX collateral: tcb_info: missing \"tdxModule\"");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["tcbLevels"] = nlohmann::json::array(); })),
            "TDX collateral: tcb_info: \"tcbLevels\" must be an array of 1 to 256 entries");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) { j["tcbLevels"][1]["tcbStatus"] = "Fine"; })),
            "TDX collateral: tcb_info.tcbLevels[1]: \"tcbStatus\" \"Fine\" is not recognized");
  EXPECT_EQ(CollateralError(WithTcbInfo(
                [](auto& j) { j["tcbLevels"][0]["tcb"]["sgxtcbcomponents"].erase(0); })),
            "TDX collateral: tcb_info.tcbLevels[0].tcb: \"sgxtcbcomponents\" must have 16 entries");
  EXPECT_EQ(CollateralError(WithTcbInfo(
                [](auto& j) { j["tcbLevels"][0]["tcb"]["tdxtcbcomponents"][2]["svn"] = 256; })),
            "TDX collateral: tcb_info.tcbLevels[0].tcb.tdxtcbcomponents[2]: \"svn\" must be an "
            "integer from 0 to 255");
  EXPECT_EQ(
      CollateralError(WithTcbInfo([](auto& j) { j["tcbLevels"][0]["tcb"]["pcesvn"] = -1; })),
      "TDX collateral: tcb_info.tcbLevels[0].tcb: \"pcesvn\" must be an integer from 0 to 65535");
  EXPECT_EQ(CollateralError(WithTcbInfo([](auto& j) {
              j["tdxModuleIdentities"][1]["tcbLevels"][0]["tcbStatus"] = "ConfigurationNeeded";
            })),
            "TDX collateral: tcb_info.tdxModuleIdentities[1].tcbLevels[0]: \"tcbStatus\" "
            "\"ConfigurationNeeded\" is not recognized");
  EXPECT_EQ(CollateralError(WithTcbInfo(
                [](auto& j) { j["tdxModuleIdentities"][1]["tcbLevels"][1]["tcb"]["isvsvn"] = 4; })),
            "TDX collateral: tcb_info.tdxModuleIdentities[1]: two TCB levels have isvsvn 4");
  EXPECT_EQ(
      CollateralError(WithTcbInfo([](auto& j) { j["tcbLevels"][1]["advisoryIDs"] = "SA"; })),
      "TDX collateral: tcb_info.tcbLevels[1]: \"advisoryIDs\" must be an array of at most 256 "
      "strings");
  // Keys Intel may add later are ignored.
  EXPECT_TRUE(ParseTdxCollateral(WithTcbInfo([](auto& j) { j["newField"] = 1; })).ok());
}

TEST(TdxCollateralParse, QeIdentityErrors) {
  EXPECT_EQ(CollateralError(WithQeIdentity([](auto& j) { j["id"] = "QE"; })),
            "TDX collateral: qe_identity: \"id\" is \"QE\", not \"TD_QE\"");
  EXPECT_EQ(CollateralError(WithQeIdentity([](auto& j) { j["version"] = 1; })),
            "TDX collateral: qe_identity: \"version\" 1 is not supported; only 2 is");
  EXPECT_EQ(CollateralError(WithQeIdentity([](auto& j) { j["mrsigner"] = "00"; })),
            "TDX collateral: qe_identity: \"mrsigner\" must be 64 hex digits");
  EXPECT_EQ(CollateralError(WithQeIdentity(
                [](auto& j) { j["tcbLevels"][0]["tcbStatus"] = "SWHardeningNeeded"; })),
            "TDX collateral: qe_identity.tcbLevels[0]: \"tcbStatus\" \"SWHardeningNeeded\" is not "
            "recognized");
  EXPECT_EQ(CollateralError(WithQeIdentity([](auto& j) { j["tcbLevels"][0].erase("tcbDate"); })),
            "TDX collateral: qe_identity.tcbLevels[0]: missing \"tcbDate\"");
}

TEST(TdxCollateralParse, DuplicateKeysInSignedJsonAreRejected) {
  // Two readers must never see two documents in the signed bytes.
  std::string c = V4Collateral();
  std::string qe = Field(c, "qe_identity");
  std::string dup = absl::StrCat(qe.substr(0, qe.size() - 1), ",\"isvprodid\":3}");
  EXPECT_EQ(CollateralError(WithFields(c, {{"qe_identity", dup}})),
            "TDX collateral: qe_identity: JSON: duplicate key \"isvprodid\"");
}

}  // namespace
}  // namespace triad::attestation::internal
