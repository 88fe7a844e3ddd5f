// The keyholder's connection to a coordinator: it connects out (owners sit behind NAT and
// firewalls; the coordinator never reaches into their network), long-polls for release requests,
// decides each (keyholder.h), answers, and witnesses the log: every checkpoint it verified to
// extend the one it saw before, it cosigns (C2SP tlog-cosignature) and hands back. It retries with
// exponential backoff while the coordinator is away and goes on when it returns.
#ifndef TRIAD_KEYHOLDER_CLIENT_H_
#define TRIAD_KEYHOLDER_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "grpcpp/grpcpp.h"
#include "keyholder/keyholder.h"
#include "triad/v1/keyholders.pb.h"

namespace triad::keyholder {

struct ServeOptions {
  absl::Duration retry_initial = absl::Milliseconds(200);
  absl::Duration retry_max = absl::Seconds(10);
  absl::Duration poll_deadline = absl::Seconds(30);
  // Cosign the checkpoints this keyholder verified (a witness of the log).
  bool witness = true;
  // Called once per decision (the CLI prints a line). May be null.
  std::function<void(const Answer&)> on_decision;
};

// What a release request says, for Keyholder::Decide.
verify::ReleaseContext ReleaseContextFromProto(const ::triad::v1::ReleaseRequest& request);

// An ArtifactReader over Registry.DownloadArtifact (the owner downloads its own artifact).
// `clock` dates the requests and must outlive the reader.
ArtifactReader DownloadFromCoordinator(std::shared_ptr<grpc::Channel> channel,
                                       const crypto::Ed25519PrivateKey& owner_key,
                                       std::string coordinator_fingerprint,
                                       const base::Clock& clock = base::SystemClock());

// Serves until `stop` is set: poll, decide, answer, witness. Returns OK when stopped; an error only
// for what retrying cannot fix (the coordinator refuses this owner: not registered, wrong role).
absl::Status Serve(Keyholder& keyholder, std::shared_ptr<grpc::Channel> channel,
                   const ServeOptions& options, const std::atomic<bool>& stop);

}  // namespace triad::keyholder

#endif  // TRIAD_KEYHOLDER_CLIENT_H_
