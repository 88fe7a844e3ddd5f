// GPUs in admission, end to end at the attestation level: a worker (sim CPU TEE, forged NVIDIA
// GPUs that sign over any nonce) collects its evidence with CollectEvidence; the verifier turns it
// into claims; CheckBinding ties them to the admission in both directions; the policy's
// nvidia_gpu section decides. Each attack the binding exists for is played with its exact
// reasons: a GPU report of another job, a CPU report that does not commit to the GPUs, GPUs
// removed, reordered or relabelled, the CC state changed in transit. Also the evidence document
// (byte-identical to the coordinator's form without GPUs) and the binding's known answers.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "attestation/evidence_document.h"
#include "attestation/evidence_verifier.h"
#include "attestation/gpu_collector.h"
#include "attestation/nvidia_gpu.h"
#include "base/encoding.h"
#include "contracts/policy.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/attestation/nvidia_forge.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using V = std::vector<std::string>;

const absl::Time kNow = absl::FromUnixSeconds(1751328000);  // 2025-07-01T00:00:00Z

contracts::GpuCcState GoodCc(size_t gpus) {
  contracts::GpuCcState cc;
  cc.environment = contracts::GpuCcState::kEnvironmentProd;
  cc.cc_feature = 1;
  cc.gpus_ready = 1;
  cc.multi_gpu_mode = gpus > 1 ? 1 : 0;
  return cc;
}

// An in-process GpuCollector over forged GPUs: reports over whatever nonce it is asked.
class ForgedCollector : public GpuCollector {
 public:
  explicit ForgedCollector(size_t n) : cc_(GoodCc(n)) {
    for (size_t i = 0; i < n; ++i) {
      gpus_.push_back(nvforge::NewGpu());
      uuids_.push_back(absl::StrCat("GPU-0000000", i, "-aaaa-bbbb-cccc-dddddddddddd"));
    }
  }
  const std::vector<std::string>& uuids() const override { return uuids_; }
  absl::StatusOr<contracts::GpuCcState> CcState() const override { return cc_; }
  absl::StatusOr<GpuEvidence> Attest(size_t i, absl::string_view nonce) const override {
    nvforge::ReportSpec spec;
    spec.nonce = std::string(nonce);
    GpuEvidence g;
    g.uuid = uuids_[i];
    g.report = nvforge::Report(gpus_[i], spec);
    g.certs = gpus_[i].ChainPem();
    return g;
  }
  contracts::GpuCcState cc_;
  std::vector<nvforge::Gpu> gpus_;
  std::vector<std::string> uuids_;
};

// One worker: its sim CPU attester and the anchors that accept it and the forged GPUs.
struct Worker {
  Worker() {
    crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
    anchors = nvforge::ForgedPki().Anchors();
    anchors.sim_keys.push_back(key.public_key());
    cpu = *NewSimAttester(std::move(key));
  }
  std::unique_ptr<Attester> cpu;
  TrustAnchors anchors;
};

struct Admission {
  explicit Admission(const std::string& job)
      : key(crypto::Ed25519PrivateKey::Generate()),
        id(crypto::age::X25519Identity::Generate()),
        in{crypto::RandomString(32), job, key.public_key(), id.recipient()} {}
  crypto::Ed25519PrivateKey key;
  crypto::age::X25519Identity id;
  BindingInputs in;
};

Verdict Verify(const Worker& w, const Evidence& ev) { return VerifyEvidence(ev, w.anchors, kNow); }

// A sim + GPU policy: `count` Hopper GPUs; RIMs and OCSP optional (the forged GPUs have neither).
contracts::WorkerPolicy GpuPolicy(uint32_t count) {
  contracts::WorkerPolicy p;
  p.tee = {contracts::kTeeSim};
  p.sim = contracts::SimReference{};
  p.sim->measurements = {};  // filled by the test with the sim attester's measurement
  contracts::GpuRequirements g;
  g.count = count;
  g.architectures = {"hopper"};
  g.min_driver_version = "550.54.15";
  g.min_vbios_version = "96.00.74.00.1C";
  g.rim_required = false;
  g.ocsp_required = false;
  p.nvidia_gpu = g;
  return p;
}

contracts::PolicyDecision Decide(uint32_t count, const contracts::Claims& claims) {
  contracts::WorkerPolicy p = GpuPolicy(count);
  p.sim->measurements = {claims.measurement};
  return contracts::Evaluate(p, claims);
}

