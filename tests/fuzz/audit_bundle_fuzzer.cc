// Fuzzes the audit bundle parser and every check behind it (verify/audit_verify.h), key releases
// and their receipts included. The seed is a real bundle, exported through the `triad` binary by
// the CLI test's coordinator with real keyholders (tests/cli/coordinator_cli_test.cc,
// AuditorVerifiesTheBundleOfflineAndWatchesTheLog, run with TRIAD_WRITE_FUZZ_SEED=DIR, which also
// writes the values below); the card key, origin, simulation key and adapter digest are that run's,
// so the seed passes every check and mutations reach the deep ones.
#include <cstddef>
#include <cstdint>

#include "base/encoding.h"
#include "verify/audit_verify.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"

namespace {

using triad::verify::AuditOptions;
using triad::coordinator::CoordinatorCard;

struct Fixture {
  CoordinatorCard card;
  triad::attestation::TrustAnchors anchors;
  AuditOptions options;
};

triad::crypto::Ed25519PublicKey Key(const char* b64) {
  return *triad::crypto::Ed25519PublicKey::FromRaw(*triad::base::Base64Decode(b64));
}

const Fixture& Get() {
  static const Fixture* f = [] {
    auto* x = new Fixture{
        CoordinatorCard{"triad-coordinator", Key("Skp4LviuRa+EEpsVGdKBU/z/3MsyuSlNkYJ31ieOieU="),
                        "", "", "triad-coordinator/log/720d35173fdd1c8d"},
        {},
        {}};
    x->anchors.sim_keys.push_back(Key("18Y/8wgJB40tsBP4uRstypliRL6/rQY/JamSRlsvfsQ="));
    x->options.adapter_digest =
        "sha256:1856dc8903eb680f30386370f03b5961a284c905967cfbc865c0eb68f2d10cc4";
    return x;
  }();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  const Fixture& f = Get();
  triad::verify::AuditReport r =
      triad::verify::VerifyBundle(text, f.card, f.anchors, f.options);
  // A report always says something; a bundle that does not parse gets that one line only.
  if (r.checks.empty()) __builtin_trap();
  if (!r.checks[0].ok && r.checks.size() != 1) __builtin_trap();
  if (r.ok() && r.job_id.empty()) __builtin_trap();
  // Rendering never throws or prints a control character.
  std::string t = r.ToText();
  for (char c : t) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) __builtin_trap();
  }
  (void)r.ToJson().dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return 0;
}
