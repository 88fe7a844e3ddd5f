// The fixture of the party-side verification tests: a real in-process coordinator plays a job to
// the end through the real RPCs (coordinator_fixture.h) and exports its audit bundle.
#ifndef TRIAD_TESTS_VERIFY_VERIFY_FIXTURE_H_
#define TRIAD_TESTS_VERIFY_VERIFY_FIXTURE_H_

#include <string>

#include "tests/coordinator/coordinator_fixture.h"
#include "verify/audit_verify.h"

namespace triad::coordinator {

class AuditVerifyTest : public CoordinatorTest {
 protected:
  CoordinatorCard Card() const {
    // Only the signing key and the origin matter offline.
    return h_.card();
  }

  attestation::TrustAnchors Anchors() const {
    attestation::TrustAnchors a;
    a.sim_keys.push_back(h_.sim_key.public_key());
    return a;
  }

  std::string Export(const std::string& job) {
    pb::ExportReply reply;
    grpc::Status st = CoordinatorTest::Export(job, do_, &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return reply.bundle_json();
  }

  // A job played to the end (admitted on sim, delivered); returns its bundle.
  std::string DoneJobBundle() {
    SetUpContract();
    job_ = NewJob();
    auto [a, reply] = Admit("w1", eph_);
    attest_ = reply;
    EXPECT_EQ(Keys(job_, eph_).size(), 2u);
    adapter_ct_ = Encrypt("adapter tar", {mo_.card.age_recipient, do_.card.age_recipient});
    grpc::Status st = Deliver(job_, eph_.key, Record(job_, adapter_ct_, eph_, reply), adapter_ct_);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return Export(job_);
  }

  verify::AuditReport Verify(const std::string& bundle, verify::AuditOptions options = {}) {
    return verify::VerifyBundle(bundle, Card(), Anchors(), options);
  }

  std::string job_;
  Eph eph_;
  pb::AttestReply attest_;
  std::string adapter_ct_;
};

}  // namespace triad::coordinator

#endif  // TRIAD_TESTS_VERIFY_VERIFY_FIXTURE_H_
