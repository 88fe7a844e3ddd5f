// Fuzzes the coordinator's signed-request handling (coordinator/request.h) and the decoding of
// every request body (coordinator/internal/request_body.h), as a party's bytes reach them:
//   - the input as a request envelope: VerifyRequest for the action the payload names and for
//     another one, with the fixture's signer, audience and time; what verifies has exactly that
//     action, audience, a time within the skew, a 32-hex request id and an object body;
//   - the input as a bare payload, and the payload inside the input's envelope (signature or not):
//     ParseRequestPayload, then the body decoded as the handler of its action decodes it.
// Seeds (tests/fuzz/make_seeds.py): for each action the coordinator serves, an envelope the
// fixture's key signed and its bare payload.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/clock.h"
#include "base/encoding.h"
#include "contracts/card.h"
#include "coordinator/internal/request_body.h"
#include "coordinator/request.h"
#include "crypto/dsse.h"

namespace {

using namespace triad;
using namespace triad::coordinator;
namespace body = triad::coordinator::internal;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// What make_seeds.py signs with and addresses to.
constexpr char kSignerKey[] = "phcyu1YqPj5c88SHPF6SkXWX02BRloJImwjuDU90dk0=";
constexpr char kAudience[] = "07fbc4f0aef0b010d524db04241933fe58642b945ef2d827d388db745ff11b85";

struct Fixture {
  crypto::Ed25519PublicKey signer;
  absl::Time now;
};

const Fixture& Get() {
  static const Fixture* f = [] {
    absl::Time now;
    base::ParseRfc3339("2026-12-07T10:02:00Z", &now);
    return new Fixture{*crypto::Ed25519PublicKey::FromRaw(*base::Base64Decode(kSignerKey)), now};
  }();
  return *f;
}

absl::StatusOr<crypto::Ed25519PublicKey> Lookup(const std::string& keyid) {
  if (keyid == Get().signer.KeyId()) return Get().signer;
  return absl::PermissionDeniedError("unknown signer");
}

// The refusals of a body decoder are kInvalidArgument "request body: …" (or the card's own).
void CheckRefusal(const absl::Status& st) {
  Check(!st.ok() && st.code() == absl::StatusCode::kInvalidArgument);
}

template <typename T>
void Expect(const absl::StatusOr<T>& r) {
  if (!r.ok()) CheckRefusal(r.status());
}

// The body as the handler of `action` decodes it (coordinator.cc, admission.cc, keyholders.cc,
// bundle.cc, delivery.cc).
void DecodeBody(const std::string& action, const nlohmann::json& b) {
  if (action == "register-party") {
    auto card = body::DecodeRegisterPartyBody(b);
    Expect(card);
    if (card.ok()) Check(!card->fingerprint().empty());
  } else if (action == "register-artifact") {
    auto a = body::DecodeRegisterArtifactBody(b);
    Expect(a);
    if (a.ok()) {
      Check(body::IsSha256Id(a->id) && a->size >= 1 && contracts::ValidateName(a->name).ok());
      Check(a->owner_role == contracts::Role::kModelOwner ||
            a->owner_role == contracts::Role::kDataOwner);
    }
  } else if (action == "poll") {
    auto p = body::DecodePollBody(b);
    Expect(p);
    if (p.ok()) Check(contracts::ValidateName(p->worker_id).ok());
  } else if (action == "attest") {
    auto a = body::DecodeAttestBody(b);
    Expect(a);
    if (a.ok()) Check(a->nonce.size() == 32 && a->ed25519_public_key.raw().size() == 32);
  } else if (action == "report-progress") {
    auto p = body::DecodeProgressBody(b);
    Expect(p);
    if (p.ok()) {
      Check(p->total_steps >= 1 && p->step <= p->total_steps && p->tokens_per_second >= 0);
      if (b.contains("loss")) Expect(body::BodyNumber(b, "loss"));
    }
  } else if (action == "keyholder-answer") {
    auto a = body::DecodeKeyholderAnswerBody(b);
    Expect(a);
    if (a.ok()) (void)crypto::DsseEnvelope::FromJson(a->receipt_json);
  } else if (action == "export-bundle") {
    auto e = body::DecodeExportBundleBody(b, "j-1");
    Expect(e);
    if (e.ok()) Check(e->consistency_from.size() <= 16 && e->witnessed >= 0 && e->witnessed <= 16);
  } else if (action == "deliver-output") {
    auto r = body::DecodeDeliverOutputBody(b);
    Expect(r);
    if (r.ok()) (void)crypto::DsseEnvelope::FromJson(*r);
  } else if (action == "submit-job" || action == "get-contract") {
    absl::Status keys = body::CheckBodyKeys(b, {"contract_id"});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyString(b, "contract_id"));
  } else if (action == "revoke-contract" || action == "report-failure") {
    const char* id = action == "revoke-contract" ? "contract_id" : "job_id";
    absl::Status keys = body::CheckBodyKeys(b, {id, "reason"});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyString(b, id));
    auto reason = body::BodyString(b, "reason");
    Expect(reason);
    if (reason.ok()) {
      absl::Status st = body::CheckReason(*reason);
      if (!st.ok()) CheckRefusal(st);
      if (st.ok()) Check(!reason->empty() && reason->size() <= 1024);
    }
  } else if (action == "download-input") {
    absl::Status keys = body::CheckBodyKeys(b, {"job_id", "artifact_id"});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyString(b, "artifact_id"));
  } else if (action == "download-artifact") {
    absl::Status keys = body::CheckBodyKeys(b, {"artifact_id"});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyString(b, "artifact_id"));
  } else if (action == "keyholder-poll") {
    absl::Status keys = body::CheckBodyKeys(b, {"known_tree_size"});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyUint(b, "known_tree_size"));
  } else if (action == "get-entries" || action == "get-inclusion-proof") {
    bool entries = action == "get-entries";
    const char* first = entries ? "start" : "index";
    const char* second = entries ? "end" : "tree_size";
    absl::Status keys = body::CheckBodyKeys(b, {first, second});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyUint(b, first));
    Expect(body::BodyUint(b, second));
  } else {
    // get-job, fetch-output, await-keys, renew-lease, … and the ephemeral requests' job_id.
    absl::Status keys = body::CheckBodyKeys(b, {"job_id"});
    if (!keys.ok()) CheckRefusal(keys);
    Expect(body::BodyString(b, "job_id"));
  }
}

