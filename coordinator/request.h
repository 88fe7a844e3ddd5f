// Signed requests: how a party (or a worker's ephemeral key) asks the coordinator to change state.
//
// A request is a DSSE envelope, payloadType kRequestPayloadType, whose payload is
//   {"type": "triad.request/v2", "action": "submit-job", "audience": "<coordinator fingerprint>",
//    "issued_at": "2026-11-24T10:00:00Z", "request_id": "<32 hex>", "body": {…}}
// signed by exactly one Ed25519 key. The audience is the fingerprint of the coordinator card's
// Ed25519 key: a request signed for one coordinator is refused by every other. The coordinator
// checks the action against the RPC, the audience against its own card, the signature against the
// key it knows for the signer, `issued_at` within kRequestMaxSkew of its clock (either side), and
// that `request_id` was never used before (replay), then stores the envelope. A signed read that
// opens a stream (WatchJob) keeps it open only while the request is fresh: until issued_at +
// kRequestMaxSkew.
#ifndef TRIAD_COORDINATOR_REQUEST_H_
#define TRIAD_COORDINATOR_REQUEST_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::coordinator {

inline constexpr char kRequestPayloadType[] = "application/vnd.triad.request+json";
inline constexpr char kRequestType[] = "triad.request/v2";
inline constexpr absl::Duration kRequestMaxSkew = absl::Minutes(5);
inline constexpr size_t kMaxRequestSize = 1 << 20;

struct Request {
  std::string action;
  std::string audience;  // the fingerprint of the coordinator it is addressed to
  absl::Time issued_at;
  std::string request_id;
  nlohmann::json body;  // an object
};

// Builds and signs a request to the coordinator whose card's key fingerprint is `audience` (a fresh
// random request_id).
crypto::DsseEnvelope SignRequest(absl::string_view action, nlohmann::json body,
                                 const crypto::Ed25519PrivateKey& key, absl::Time now,
                                 absl::string_view audience);

struct VerifiedRequest {
  Request request;
  crypto::Ed25519PublicKey signer;
  crypto::DsseEnvelope envelope;
};

// Finds the public key for a DSSE keyid, or fails (kPermissionDenied: "unknown signer …").
using KeyLookup = std::function<absl::StatusOr<crypto::Ed25519PublicKey>(const std::string& keyid)>;

// Verifies a request envelope addressed to `audience` (the verifying coordinator's fingerprint).
// Errors name the failed check: kPermissionDenied for authentication and for another audience
// ("request is addressed to coordinator X, not to this one (Y)"), kInvalidArgument for form,
// kDeadlineExceeded for a request issued more than kRequestMaxSkew before `now` or after it ("…
// issued_at T is 7 minutes after the coordinator's time N; check the clocks"). Replay is checked by
// the caller against its store of request ids.
absl::StatusOr<VerifiedRequest> VerifyRequest(absl::string_view envelope_json,
                                              absl::string_view action, absl::Time now,
                                              const KeyLookup& lookup, absl::string_view audience);

// Parses a request's payload without checking its signature (for a caller that verifies the signer
// from the payload itself, such as a party registering its own card).
absl::StatusOr<Request> ParseRequestPayload(absl::string_view payload);

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_REQUEST_H_