// ---- The whole flow.

TEST(GpuAdmission, TwoGpusCollectedVerifiedBoundAndAdmitted) {
  Worker w;
  ForgedCollector gpus(2);
  Admission a("job-1");
  absl::StatusOr<Evidence> ev = CollectEvidence(*w.cpu, &gpus, a.in);
  ASSERT_TRUE(ev.ok()) << ev.status();
  ASSERT_EQ(ev->gpus.size(), 2u);
  EXPECT_EQ(GpuUuids(*ev), gpus.uuids());
  Verdict v = Verify(w, *ev);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  ASSERT_EQ(v.claims.gpus.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(v.claims.gpus[i].index, i);
    EXPECT_EQ(v.claims.gpus[i].uuid, gpus.uuids()[i]);
    EXPECT_EQ(v.claims.gpus[i].nonce, *GpuNonce(a.in, static_cast<uint32_t>(i)));
    EXPECT_EQ(v.claims.gpus[i].report_digest, crypto::Sha384(ev->gpus[i].report));
    EXPECT_EQ(v.claims.gpus[i].architecture, "hopper");
  }
  ASSERT_TRUE(v.claims.gpu_cc.has_value());
  EXPECT_EQ(*v.claims.gpu_cc, GoodCc(2));
  EXPECT_EQ(BindingProblems(v.claims, a.in), V{});
  EXPECT_TRUE(CheckBinding(v.claims, a.in).ok());
  contracts::PolicyDecision d = Decide(2, v.claims);
  EXPECT_TRUE(d.admit) << ::testing::PrintToString(d.reasons);
  // Through the evidence document and back, as the coordinator stores and relays it.
  absl::StatusOr<Evidence> back = ParseEvidenceDocument(EvidenceDocument(*ev));
  ASSERT_TRUE(back.ok()) << back.status();
  Verdict again = Verify(w, *back);
  ASSERT_TRUE(again.valid);
  EXPECT_EQ(again.claims.ToJson(), v.claims.ToJson());
}

TEST(GpuAdmission, ACpuOnlyWorkerIsBoundAsBefore) {
  Worker w;
  Admission a("job-1");
  absl::StatusOr<Evidence> ev = CollectEvidence(*w.cpu, nullptr, a.in);
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->gpus.empty());
  EXPECT_FALSE(ev->gpu_cc.has_value());
  Verdict v = Verify(w, *ev);
  ASSERT_TRUE(v.valid);
  EXPECT_EQ(v.claims.report_data, *ExpectedReportData(a.in));
  EXPECT_TRUE(CheckBinding(v.claims, a.in).ok());
  EXPECT_FALSE(v.claims.ToJson().contains("gpus"));
}

// ---- The attacks on the binding, each with its reasons.

TEST(GpuAdmission, AGpuReportOfAnotherJobIsRefused) {
  Worker w;
  ForgedCollector gpus(1);
  Admission a("job-a");
  Admission b("job-b");
  Evidence for_a = *CollectEvidence(*w.cpu, &gpus, a.in);
  Evidence for_b = *CollectEvidence(*w.cpu, &gpus, b.in);
  // Job B's evidence with the GPU report made for job A: every signature still verifies.
  Evidence mixed = for_b;
  mixed.gpus[0] = for_a.gpus[0];
  Verdict v = Verify(w, mixed);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  const std::string uuid = gpus.uuids()[0];
  EXPECT_EQ(BindingProblems(v.claims, b.in),
            (V{"GPU 0 (" + uuid + "): its report's nonce " + base::HexEncode(*GpuNonce(a.in, 0)) +
                   " is not the one this admission derives for GPU 0 (" +
                   base::HexEncode(*GpuNonce(b.in, 0)) +
                   "): the report was made for another admission or job",
               "report data does not commit to this admission and this set of GPUs (nonce, job "
               "id, Ed25519 key, age recipient, GPU reports, UUIDs, CC state): expected " +
                   base::HexEncode(*ExpectedReportData(b.in, *GpuSetDigest(v.claims))) +
                   ", evidence carries " + base::HexEncode(v.claims.report_data)}));
  absl::Status st = CheckBinding(v.claims, b.in);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StartsWith(st.message(), "GPU 0 (" + uuid + "): its report's nonce "));
}

