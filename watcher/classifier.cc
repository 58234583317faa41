#include "watcher/classifier.h"

#include <algorithm>
#include <cctype>

#include "base/json_util.h"

namespace backstop::watcher {
namespace {

using rapidjson::Value;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TimePoint TimeOf(const Value* v) {
  auto s = AsString(v);
  if (!s) return {};
  return ParseTimestamp(*s).value_or(TimePoint{});
}

// The condition of `type` in status.conditions, or null.
const Value* Condition(const Value& obj, std::string_view type) {
  const Value* conditions = Find(&obj, {"status", "conditions"});
  if (conditions == nullptr || !conditions->IsArray()) return nullptr;
  for (const Value& c : conditions->GetArray()) {
    if (AsString(Member(&c, "type")) == type) return &c;
  }
  return nullptr;
}

// When the pod's containers stopped being ready: the best time a waiting state has.
TimePoint NotReadySince(const Value& pod, ContainerKind kind) {
  for (std::string_view type : {kind == ContainerKind::kInit ? std::string_view("Initialized")
                                                             : std::string_view("ContainersReady"),
                                std::string_view("Ready")}) {
    const Value* c = Condition(pod, type);
    if (c != nullptr && AsString(Member(c, "status")) == "False") {
      TimePoint t = TimeOf(Member(c, "lastTransitionTime"));
      if (t != TimePoint{}) return t;
    }
  }
  return {};
}

struct WaitingRule {
  std::string_view reason;
  bool terminal;
};

// Waiting reasons reported as they are. ErrImagePull / ImagePullBackOff / CrashLoopBackOff
// are handled separately.
constexpr WaitingRule kWaitingRules[] = {
    {reason::kErrImageNeverPull, true},         {reason::kInvalidImageName, true},
    {reason::kSignatureValidationFailed, true}, {reason::kRegistryUnavailable, false},
    {reason::kImageInspectError, false},        {reason::kCreateContainerConfigError, false},
    {reason::kCreateContainerError, false},
};

bool IsTerminalImageReason(std::string_view r) {
  return r == reason::kErrImageNeverPull || r == reason::kInvalidImageName ||
         r == reason::kSignatureValidationFailed;
}

void ClassifyContainers(const Value& pod, const char* spec_key, const char* status_key,
                        ContainerKind kind, bool pod_failed, bool pod_level_terminal,
                        PodClassification* out) {
  const Value* statuses = Find(&pod, {"status", status_key});
  if (statuses == nullptr || !statuses->IsArray()) return;
  const Value* specs = Find(&pod, {"spec", spec_key});

  for (const Value& cs : statuses->GetArray()) {
    if (!cs.IsObject()) continue;
    Finding base;
    base.container = StringOrEmpty(Member(&cs, "name"));
    base.kind = kind;
    base.node = out->node;
    if (specs != nullptr && specs->IsArray()) {
      for (const Value& spec : specs->GetArray()) {
        if (AsString(Member(&spec, "name")) == std::string_view(base.container)) {
          base.image = StringOrEmpty(Member(&spec, "image"));
          break;
        }
      }
    }
    if (base.image.empty()) base.image = StringOrEmpty(Member(&cs, "image"));

    const Value* state = Member(&cs, "state");
    if (const Value* waiting = Member(state, "waiting"); waiting != nullptr) {
      const std::string r = StringOrEmpty(Member(waiting, "reason"));
      Finding f = base;
      f.message = StringOrEmpty(Member(waiting, "message"));
      f.since = NotReadySince(pod, kind);
      bool report = false;
      for (const WaitingRule& rule : kWaitingRules) {
        if (r == rule.reason) {
          f.reason = r;
          f.terminal = rule.terminal;
          report = true;
        }
      }
      if (r == reason::kErrImagePull) {
        f.reason = r;
        f.image_missing_from_registry = IsRegistryNotFoundMessage(f.message);
        report = true;
      } else if (r == reason::kImagePullBackOff) {
        f.reason = r;
        if (auto cause = ParseBackOffMessage(f.message)) {
          f.previous_reason = cause->reason;
          f.terminal = IsTerminalImageReason(cause->reason);
          f.image_missing_from_registry =
              (cause->reason == reason::kErrImagePull) && IsRegistryNotFoundMessage(cause->detail);
        }
        report = true;
      } else if (r == reason::kCrashLoopBackOff) {
        f.reason = r;
        report = true;
        // A container killed for memory then restarted: the cause is worth its own finding.
        const Value* last = Find(&cs, {"lastState", "terminated"});
        if (AsString(Member(last, "reason")) == reason::kOOMKilled) {
          Finding oom = base;
          oom.reason = reason::kOOMKilled;
          oom.terminal = false;
          oom.message = StringOrEmpty(Member(last, "message"));
          oom.since = TimeOf(Member(last, "finishedAt"));
          out->findings.push_back(std::move(f));
          out->findings.push_back(std::move(oom));
          continue;
        }
      }
      if (report) out->findings.push_back(std::move(f));
    } else if (const Value* term = Member(state, "terminated"); term != nullptr) {
      const std::string r = StringOrEmpty(Member(term, "reason"));
      const Value* code = Member(term, "exitCode");
      const int64_t exit_code = (code != nullptr && code->IsInt64()) ? code->GetInt64() : 0;
      Finding f = base;
      f.since = TimeOf(Member(term, "finishedAt"));
      f.terminal = pod_failed;
      if (r == reason::kOOMKilled) {
        f.reason = r;
        f.message = StringOrEmpty(Member(term, "message"));
        if (f.message.empty()) f.message = "exit code " + std::to_string(exit_code);
        out->findings.push_back(std::move(f));
      } else if (exit_code != 0 && !pod_level_terminal) {
        // After an eviction or deadline the kill is a consequence, not a cause.
        f.reason = reason::kNonZeroExit;
        f.message = "exit code " + std::to_string(exit_code);
        if (!r.empty()) f.message += " (" + r + ")";
        std::string detail = StringOrEmpty(Member(term, "message"));
        if (!detail.empty()) f.message += ": " + detail;
        out->findings.push_back(std::move(f));
      }
    } else if (Member(state, "running") != nullptr) {
      if (!base.image.empty()) out->running_images.push_back(base.image);
    }
  }
}

}  // namespace

const std::vector<std::string_view>& AllReasons() {
  static const std::vector<std::string_view> kAll = {
      reason::kErrImageNeverPull,
      reason::kInvalidImageName,
      reason::kSignatureValidationFailed,
      reason::kErrImagePull,
      reason::kImagePullBackOff,
      reason::kRegistryUnavailable,
      reason::kImageInspectError,
      reason::kCreateContainerConfigError,
      reason::kCreateContainerError,
      reason::kCrashLoopBackOff,
      reason::kOOMKilled,
      reason::kNonZeroExit,
      reason::kEvicted,
      reason::kUnschedulable,
      reason::kDeadlineExceeded,
      reason::kBackoffLimitExceeded,
  };
  return kAll;
}

std::string_view ContainerKindName(ContainerKind kind) {
  switch (kind) {
    case ContainerKind::kInit:
      return "init";
    case ContainerKind::kRegular:
      return "regular";
    case ContainerKind::kEphemeral:
      return "ephemeral";
    case ContainerKind::kNone:
      break;
  }
  return "";
}

bool IsRegistryNotFoundMessage(std::string_view message) {
  const std::string m = Lower(message);
  // Private images without credentials also come back as "not found" from some
  // registries, but then the message speaks of authorisation: never call those missing.
  for (std::string_view auth : {"unauthorized", "denied", "authentication required", "forbidden",
                                "may require", "401", "403"}) {
    if (Contains(m, auth)) return false;
  }
  for (std::string_view nf : {"manifest unknown", "not found", "code = notfound", "name unknown",
                              "repository does not exist"}) {
    if (Contains(m, nf)) return true;
  }
  return false;
}

std::optional<BackOffCause> ParseBackOffMessage(std::string_view message) {
  constexpr std::string_view kPrefix = "back-off pulling image \"";
  if (message.size() < kPrefix.size() || Lower(message.substr(0, kPrefix.size())) != kPrefix) {
    return std::nullopt;
  }
  size_t close = message.find('"', kPrefix.size());
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(close + 1);
  if (rest.size() < 2 || rest.substr(0, 2) != ": ") return std::nullopt;
  rest.remove_prefix(2);
  size_t colon = rest.find(':');
  if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
  std::string_view r = rest.substr(0, colon);
  for (char c : r) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  std::string_view detail = rest.substr(colon + 1);
  while (!detail.empty() && detail.front() == ' ') detail.remove_prefix(1);
  return BackOffCause{std::string(r), std::string(detail)};
}

PodClassification ClassifyPod(const Value& pod, TimePoint now, const ClassifyOptions& options) {
  PodClassification out;
  const std::string ns = StringOrEmpty(Find(&pod, {"metadata", "namespace"}));
  const std::string name = StringOrEmpty(Find(&pod, {"metadata", "name"}));
  out.namespace_name = ns.empty() ? name : ns + "/" + name;
  out.uid = StringOrEmpty(Find(&pod, {"metadata", "uid"}));
  out.node = StringOrEmpty(Find(&pod, {"spec", "nodeName"}));
  out.phase = StringOrEmpty(Find(&pod, {"status", "phase"}));

  const std::string pod_reason = StringOrEmpty(Find(&pod, {"status", "reason"}));
  const bool pod_failed = out.phase == "Failed";
  const bool pod_level_terminal =
      pod_reason == reason::kEvicted || pod_reason == reason::kDeadlineExceeded;
  if (pod_level_terminal) {
    Finding f;
    f.reason = pod_reason;
    f.terminal = true;
    f.node = out.node;
    f.message = StringOrEmpty(Find(&pod, {"status", "message"}));
    f.since = NotReadySince(pod, ContainerKind::kRegular);
    out.findings.push_back(std::move(f));
  }

  if (const Value* scheduled = Condition(pod, "PodScheduled");
      scheduled != nullptr && AsString(Member(scheduled, "status")) == "False" &&
      AsString(Member(scheduled, "reason")) == reason::kUnschedulable) {
    const TimePoint since = TimeOf(Member(scheduled, "lastTransitionTime"));
    // Without a timestamp the grace cannot be measured: report at once.
    const TimePoint due = since == TimePoint{} ? since : since + options.unschedulable_grace;
    Finding f;
    f.reason = reason::kUnschedulable;
    f.terminal = false;
    f.message = StringOrEmpty(Member(scheduled, "message"));
    f.since = since;
    if (now >= due) {
      out.findings.push_back(std::move(f));
    } else {
      out.unschedulable_pending = std::move(f);
    }
  }

  ClassifyContainers(pod, "initContainers", "initContainerStatuses", ContainerKind::kInit,
                     pod_failed, pod_level_terminal, &out);
  ClassifyContainers(pod, "containers", "containerStatuses", ContainerKind::kRegular, pod_failed,
                     pod_level_terminal, &out);
  ClassifyContainers(pod, "ephemeralContainers", "ephemeralContainerStatuses",
                     ContainerKind::kEphemeral, pod_failed, pod_level_terminal, &out);
  return out;
}

std::vector<Finding> ClassifyJob(const Value& job) {
  std::vector<Finding> out;
  const Value* conditions = Find(&job, {"status", "conditions"});
  if (conditions == nullptr || !conditions->IsArray()) return out;
  for (const Value& c : conditions->GetArray()) {
    if (AsString(Member(&c, "type")) != "Failed" || AsString(Member(&c, "status")) != "True") {
      continue;
    }
    const std::string r = StringOrEmpty(Member(&c, "reason"));
    if (r != reason::kDeadlineExceeded && r != reason::kBackoffLimitExceeded) continue;
    Finding f;
    f.reason = r;
    f.terminal = true;
    f.message = StringOrEmpty(Member(&c, "message"));
    f.since = TimeOf(Member(&c, "lastTransitionTime"));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace backstop::watcher
