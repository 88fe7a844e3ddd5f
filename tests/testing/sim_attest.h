// The Attest request a sim worker sends (E2E-SPEC step 5), for tests that play the worker over gRPC:
// the request body signed by the compute provider's key and, as proof of possession, by the ephemeral
// key it names; sim evidence signed by the simulation key, whose report data binds the nonce, the job
// and the keys in `bound_*` (the presented ones for an honest worker, others to test the binding).
// Header-only: the tests that include it link the coordinator client and attestation libraries.
#ifndef TRIAD_TESTS_TESTING_SIM_ATTEST_H_
#define TRIAD_TESTS_TESTING_SIM_ATTEST_H_

#include <string>

#include "absl/time/time.h"
#include "attestation/binding.h"
#include "attestation/sim.h"
#include "base/encoding.h"
#include "coordinator/request.h"
#include "crypto/age_keys.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "gtest/gtest.h"
#include "triad/v1/workers.pb.h"

namespace triad::testing {

struct SimAttestInputs {
  std::string job_id;
  std::string worker_id;
  std::string nonce;  // raw bytes, as in the assignment
  const crypto::Ed25519PrivateKey* provider = nullptr;
  const crypto::Ed25519PrivateKey* ephemeral = nullptr;
  const crypto::age::X25519Recipient* ephemeral_recipient = nullptr;
  // The keys the report data binds; null: the ephemeral ones.
  const crypto::Ed25519PublicKey* bound_key = nullptr;
  const crypto::age::X25519Recipient* bound_recipient = nullptr;
  const crypto::Ed25519PrivateKey* sim_key = nullptr;
  std::string measurement;  // 48 raw bytes
  bool debug = false;
  absl::Time now;
  std::string audience;  // the coordinator's fingerprint
};

inline ::triad::v1::AttestRequest SimAttestRequest(const SimAttestInputs& in) {
  const crypto::Ed25519PublicKey eph_public = in.ephemeral->public_key();
  crypto::DsseEnvelope request =
      coordinator::SignRequest("attest",
                               {{"job_id", in.job_id},
                                {"worker_id", in.worker_id},
                                {"nonce", base::HexEncode(in.nonce)},
                                {"ed25519_public_key", base::Base64Encode(eph_public.raw())},
                                {"age_recipient", in.ephemeral_recipient->ToString()}},
                               *in.provider, in.now, in.audience);
  crypto::DsseEnvelope pop{request.payload_type, request.payload, {}};
  crypto::DsseSign(pop, *in.ephemeral);
  auto report_data = attestation::ExpectedReportData(
      {in.nonce, in.job_id, in.bound_key != nullptr ? *in.bound_key : eph_public,
       in.bound_recipient != nullptr ? *in.bound_recipient : *in.ephemeral_recipient});
  EXPECT_TRUE(report_data.ok());
  auto evidence = attestation::MakeSimEvidence(
      *in.sim_key, {report_data.ok() ? *report_data : "", in.measurement, "UpToDate", in.debug});
  EXPECT_TRUE(evidence.ok());
  ::triad::v1::AttestRequest req;
  req.mutable_request()->set_envelope_json(request.ToJson());
  req.mutable_evidence()->set_tee("sim");
  req.mutable_evidence()->set_report(evidence.ok() ? *evidence : "");
  req.set_ephemeral_signature_envelope_json(pop.ToJson());
  return req;
}

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_SIM_ATTEST_H_