TEST(GpuAdmission, ACpuReportThatDoesNotCommitToTheGpusIsRefused) {
  Worker w;
  ForgedCollector gpus(2);
  Admission a("job-1");
  // The GPU reports are this admission's, but the CPU report data is D1: it commits to no GPU.
  Evidence ev = *w.cpu->Attest(*ExpectedReportData(a.in));
  for (size_t i = 0; i < 2; ++i) ev.gpus.push_back(*gpus.Attest(i, *GpuNonce(a.in, i)));
  ev.gpu_cc = GoodCc(2);
  Verdict v = Verify(w, ev);
  ASSERT_TRUE(v.valid);
  V problems = BindingProblems(v.claims, a.in);
  ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(problems);
  EXPECT_TRUE(absl::StartsWith(
      problems[0], "report data does not commit to this admission and this set of GPUs"))
      << problems[0];
}

TEST(GpuAdmission, GpusRemovedReorderedRelabelledOrTheirStateChangedAreRefused) {
  Worker w;
  ForgedCollector gpus(2);
  Admission a("job-1");
  const Evidence ev = *CollectEvidence(*w.cpu, &gpus, a.in);
  auto problems = [&](const Evidence& e) {
    Verdict v = Verify(w, e);
    EXPECT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
    return BindingProblems(v.claims, a.in);
  };
  const std::string commit =
      "report data does not commit to this admission and this set of GPUs (nonce, job id, "
      "Ed25519 key, age recipient, GPU reports, UUIDs, CC state)";
  auto starts = [](const V& got, const V& prefixes) {
    if (got.size() != prefixes.size()) return false;
    for (size_t i = 0; i < got.size(); ++i) {
      if (!absl::StartsWith(got[i], prefixes[i])) return false;
    }
    return true;
  };
  // All GPUs removed: the CPU report data is D2, not the D1 of a CPU-only worker.
  Evidence none = ev;
  none.gpus.clear();
  none.gpu_cc.reset();
  V p = problems(none);
  EXPECT_TRUE(starts(p, {"report data does not bind this admission (nonce, job id, Ed25519 key, "
                         "age recipient): expected "}))
      << ::testing::PrintToString(p);
  // One removed.
  Evidence one = ev;
  one.gpus.pop_back();
  p = problems(one);
  EXPECT_TRUE(starts(p, {commit})) << ::testing::PrintToString(p);
  // Reordered: each report is at the other's index.
  Evidence swapped = ev;
  std::swap(swapped.gpus[0], swapped.gpus[1]);
  p = problems(swapped);
  EXPECT_TRUE(starts(p, {"GPU 0 (" + gpus.uuids()[1] + "): its report's nonce ",
                         "GPU 1 (" + gpus.uuids()[0] + "): its report's nonce ", commit}))
      << ::testing::PrintToString(p);
  // Another UUID for a GPU (to train elsewhere than attested).
  Evidence relabelled = ev;
  relabelled.gpus[1].uuid = "GPU-99999999-aaaa-bbbb-cccc-dddddddddddd";
  p = problems(relabelled);
  EXPECT_TRUE(starts(p, {commit})) << ::testing::PrintToString(p);
  // The CC state changed on its way (protected PCIe off -> on, CC on -> off).
  for (uint32_t contracts::GpuCcState::*field :
       {&contracts::GpuCcState::multi_gpu_mode, &contracts::GpuCcState::cc_feature,
        &contracts::GpuCcState::gpus_ready, &contracts::GpuCcState::devtools_mode,
        &contracts::GpuCcState::environment}) {
    Evidence changed = ev;
    changed.gpu_cc.value().*field ^= 1;
    p = problems(changed);
    EXPECT_TRUE(starts(p, {commit})) << ::testing::PrintToString(p);
  }
}

TEST(GpuAdmission, CcOffIsCollectedAsItIsAndRefusedByThePolicy) {
  Worker w;
  ForgedCollector gpus(1);
  gpus.cc_.cc_feature = 0;
  Admission a("job-1");
  absl::StatusOr<Evidence> ev = CollectEvidence(*w.cpu, &gpus, a.in);
  ASSERT_TRUE(ev.ok());
  Verdict v = Verify(w, *ev);
  ASSERT_TRUE(v.valid);
  EXPECT_TRUE(CheckBinding(v.claims, a.in).ok());
  EXPECT_EQ(Decide(1, v.claims).reasons,
            V{"GPU confidential computing is off (NVML cc_feature 0)"});
}

