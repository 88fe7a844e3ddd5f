#include "attestation/sim.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "attestation/internal/sim_evidence.h"
#include "base/file.h"
#include "base/status.h"
#include "contracts/claims.h"
#include "crypto/hash.h"

namespace triad::attestation {
namespace {

class SimVerifier final : public Verifier {
 public:
  explicit SimVerifier(const TrustAnchors& anchors) : keys_(anchors.sim_keys) {}

  Verdict Verify(const Evidence& evidence, absl::Time /*now*/) const override {
    Verdict v;
    if (evidence.tee != contracts::kTeeSim) {
      v.reasons.push_back(absl::StrCat("evidence is for TEE \"", evidence.tee, "\", not sim"));
      return v;
    }
    absl::StatusOr<internal::SimEvidence> e = internal::ParseSimEvidence(evidence.report);
    if (!e.ok()) {
      v.reasons.push_back(std::string(e.status().message()));
      return v;
    }
    if (!evidence.certs.empty() || !evidence.collateral.empty()) {
      v.reasons.push_back(
          "sim evidence carries no certificates or collateral, but some were supplied");
    }
    absl::StatusOr<crypto::Ed25519PublicKey> signer = crypto::Ed25519PublicKey::FromRaw(e->signer);
    if (!signer.ok()) {
      v.reasons.push_back("sim evidence signer is not a valid Ed25519 public key");
      return v;
    }
    bool trusted = false;
    for (const crypto::Ed25519PublicKey& k : keys_) trusted = trusted || k == *signer;
    if (!trusted) {
      v.reasons.push_back(absl::StrCat("sim evidence is signed by simulation key ", signer->KeyId(),
                                       ", which is not among the trusted sim keys"));
    }
    absl::string_view signed_part =
        absl::string_view(evidence.report).substr(0, internal::kSimSignedSize);
    if (!signer->Verify(signed_part, e->signature).ok()) {
      v.reasons.push_back("sim evidence signature does not verify");
    }
    if (!v.reasons.empty()) return v;
    v.valid = true;
    contracts::Claims& c = v.claims;
    c.tee = contracts::kTeeSim;
    c.report_data = e->report_data;
    c.measurement = e->measurement;
    c.debug = e->debug;
    c.tcb_status = e->tcb_status;
    c.sim = contracts::SimClaims{signer->KeyId()};
    return v;
  }

 private:
  std::vector<crypto::Ed25519PublicKey> keys_;
};

}  // namespace

std::unique_ptr<Verifier> NewSimVerifier(const TrustAnchors& anchors) {
  return std::make_unique<SimVerifier>(anchors);
}

absl::StatusOr<std::string> MakeSimEvidence(const crypto::Ed25519PrivateKey& key,
                                            const SimEvidenceFields& f) {
  internal::SimEvidence e;
  e.debug = f.debug;
  e.report_data = f.report_data;
  e.measurement = f.measurement;
  e.tcb_status = f.tcb_status;
  e.signer = key.public_key().raw();
  TRIAD_ASSIGN_OR_RETURN(std::string signed_part, internal::SimSignedPart(e));
  return signed_part + key.Sign(signed_part);
}

absl::StatusOr<std::string> MeasureExecutable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path, " to measure it"));
  crypto::Hasher h(crypto::HashAlg::kSha384);
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return base::ErrnoStatus(err, absl::StrCat("reading ", path, " to measure it"));
    }
    if (n == 0) break;
    h.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return h.Finish();
}

}  // namespace triad::attestation
