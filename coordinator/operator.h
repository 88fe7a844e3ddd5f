// What the coordinator's operator does on its state directory, with or without the server running
// (SQLite serializes the writers; every change is logged like any other): admit parties, list
// them, remove one. Registration is by the operator's approval (docs/custody.md, "Who holds
// what"): a party sends its card out of band and the operator adds it; self-registration exists
// only with `coordinator serve --open-registration`.
#ifndef TRIAD_COORDINATOR_OPERATOR_H_
#define TRIAD_COORDINATOR_OPERATOR_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contracts/card.h"
#include "storage/store.h"

namespace triad::coordinator {

struct PartyListing {
  std::string name;
  std::string role;
  std::string fingerprint;
  absl::Time registered_at;
  bool removed = false;
};

// Registers `card` (logged party.registered, added_by "operator"). kAlreadyExists naming the
// existing party when the name or key is taken by another card; the same card again is OK
// (returns false: nothing changed).
absl::StatusOr<bool> AddParty(storage::Store& store, const contracts::PartyCard& card,
                              absl::Time now);

// Marks a party removed (logged party.removed): its requests are refused from then on; its
// records stay. kNotFound, or kFailedPrecondition when it was removed already.
absl::Status RemoveParty(storage::Store& store, absl::string_view name, absl::Time now);

absl::StatusOr<std::vector<PartyListing>> ListParties(const storage::Store& store);

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_OPERATOR_H_
