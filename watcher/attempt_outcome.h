#pragma once

#include <rapidjson/document.h>

#include <string>

#include "base/time.h"
#include "policy/work_item.h"

namespace backstop::watcher {

// How one attempt of a work item has ended, as far as its object shows.
struct AttemptOutcome {
  enum class Kind { kNone, kFailed, kSucceeded };
  Kind kind = Kind::kNone;
  std::string reason;  // failed: Task message, Job condition reason, pod reason
  // When it ended: Task completionTime, the condition's lastTransitionTime, a container's
  // finishedAt; for a pod stuck waiting, its creation time (stable across relists). Unset
  // (epoch) when the object carries none.
  WallTime at{};
};

// Reads the outcome of an attempt of `shape`:
// - kelos Task: status.phase Failed (reason: status.message) / Succeeded;
// - Job: a Failed / Complete condition with status True (reason: the condition's reason);
// - Pod: phase Failed (reason: status.reason, or the terminated container's reason), or a
//   container waiting with a reason the classifier calls terminal (ErrImageNeverPull,
//   InvalidImageName, ...); Running or Succeeded is a success.
AttemptOutcome OutcomeOf(policy::OutcomeShape shape, const rapidjson::Value& object);

}  // namespace backstop::watcher
