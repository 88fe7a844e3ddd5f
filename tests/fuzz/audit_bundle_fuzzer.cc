// Fuzzes the audit bundle parser and every check behind it (coordinator/audit_verify.h). The seed
// is a real bundle, exported through the `triad` binary by the CLI test's coordinator
// (tests/cli/coordinator_cli_test.cc, AuditorVerifiesTheBundleOfflineAndWatchesTheLog); the card
// key, origin, simulation key and adapter digest below are that run's, so the seed passes every
// check and mutations reach the deep ones.
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
        CoordinatorCard{"triad-coordinator",
                        *triad::crypto::age::X25519Recipient::Parse(
                            "age1ftytj6wxl4ke66l99a4w4ucask8s3dfmz29wudhddkstgu0sjqzqnjrk0h"),
                        Key("OKdvphoNwhUWKHJvt3xZlJ850QInaepGTWwfN+E2atA="), "", "",
                        "triad-coordinator/log/d7a522e218e2a087"},
        {},
        {}};
    x->anchors.sim_keys.push_back(Key("YNMbmrIUDqwHC7w3+ur+5TNT28gQ7rzqiMVPtkIuEqA="));
    x->options.adapter_digest =
        "sha256:a127a5b3d7c49fa4c01464f73a11d416f99c083232a83b4f5ee52c4680cabd0a";
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