TEST(GpuAdmission, APolicyThatNeedsTwoGpusAndGetsOneIsRefused) {
  Worker w;
  ForgedCollector gpus(1);
  Admission a("job-1");
  Verdict v = Verify(w, *CollectEvidence(*w.cpu, &gpus, a.in));
  ASSERT_TRUE(v.valid);
  EXPECT_TRUE(CheckBinding(v.claims, a.in).ok());
  EXPECT_EQ(Decide(2, v.claims).reasons,
            (V{"policy requires 2 NVIDIA GPUs, the worker attested 1",
               "2 GPUs need protected PCIe (NVML multi_gpu_mode 0, not 1)"}));
  EXPECT_TRUE(Decide(1, v.claims).admit);
}

// ---- What the evidence verifier checks beyond each GPU report.

TEST(GpuEvidenceVerifier, StructureOfTheGpuEvidence) {
  Worker w;
  ForgedCollector gpus(2);
  Admission a("job-1");
  const Evidence ev = *CollectEvidence(*w.cpu, &gpus, a.in);
  const std::string u0 = gpus.uuids()[0];
  const std::string u1 = gpus.uuids()[1];
  auto reasons = [&](const Evidence& e) {
    Verdict v = Verify(w, e);
    EXPECT_EQ(v.valid, v.reasons.empty());
    return v.reasons;
  };
  // One physical GPU counted twice, under two UUIDs.
  Evidence twice = ev;
  twice.gpus[1] = *gpus.Attest(0, *GpuNonce(a.in, 1));
  twice.gpus[1].uuid = u1;
  EXPECT_EQ(reasons(twice), V{"GPU 1 (" + u1 +
                              "): it is the same device as GPU 0 (the same GPU identity "
                              "certificate)"});
  Evidence same_uuid = ev;
  same_uuid.gpus[1].uuid = u0;
  EXPECT_EQ(reasons(same_uuid), V{"GPU 1 (" + u0 + "): the UUID appears twice"});
  Evidence bad_uuid = ev;
  bad_uuid.gpus[0].uuid = "MIG-1";
  EXPECT_EQ(reasons(bad_uuid), V{"GPU 0: \"MIG-1\" is not an NVML GPU UUID (GPU-<hex>)"});
  Evidence no_cc = ev;
  no_cc.gpu_cc.reset();
  EXPECT_EQ(reasons(no_cc),
            V{"the evidence carries GPUs without their confidential-computing state (gpu_cc)"});
  Evidence no_gpus = ev;
  no_gpus.gpus.clear();
  EXPECT_EQ(reasons(no_gpus),
            V{"the evidence carries a GPU confidential-computing state but no GPU"});
  // A GPU whose report does not verify: its reason, with the GPU named.
  Evidence bad = ev;
  bad.gpus[1].report[60] ^= 1;
  EXPECT_EQ(reasons(bad), V{"GPU 1 (" + u1 +
                            "): the report signature does not verify with the "
                            "key of \"GH100 A01 GSP FMC LF\""});
  // A GPU under the real NVIDIA root (not pinned here): refused, and the CPU verdict with it.
  Evidence nine = ev;
  while (nine.gpus.size() < 9) nine.gpus.push_back(ev.gpus[0]);
  EXPECT_EQ(reasons(nine), V{"the evidence carries 9 GPUs, more than 8"});
  // CPU evidence that fails fails the whole: no GPU claims leak out of an invalid verdict.
  Evidence bad_cpu = ev;
  bad_cpu.report[100] ^= 1;
  Verdict v = Verify(w, bad_cpu);
  EXPECT_FALSE(v.valid);
  EXPECT_TRUE(v.claims.gpus.empty());
}

// ---- The evidence document.

TEST(EvidenceDocumentTest, WithoutGpusItIsTheCoordinatorsFormByteForByte) {
  Evidence ev;
  ev.tee = "sev-snp";
  ev.report = std::string("\x01\x02\x03\xff", 4);
  ev.certs = "certs";
  ev.collateral = "";
  // What coordinator::EvidenceDocument has always written (coordinator/README.md).
  EXPECT_EQ(EvidenceDocument(ev),
            R"({"tee":"sev-snp","report":"AQID/w==","certs":"Y2VydHM=","collateral":""})");
  absl::StatusOr<Evidence> back = ParseEvidenceDocument(EvidenceDocument(ev));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->report, ev.report);
  EXPECT_TRUE(back->gpus.empty());
  EXPECT_FALSE(back->gpu_cc.has_value());
}

