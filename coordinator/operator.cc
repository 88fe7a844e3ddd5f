#include "coordinator/operator.h"

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/status.h"
#include "coordinator/internal/common.h"

namespace triad::coordinator {

absl::StatusOr<bool> AddParty(storage::Store& store, const contracts::PartyCard& card,
                              absl::Time now) {
  std::string card_json = card.ToJson();
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store.Begin());
  absl::StatusOr<storage::Party> by_name = txn.GetParty(card.name);
  if (by_name.ok()) {
    if (by_name->card_json == card_json && !by_name->removed_at) return false;
    if (by_name->card_json == card_json) {
      return absl::FailedPreconditionError(absl::StrCat(
          "party ", card.name, " was removed at ", base::FormatRfc3339(*by_name->removed_at),
          "; a removed party stays removed (its log entries name it): add it under a new name"));
    }
    return absl::AlreadyExistsError(absl::StrCat("party ", card.name, " is already registered",
                                                 by_name->removed_at ? " (and removed)" : "",
                                                 " with another card (key ", by_name->key_id, ")"));
  }
  absl::StatusOr<storage::Party> by_key = txn.GetPartyByKeyId(card.fingerprint());
  if (by_key.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("key ", card.fingerprint(), " is already registered to party ", by_key->name));
  }
  nlohmann::ordered_json note;
  note["added_by"] = "operator";
  note["at"] = base::FormatRfc3339(now);
  TRIAD_RETURN_IF_ERROR(txn.InsertParty({card.name,
                                         std::string(contracts::RoleName(card.role)),
                                         card.fingerprint(),
                                         card_json,
                                         note.dump(),
                                         {},
                                         std::nullopt}));
  TRIAD_RETURN_IF_ERROR(internal::AddLog(txn, "", "party.registered", now,
                                         {{"name", card.name},
                                          {"role", contracts::RoleName(card.role)},
                                          {"fingerprint", card.fingerprint()},
                                          {"age_recipient", card.age_recipient.ToString()},
                                          {"added_by", "operator"}}));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  return true;
}

absl::Status RemoveParty(storage::Store& store, absl::string_view name, absl::Time now) {
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store.Begin());
  TRIAD_ASSIGN_OR_RETURN(storage::Party p, txn.GetParty(name));
  TRIAD_RETURN_IF_ERROR(txn.RemoveParty(name));
  TRIAD_RETURN_IF_ERROR(
      internal::AddLog(txn, "", "party.removed", now,
                       {{"name", p.name}, {"fingerprint", p.key_id}, {"removed_by", "operator"}}));
  return txn.Commit().status();
}

absl::StatusOr<std::vector<PartyListing>> ListParties(const storage::Store& store) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Party> parties, store.ListParties());
  std::vector<PartyListing> out;
  for (const storage::Party& p : parties) {
    out.push_back({p.name, p.role, p.key_id, p.registered_at, p.removed_at.has_value()});
  }
  return out;
}

}  // namespace triad::coordinator
