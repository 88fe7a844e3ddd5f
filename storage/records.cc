#include "storage/records.h"

#include "absl/strings/str_cat.h"

namespace triad::storage {
namespace {

constexpr absl::string_view kJobStateNames[] = {"queued",  "assigned", "attesting", "admitted",
                                                "running", "sealing",  "done",      "failed"};
constexpr absl::string_view kArtifactKindNames[] = {"model", "dataset", "adapter"};
constexpr absl::string_view kContractStateNames[] = {"draft", "active", "expired"};

template <typename E, size_t N>
absl::StatusOr<E> ParseName(const absl::string_view (&names)[N], absl::string_view name,
                            absl::string_view what) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " \"", name, "\""));
}

}  // namespace

absl::string_view JobStateName(JobState s) { return kJobStateNames[static_cast<int>(s)]; }

absl::StatusOr<JobState> ParseJobState(absl::string_view name) {
  return ParseName<JobState>(kJobStateNames, name, "job state");
}

bool IsTerminal(JobState s) { return s == JobState::kDone || s == JobState::kFailed; }

absl::Status CheckJobTransition(JobState from, JobState to) {
  using S = JobState;
  bool legal = false;
  if (!IsTerminal(from)) {
    if (to == S::kFailed) {
      legal = true;
    } else if (to == S::kQueued) {
      // A retry: the worker was rejected or lost, or the coordinator restarted mid-job.
      legal = from != S::kQueued;
    } else {
      // One step forward along queued -> assigned -> attesting -> admitted -> running -> sealing -> done.
      legal = static_cast<int>(to) == static_cast<int>(from) + 1;
    }
  }
  if (legal) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("illegal job state transition ", JobStateName(from),
                                                    " -> ", JobStateName(to),
                                                    IsTerminal(from) ? absl::StrCat(", ", JobStateName(from), " is final") : ""));
}

absl::string_view ArtifactKindName(ArtifactKind k) { return kArtifactKindNames[static_cast<int>(k)]; }

absl::StatusOr<ArtifactKind> ParseArtifactKind(absl::string_view name) {
  return ParseName<ArtifactKind>(kArtifactKindNames, name, "artifact kind");
}

absl::string_view ContractStateName(ContractState s) { return kContractStateNames[static_cast<int>(s)]; }

absl::StatusOr<ContractState> ParseContractState(absl::string_view name) {
  return ParseName<ContractState>(kContractStateNames, name, "contract state");
}

absl::Status CheckContractTransition(ContractState from, ContractState to) {
  bool legal = (from == ContractState::kDraft && to != ContractState::kDraft) ||
               (from == ContractState::kActive && to == ContractState::kExpired);
  if (legal) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("illegal contract state transition ",
                                                    ContractStateName(from), " -> ", ContractStateName(to)));
}

}  // namespace triad::storage

namespace triad::storage {

absl::string_view ReleaseStateName(ReleaseState s) {
  switch (s) {
    case ReleaseState::kPending:
      return "pending";
    case ReleaseState::kReleased:
      return "released";
    case ReleaseState::kRefused:
      return "refused";
    case ReleaseState::kCancelled:
      return "cancelled";
  }
  return "?";
}

absl::StatusOr<ReleaseState> ParseReleaseState(absl::string_view name) {
  for (ReleaseState s : {ReleaseState::kPending, ReleaseState::kReleased, ReleaseState::kRefused,
                         ReleaseState::kCancelled}) {
    if (ReleaseStateName(s) == name) return s;
  }
  return absl::DataLossError(absl::StrCat("unknown release state \"", name, "\""));
}

}  // namespace triad::storage
