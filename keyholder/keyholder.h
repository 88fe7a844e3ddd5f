// The keyholder (docs/custody.md): an owner's own process that holds its release identity and
// decides, for each admission of a job that uses its artifact, whether to re-wrap that artifact's
// file key to the admitted worker. It verifies everything itself (verify/admission.h) against the
// contract its owner signed, its own roots and clock, the log, and what only it knows (its journal:
// the checkpoint it saw last, the nonces it has seen, the jobs it released for, its revocations,
// the artifact's header as its owner uploaded it), and never takes a header or a verdict from the
// coordinator.
//
// This class is the decision, over a journal and an injected way to read an artifact's ciphertext;
// keyholder/client.h connects it to a coordinator. Not thread-safe.
#ifndef TRIAD_KEYHOLDER_KEYHOLDER_H_
#define TRIAD_KEYHOLDER_KEYHOLDER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/verifier.h"
#include "base/clock.h"
#include "contracts/card.h"
#include "coordinator/card.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "keyholder/journal.h"
#include "verify/admission.h"

namespace triad::keyholder {

// The owner whose keys the keyholder holds (triad keygen's files).
struct Owner {
  contracts::PartyCard card;
  const crypto::Ed25519PrivateKey* signing_key = nullptr;                // borrowed
  const std::vector<crypto::age::X25519Identity>* identities = nullptr;  // borrowed
};

// Streams an artifact's whole ciphertext (the owner's own download from the coordinator) to
// `sink`, chunk by chunk.
using ArtifactReader = std::function<absl::Status(
    const std::string& artifact_id, const std::function<absl::Status(absl::string_view)>& sink)>;

// The answer to one release request.
struct Answer {
  std::string release_id;
  bool release = false;
  std::string header;        // the re-wrapped age header (a release)
  std::string receipt_json;  // the signed receipt (always)
  bool final = false;
  std::vector<std::string> reasons;  // a refusal's
  bool replayed = false;             // sent before: read back from the journal
};

class Keyholder {
 public:
  // Everything borrowed must outlive the keyholder.
  Keyholder(Journal& journal, Owner owner, coordinator::CoordinatorCard coordinator,
            attestation::TrustAnchors anchors, const base::Clock& clock,
            ArtifactReader read_artifact);

  // Decides one request and journals the decision before returning it. An error (not a refusal)
  // means nothing was decided: I/O, or the artifact could not be read; the coordinator will ask
  // again.
  absl::StatusOr<Answer> Decide(const verify::ReleaseContext& request);

  const Owner& owner() const { return owner_; }
  const coordinator::CoordinatorCard& coordinator() const { return coordinator_; }
  Journal& journal() { return journal_; }
  const base::Clock& clock() const { return clock_; }

  // Witnessing: `signed_note` (the coordinator's newest checkpoint, with a consistency proof from
  // the last one this keyholder saw) must extend that one; then it becomes the last one seen and
  // the cosigned note (this owner's cosignature line added) is returned. A note that does not
  // extend it is a fork: kept in the journal, and kFailedPrecondition.
  absl::StatusOr<std::string> Witness(absl::string_view signed_note, uint64_t proof_from,
                                      const std::vector<std::string>& consistency_proof);

 private:
  // The artifact's header as its owner uploaded it, learned (once) by hashing its whole ciphertext
  // and checked to open with the owner's identity alone.
  absl::StatusOr<std::string> KnownHeader(const std::string& artifact_id);
  Answer Refuse(const verify::ReleaseContext& r, std::vector<std::string> reasons, bool final,
                const std::optional<verify::VerifiedAdmission>& a,
                const std::optional<crypto::Checkpoint>& cp);

  Journal& journal_;
  Owner owner_;
  coordinator::CoordinatorCard coordinator_;
  attestation::TrustAnchors anchors_;
  const base::Clock& clock_;
  ArtifactReader read_artifact_;
};

// Hashes a ciphertext the owner holds (`read_all` streams it) and records its header under its id
// (`triad keyholder import`), so that no download is needed at the first release; returns the id.
// Fails when the header does not open with the owner's identity or has another stanza.
absl::StatusOr<std::string> ImportArtifact(
    Journal& journal, const Owner& owner, absl::Time now,
    const std::function<absl::Status(const std::function<absl::Status(absl::string_view)>&)>&
        read_all);

}  // namespace triad::keyholder

#endif  // TRIAD_KEYHOLDER_KEYHOLDER_H_