void FuzzPayload(absl::string_view payload) {
  absl::StatusOr<Request> r = ParseRequestPayload(payload);
  if (!r.ok()) {
    Check(r.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  Check(r->body.is_object() && r->request_id.size() == 32);
  DecodeBody(r->action, r->body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  const Fixture& f = Get();
  FuzzPayload(text);
  absl::StatusOr<crypto::DsseEnvelope> env = crypto::DsseEnvelope::FromJson(text, kMaxRequestSize);
  if (!env.ok()) return 0;
  FuzzPayload(env->payload);
  // The coordinator verifies against the action of the RPC called: the payload's own, and another.
  absl::StatusOr<Request> unverified = ParseRequestPayload(env->payload);
  std::string action = unverified.ok() ? unverified->action : "poll";
  for (const std::string& a : {action, std::string("get-job")}) {
    absl::StatusOr<VerifiedRequest> v = VerifyRequest(text, a, f.now, Lookup, kAudience);
    if (!v.ok()) continue;
    const Request& r = v->request;
    Check(r.action == a && r.audience == kAudience && r.body.is_object());
    Check(r.issued_at >= f.now - kRequestMaxSkew && r.issued_at <= f.now + kRequestMaxSkew);
    Check(v->signer == f.signer && v->envelope.signatures.size() == 1);
    Check(r.request_id.size() == 32 && base::HexDecode(r.request_id).ok());
    DecodeBody(r.action, r.body);
  }
  return 0;
}
