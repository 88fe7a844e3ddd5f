// Test helpers for contracts: parties with keys, a valid sample contract, claims that pass its
// policy.
#ifndef TRIAD_TESTS_CONTRACTS_CONTRACT_TESTING_H_
#define TRIAD_TESTS_CONTRACTS_CONTRACT_TESTING_H_

#include <string>

#include "absl/time/time.h"
#include "base/clock.h"
#include "contracts/claims.h"
#include "contracts/contract.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"

namespace triad::contracts::testing {

struct Party {
  crypto::Ed25519PrivateKey key;
  PartyCard card;
};

inline Party MakeParty(const std::string& name, Role role) {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  PartyCard card{name, role, crypto::age::X25519Identity::Generate().recipient(), key.public_key()};
  return Party{std::move(key), std::move(card)};
}

// Reference values: 48-byte digests made from a label, so tests can name them.
inline std::string Digest48(const std::string& label) { return crypto::Sha384(label); }

inline absl::Time T(const char* rfc3339) {
  absl::Time t;
  base::ParseRfc3339(rfc3339, &t);
  return t;
}

// A policy accepting sev-snp, tdx and sim with one reference value each.
inline WorkerPolicy SamplePolicy() {
  WorkerPolicy p;
  p.tee = {kTeeSevSnp, kTeeTdx, kTeeSim};
  p.sev_snp = SnpReference{};
  p.sev_snp->measurements = {Digest48("snp-worker-v1")};
  p.sev_snp->min_tcb = SnpTcb{3, 0, 8, 115, 0};
  p.tdx = TdxReference{};
  p.tdx->mr_td = {Digest48("tdx-worker-v1")};
  p.tdx->tcb_status = {"UpToDate"};
  p.sim = SimReference{};
  p.sim->measurements = {Digest48("sim-worker-v1")};
  return p;
}

// Valid from 2025-07-01T00:00:00Z to 2025-07-31T00:00:00Z.
inline Contract SampleContract(const Party& model_owner, const Party& data_owner,
                               const Party& provider) {
  return Contract{"c-0001",
                  T("2025-07-01T00:00:00Z"),
                  T("2025-07-01T00:00:00Z"),
                  T("2025-07-31T00:00:00Z"),
                  model_owner.card,
                  data_owner.card,
                  provider.card,
                  Artifact{crypto::Sha256Id("model ciphertext"), "qwen2-0.5b"},
                  Artifact{crypto::Sha256Id("dataset ciphertext"), "claims-notes"},
                  TrainingConfig::Default(),
                  SamplePolicy(),
                  Outputs::Default()};
}

inline Claims SnpClaimsPassing() {
  Claims c;
  c.tee = kTeeSevSnp;
  c.report_data = std::string(64, '\x01');
  c.measurement = Digest48("snp-worker-v1");
  c.tcb_status = "UpToDate";
  c.platform_id = std::string(64, '\x22');
  SnpClaims s;
  s.version = 3;
  s.product = "Genoa";
  s.signing_key = "vcek";
  s.policy = 0x30000;
  s.guest_svn = 1;
  s.measurement = c.measurement;
  s.host_data = std::string(32, '\x33');
  s.id_key_digest = Digest48("id-key");
  s.chip_id = c.platform_id;
  s.crl_checked = true;
  s.reported_tcb = SnpTcb{3, 0, 8, 115, 0};
  s.committed_tcb = s.reported_tcb;
  s.current_tcb = s.reported_tcb;
  c.snp = s;
  return c;
}

inline Claims TdxClaimsPassing() {
  Claims c;
  c.tee = kTeeTdx;
  c.report_data = std::string(64, '\x02');
  c.measurement = Digest48("tdx-worker-v1");
  c.tcb_status = "UpToDate";
  c.platform_id = std::string(16, '\x44');
  TdxClaims t;
  t.quote_version = 4;
  t.mr_td = c.measurement;
  t.rtmr = {Digest48("rtmr0"), Digest48("rtmr1"), Digest48("rtmr2"), Digest48("rtmr3")};
  t.mr_config_id = std::string(48, '\0');
  t.tee_tcb_svn = std::string(16, '\x03');
  t.fmspc = std::string(6, '\x50');
  t.qe_tcb_status = "UpToDate";
  t.td_attributes = 0x10000000;  // SEPT_VE_DISABLE
  t.tcb_evaluation_data_number = 17;
  c.tdx = t;
  return c;
}

inline Claims SimClaimsPassing() {
  Claims c;
  c.tee = kTeeSim;
  c.report_data = std::string(64, '\x03');
  c.measurement = Digest48("sim-worker-v1");
  c.tcb_status = "UpToDate";
  c.sim = SimClaims{"simkey"};
  return c;
}

// A GPU that meets the sample GPU requirements (Hopper, driver 550.90.07, VBIOS 96.00.9F.00.01,
// driver and VBIOS RIMs matched, OCSP good everywhere).
inline GpuClaims GpuClaimsPassing(uint32_t index) {
  GpuClaims g;
  g.index = index;
  g.uuid = "GPU-0000000" + std::to_string(index) + "-1111-2222-3333-444444444444";
  g.chip = "GH100";
  g.architecture = "hopper";
  g.report_digest = Digest48("report " + std::to_string(index));
  g.nonce = std::string(32, static_cast<char>('\x60' + index));
  g.driver_version = "550.90.07";
  g.vbios_version = "96.00.9F.00.01";
  g.chip_sku = "882";
  g.project = "1010";
  g.project_sku = "0200";
  g.device_certificate = "GH100 A01 GSP FMC LF";
  g.device_id = std::string(32, static_cast<char>('\x70' + index));
  g.measurements = {{1, Digest48("block 1")}, {2, Digest48("block 2")}};
  g.rims = {{"driver", "550.90.07", "tag-d", "HCC RIM L4 Signer", "good"},
            {"vbios", "96.00.9F.00.01", "tag-v", "HCC RIM L4 Signer", "good"}};
  g.measurements_match = true;
  g.device_revocation = "good";
  return g;
}

// `cpu` with `n` passing GPUs in CC mode, ready, protected PCIe when n > 1.
inline Claims WithGpus(Claims cpu, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) cpu.gpus.push_back(GpuClaimsPassing(i));
  GpuCcState cc;
  cc.environment = GpuCcState::kEnvironmentProd;
  cc.cc_feature = 1;
  cc.gpus_ready = 1;
  cc.multi_gpu_mode = n > 1 ? 1 : 0;
  cpu.gpu_cc = cc;
  return cpu;
}

}  // namespace triad::contracts::testing

#endif  // TRIAD_TESTS_CONTRACTS_CONTRACT_TESTING_H_