TEST(EvidenceDocumentTest, GpusAddOneKeyAndRoundTrip) {
  Evidence ev;
  ev.tee = "tdx";
  ev.report = "q";
  GpuEvidence g;
  g.uuid = "GPU-1";
  g.report = "r";
  g.certs = "c";
  g.rims = {"<x/>"};
  g.ocsp = {"o1", "o2"};
  ev.gpus = {g};
  ev.gpu_cc = GoodCc(1);
  const std::string doc = EvidenceDocument(ev);
  EXPECT_EQ(
      doc,
      R"({"tee":"tdx","report":"cQ==","certs":"","collateral":"","gpus":{"cc":{"environment":2,)"
      R"("cc_feature":1,"devtools_mode":0,"multi_gpu_mode":0,"gpus_ready":1},"devices":[{"uuid":)"
      R"("GPU-1","report":"cg==","certs":"Yw==","rims":["PHgvPg=="],"ocsp":["bzE=","bzI="]}]}})");
  absl::StatusOr<Evidence> back = ParseEvidenceDocument(doc);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->gpus.size(), 1u);
  EXPECT_EQ(back->gpus[0].ocsp, (V{"o1", "o2"}));
  EXPECT_EQ(*back->gpu_cc, GoodCc(1));
  EXPECT_EQ(EvidenceDocument(*back), doc);
}

