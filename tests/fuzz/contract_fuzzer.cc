// Fuzzes the contract parser and validator (strict JSON, the embedded JSON Schema with its PCRE2
// patterns, the rules in code, party cards), the envelope check, the worker policy, training and
// outputs parsers, and policy evaluation on what the claims parser accepts.
//
// The first byte picks the document (seeds start with '0'..'5': contract payload, contract
// envelope, policy, training, outputs, claims); the rest is the document. Besides "no crash", the
// target checks that whatever parses re-serializes to something that parses to the same thing, and
// that a status or a decision never says yes while listing reasons.
#include <cstddef>
#include <cstdint>

#include "base/clock.h"
#include "base/json.h"
#include "contracts/claims.h"
#include "contracts/contract.h"
#include "contracts/policy.h"
#include "contracts/training.h"
#include "crypto/dsse.h"

namespace {

using namespace triad;
using namespace triad::contracts;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const std::vector<Claims>& SampleClaims() {
  static const auto* claims = [] {
    Claims snp;
    snp.tee = kTeeSevSnp;
    snp.measurement = std::string(48, '\x01');
    snp.snp = SnpClaims{};
    snp.snp->reported_tcb = SnpTcb{3, 0, 8, 115, 0};
    Claims tdx;
    tdx.tee = kTeeTdx;
    tdx.measurement = std::string(48, '\x02');
    tdx.tcb_status = "UpToDate";
    tdx.advisory_ids = {"INTEL-SA-00615"};
    tdx.tdx = TdxClaims{};
    tdx.tdx->rtmr.assign(4, std::string(48, '\x03'));
    Claims sim;
    sim.tee = kTeeSim;
    sim.measurement = std::string(48, '\x04');
    sim.debug = true;
    return new std::vector<Claims>{snp, tdx, sim, Claims{}};
  }();
  return *claims;
}

// Accepts every kind, with reference values matching SampleClaims() in part.
const WorkerPolicy& SamplePolicy() {
  static const WorkerPolicy* policy = [] {
    auto* p = new WorkerPolicy;
    p->tee = {kTeeSevSnp, kTeeTdx, kTeeSim};
    p->sev_snp = SnpReference{};
    p->sev_snp->measurements = {std::string(48, '\x01')};
    p->sev_snp->min_tcb = SnpTcb{3, 0, 8, 115, 0};
    p->sev_snp->min_guest_svn = 1;
    p->sev_snp->allowed_vmpls = {0};
    p->tdx = TdxReference{};
    p->tdx->mr_td = {std::string(48, '\x02')};
    p->tdx->rtmr[0] = {std::string(48, '\x03')};
    p->tdx->tcb_status = {"UpToDate"};
    p->tdx->allowed_advisory_ids = std::vector<std::string>{};
    p->sim = SimReference{{std::string(48, '\x04')}, {"UpToDate"}};
    return p;
  }();
  return *policy;
}

void CheckDecision(const PolicyDecision& d, const Claims& c) {
  Check(d.admit == d.reasons.empty());
  Check(!d.simulated || (d.admit && c.tee == kTeeSim));
  (void)d.ToJson().dump();
}

void FuzzPayload(absl::string_view text) {
  absl::StatusOr<Contract> c = Contract::FromPayload(text);
  if (!c.ok()) return;
  std::string payload = c->ToPayload();
  absl::StatusOr<Contract> again = Contract::FromPayload(payload);
  Check(again.ok() && again->ToPayload() == payload);
  for (const Claims& cl : SampleClaims()) CheckDecision(Evaluate(c->worker_policy, cl), cl);
}

void FuzzEnvelope(absl::string_view text) {
  absl::StatusOr<crypto::DsseEnvelope> env =
      crypto::DsseEnvelope::FromJson(text, kMaxContractEnvelopeSize);
  if (!env.ok()) return;
  static const absl::Time now = [] {
    absl::Time t;
    base::ParseRfc3339("2025-07-10T00:00:00Z", &t);
    return t;
  }();
  ContractStatus st = CheckContract(*env, now);
  Check(st.active() == st.reasons.empty());
  Check(!st.active() || (st.contract.has_value() && env->signatures.size() == 3));
  (void)st.ToJson().dump();
}

void FuzzPolicy(absl::string_view text) {
  absl::StatusOr<WorkerPolicy> p = WorkerPolicy::FromText(text);
  if (!p.ok()) return;
  std::string json = p->ToJson().dump();
  absl::StatusOr<WorkerPolicy> again = WorkerPolicy::FromText(json);
  Check(again.ok() && again->ToJson().dump() == json);
  for (const Claims& cl : SampleClaims()) CheckDecision(Evaluate(*p, cl), cl);
}

void FuzzTraining(absl::string_view text) {
  absl::StatusOr<TrainingConfig> t = TrainingConfig::FromText(text);
  if (!t.ok()) return;
  std::string json = t->ToJson().dump();
  absl::StatusOr<TrainingConfig> again = TrainingConfig::FromText(json);
  Check(again.ok() && again->ToJson().dump() == json);
}

void FuzzOutputs(absl::string_view text) {
  absl::StatusOr<Outputs> o = Outputs::FromText(text);
  if (!o.ok()) return;
  std::string json = o->ToJson().dump();
  absl::StatusOr<Outputs> again = Outputs::FromText(json);
  Check(again.ok() && again->ToJson().dump() == json);
}

void FuzzClaims(absl::string_view text) {
  absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(text);
  if (!j.ok()) return;
  absl::StatusOr<Claims> cl = Claims::FromJson(*j);
  if (!cl.ok()) return;
  CheckDecision(Evaluate(SamplePolicy(), *cl), *cl);
  absl::StatusOr<nlohmann::json> back = base::ParseJsonStrict(cl->ToJson().dump());
  Check(back.ok());
  absl::StatusOr<Claims> again = Claims::FromJson(*back);
  Check(again.ok() && again->ToJson() == cl->ToJson());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      FuzzPayload(text);
      break;
    case 1:
      FuzzEnvelope(text);
      break;
    case 2:
      FuzzPolicy(text);
      break;
    case 3:
      FuzzTraining(text);
      break;
    case 4:
      FuzzOutputs(text);
      break;
    default:
      FuzzClaims(text);
      break;
  }
  return 0;
}
