#include "watcher/attempt_outcome.h"

#include "base/json_util.h"
#include "watcher/classifier.h"

namespace backstop::watcher {
namespace {

using rapidjson::Value;

WallTime TimeAt(const Value* v) {
  auto text = AsString(v);
  return text ? ParseTimestamp(*text).value_or(WallTime{}) : WallTime{};
}

AttemptOutcome TaskOutcome(const Value& task) {
  AttemptOutcome out;
  const std::string phase = StringOrEmpty(Find(&task, {"status", "phase"}));
  if (phase == "Failed") {
    out.kind = AttemptOutcome::Kind::kFailed;
    out.reason = StringOrEmpty(Find(&task, {"status", "message"}));
    if (out.reason.empty()) out.reason = "Failed";
  } else if (phase == "Succeeded") {
    out.kind = AttemptOutcome::Kind::kSucceeded;
  } else {
    return out;
  }
  out.at = TimeAt(Find(&task, {"status", "completionTime"}));
  return out;
}

AttemptOutcome JobOutcome(const Value& job) {
  AttemptOutcome out;
  const Value* conditions = Find(&job, {"status", "conditions"});
  if (conditions == nullptr || !conditions->IsArray()) return out;
  for (const Value& c : conditions->GetArray()) {
    if (StringOrEmpty(Member(&c, "status")) != "True") continue;
    const std::string type = StringOrEmpty(Member(&c, "type"));
    if (type == "Failed") {
      out.kind = AttemptOutcome::Kind::kFailed;
      out.reason = StringOrEmpty(Member(&c, "reason"));
      if (out.reason.empty()) out.reason = "Failed";
    } else if (type == "Complete") {
      out.kind = AttemptOutcome::Kind::kSucceeded;
    } else {
      continue;
    }
    out.at = TimeAt(Member(&c, "lastTransitionTime"));
    return out;
  }
  return out;
}

AttemptOutcome PodOutcome(const Value& pod) {
  AttemptOutcome out;
  const PodClassification c = ClassifyPod(pod, WallTime{});
  if (c.phase == "Running" || c.phase == "Succeeded") {
    out.kind = AttemptOutcome::Kind::kSucceeded;
    return out;  // the time of a success is when it is seen
  }
  const Finding* terminal = nullptr;
  for (const Finding& f : c.findings) {
    if (f.terminal && (terminal == nullptr || f.since > terminal->since)) terminal = &f;
  }
  if (c.phase == "Failed") {
    out.kind = AttemptOutcome::Kind::kFailed;
    out.reason = StringOrEmpty(Find(&pod, {"status", "reason"}));
    if (out.reason.empty() && terminal != nullptr) out.reason = terminal->reason;
    if (out.reason.empty()) out.reason = "Failed";
    out.at = terminal != nullptr ? terminal->since : WallTime{};
  } else if (terminal != nullptr) {
    out.kind = AttemptOutcome::Kind::kFailed;
    out.reason = terminal->reason;
    out.at = terminal->since;
  } else {
    return out;
  }
  if (out.at == WallTime{}) out.at = TimeAt(Find(&pod, {"metadata", "creationTimestamp"}));
  return out;
}

}  // namespace

AttemptOutcome OutcomeOf(policy::OutcomeShape shape, const rapidjson::Value& object) {
  switch (shape) {
    case policy::OutcomeShape::kKelosTask:
      return TaskOutcome(object);
    case policy::OutcomeShape::kJob:
      return JobOutcome(object);
    case policy::OutcomeShape::kPod:
      return PodOutcome(object);
  }
  return {};
}

}  // namespace backstop::watcher