// CoCo evidence carries its init-data last, so keyholders and auditors bind it to the TEE too.
TEST(EvidenceDocumentTest, InitDataAddsOneKeyLastAndRoundTrips) {
  Evidence ev;
  ev.tee = "sev-snp";
  ev.report = "r";
  ev.gpus = {GpuEvidence{"GPU-1", "g", "c", {}, {}}};
  ev.gpu_cc = GoodCc(1);
  ev.initdata = "version = \"0.1.0\"\n";
  const std::string doc = EvidenceDocument(ev);
  EXPECT_TRUE(absl::EndsWith(doc, R"("ocsp":[]}]},"initdata":"dmVyc2lvbiA9ICIwLjEuMCIK"})")) << doc;
  absl::StatusOr<Evidence> back = ParseEvidenceDocument(doc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->initdata, ev.initdata);
  EXPECT_EQ(back->gpus.size(), 1u);
  // An empty init-data is not written, so "initdata":"" is not canonical.
  EXPECT_EQ(ParseEvidenceDocument(
                R"({"tee":"sev-snp","report":"","certs":"","collateral":"","initdata":""})")
                .status()
                .message(),
            "evidence document: not in canonical form (compact JSON, keys in the documented "
            "order, standard base64 with padding)");
  EXPECT_EQ(ParseEvidenceDocument(
                R"({"tee":"sev-snp","report":"","certs":"","collateral":"","initdata":"!"})")
                .status()
                .message(),
            "evidence document: initdata is not base64");
  EXPECT_EQ(ParseEvidenceDocument(
                absl::StrCat(R"({"tee":"sev-snp","report":"","certs":"","collateral":"",)",
                             R"("initdata":")", std::string(400 * 1024, 'A'), R"("})"))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(EvidenceDocumentTest, TheParserIsStrictAndBounded) {
  auto error = [](const std::string& text) {
    return std::string(ParseEvidenceDocument(text).status().message());
  };
  const std::string ok = R"({"tee":"sim","report":"","certs":"","collateral":""})";
  ASSERT_TRUE(ParseEvidenceDocument(ok).ok());
  EXPECT_EQ(error(R"({"tee":"sim", "report":"","certs":"","collateral":""})"),
            "evidence document: not in canonical form (compact JSON, keys in the documented "
            "order, standard base64 with padding)");
  EXPECT_EQ(error(R"({"report":"","tee":"sim","certs":"","collateral":""})"),
            "evidence document: not in canonical form (compact JSON, keys in the documented "
            "order, standard base64 with padding)");
  EXPECT_EQ(error(R"({"tee":"sim","report":"!","certs":"","collateral":""})"),
            "evidence document: report is not base64");
  EXPECT_EQ(error(R"({"tee":"sim","report":"","certs":""})"),
            "evidence document: the top level has no \"collateral\"");
  // Found by evidence_document_fuzzer: an optional key must not stand in for a required one.
  EXPECT_EQ(error(R"({"report":"","certs":"","collateral":"","gpus":{}})"),
            "evidence document: the top level has no \"tee\"");
  EXPECT_EQ(error(R"({"tee":"sim","report":"","certs":"","collateral":"","x":1})"),
            "evidence document: the top level has a key that is not allowed");
  EXPECT_EQ(
      error(
          R"({"tee":"sim","report":"","certs":"","collateral":"","gpus":{"cc":{},"devices":[]}})"),
      "evidence document: gpus.cc has no \"environment\"");
  EXPECT_EQ(
      error(
          R"({"tee":"sim","report":"","certs":"","collateral":"","gpus":{"cc":{"environment":2,"cc_feature":1,"devtools_mode":0,"multi_gpu_mode":0,"gpus_ready":-1},"devices":[]}})"),
      "evidence document: gpus.cc.gpus_ready is not an integer from 0 to 4294967295");
  const std::string cc =
      R"("cc":{"environment":2,"cc_feature":1,"devtools_mode":0,"multi_gpu_mode":0,"gpus_ready":1})";
  EXPECT_EQ(error(R"({"tee":"sim","report":"","certs":"","collateral":"","gpus":{)" + cc +
                  R"(,"devices":[{"uuid":"GPU-1","report":"","certs":"","rims":[1],"ocsp":[]}]}})"),
            "evidence document: gpus.devices[0].rims[0] is not a string");
  std::string many =
      R"({"tee":"sim","report":"","certs":"","collateral":"","gpus":{)" + cc + R"(,"devices":[)";
  for (int i = 0; i < 9; ++i) {
    many += std::string(i ? "," : "") +
            R"({"uuid":"GPU-1","report":"","certs":"","rims":[],"ocsp":[]})";
  }
  many += "]}}";
  EXPECT_EQ(ParseEvidenceDocument(many).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(error("[]"), "evidence document: the top level is not an object");
  EXPECT_EQ(ParseEvidenceDocument(std::string(kMaxEvidenceDocumentSize + 1, ' ')).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// ---- The binding's known answers, computed here from binding.h's description.

std::string U32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

TEST(GpuBinding, KnownAnswers) {
  Admission a("job-7");
  const std::string admission =
      a.in.nonce + a.in.job_id + a.in.key.raw() + a.in.recipient.ToString();
  const std::string d1 = crypto::Sha512("triad/attest/v1" + admission);
  EXPECT_EQ(*ExpectedReportData(a.in), d1);
  EXPECT_EQ(*GpuNonce(a.in, 3), crypto::Sha256("triad/attest/gpu-nonce/v1" + d1 + U32(3)));
  contracts::GpuCcState cc = GoodCc(2);
  std::vector<GpuSetEntry> entries = {{"GPU-a", crypto::Sha384("r0")},
                                      {"GPU-bb", crypto::Sha384("r1")}};
  const std::string g =
      crypto::Sha384("triad/attest/gpu-set/v1" + U32(2) + U32(1) + U32(0) + U32(1) + U32(1) +
                     U32(2) + U32(0) + std::string("\0\x05", 2) + "GPU-a" + crypto::Sha384("r0") +
                     U32(1) + std::string("\0\x06", 2) + "GPU-bb" + crypto::Sha384("r1"));
  EXPECT_EQ(*GpuSetDigest(cc, entries), g);
  EXPECT_EQ(*ExpectedReportData(a.in, g), crypto::Sha512("triad/attest/v2" + admission + g));
  // Rejections.
  EXPECT_EQ(ExpectedReportData(a.in, "short").status().message(),
            "the GPU set digest must be 48 bytes, got 5");
  EXPECT_EQ(GpuSetDigest(cc, {{"", crypto::Sha384("r")}}).status().message(),
            "GPU 0: the UUID must be 1 to 96 bytes, got 0");
  EXPECT_EQ(GpuSetDigest(cc, {{"GPU-a", "x"}}).status().message(),
            "GPU 0: the report digest must be 48 bytes (SHA-384), got 1");
  BindingInputs bad = a.in;
  bad.nonce = "x";
  EXPECT_EQ(GpuNonce(bad, 0).status().message(), "attestation nonce must be 32 bytes, got 1");
  EXPECT_EQ(BindingProblems(contracts::Claims(), bad),
            V{"attestation nonce must be 32 bytes, got 1"});
  EXPECT_EQ(CheckBinding(contracts::Claims(), bad).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace triad::attestation
