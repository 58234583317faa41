#include "policy/taskspawner_policy.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_util.h"
#include "policy/engine.h"
#include "policy/field_rules.h"
#include "policy/go_duration.h"

namespace backstop::policy {
namespace {

using std::chrono::nanoseconds;

constexpr std::string_view kFailurePolicyRule = "taskspawner.failurePolicy";
constexpr std::string_view kPollIntervalRule = "taskspawner.pollInterval";
constexpr std::string_view kTtlRule = "taskspawner.ttlSecondsAfterFinished";
constexpr std::string_view kLoopRiskRule = "taskspawner.loopRisk";

// Sources the kelos spawner polls; each carries its own pollInterval.
constexpr std::array<std::string_view, 3> kPolledSources = {"githubIssues", "githubPullRequests",
                                                            "jira"};
// spec.when in both versions; v1alpha1 also has spec.on (when being its deprecated twin).
constexpr std::array<std::string_view, 2> kSourceContainers = {"when", "on"};

// What a poll interval field holds.
struct PollIntervalField {
  enum class State { kUnset, kValid, kInvalid };
  State state = State::kUnset;
  nanoseconds value{0};
};

PollIntervalField CheckPollInterval(FieldRules& rules, const FieldPath& path,
                                    const TaskSpawnerOptions& options) {
  PollIntervalField field;
  const rapidjson::Value* v = rules.Get(path);
  if (v == nullptr) return field;
  std::optional<std::string_view> text = rules.OptionalString(kPollIntervalRule, path);
  if (!text) {
    field.state = PollIntervalField::State::kInvalid;
    return field;
  }
  // kelos treats an empty string as unset and polls every 5m.
  if (text->empty()) return field;
  const std::string got = QuoteJson(*text);
  StatusOr<KelosPollInterval> parsed = ParseKelosPollInterval(*text);
  if (!parsed.ok()) {
    field.state = PollIntervalField::State::kInvalid;
    rules.Violate(std::string(kPollIntervalRule), path,
                  "not a Go duration or whole seconds: " + got + " (kelos would use 5m)");
    return field;
  }
  const std::string shown =
      parsed->whole_seconds ? got + " (" + FormatShortDuration(parsed->value) + ")" : got;
  if (parsed->value < nanoseconds(0)) {
    field.state = PollIntervalField::State::kInvalid;
    rules.Violate(std::string(kPollIntervalRule), path, "must not be negative, got " + shown);
    return field;
  }
  if (parsed->value < options.min_poll_interval) {
    field.state = PollIntervalField::State::kInvalid;
    rules.Violate(
        std::string(kPollIntervalRule), path,
        "must be >= " + FormatShortDuration(options.min_poll_interval) + ", got " + shown);
    return field;
  }
  field.state = PollIntervalField::State::kValid;
  field.value = parsed->value;
  return field;
}

bool NonEmptyString(const rapidjson::Value* v) {
  return v != nullptr && v->IsString() && v->GetStringLength() > 0;
}

// A polled source found in the spec.
struct PolledSource {
  std::string_view name;
  PollIntervalField poll;
  bool has_trigger_comment = false;
};

// "<source>: a failing item is recreated every ~<TTL + poll> (TTL <ttl> + poll <poll>); ..."
// The breakdown is dropped when it would push the warning past 120 characters.
std::string LoopRiskWarning(std::string_view source, int64_t ttl_seconds, nanoseconds poll) {
  const nanoseconds ttl = std::chrono::seconds(ttl_seconds);
  // Saturate instead of overflowing for absurd poll intervals.
  const nanoseconds sum =
      poll > nanoseconds::max() - ttl ? nanoseconds::max() : nanoseconds(ttl + poll);
  const std::string head =
      std::string(source) + ": a failing item is recreated every ~" + FormatShortDuration(sum);
  const std::string tail = "; failurePolicy.maxRetriesPerItem caps it";
  std::string warning = head + " (TTL " + FormatShortDuration(ttl) + " + poll " +
                        FormatShortDuration(poll) + ")" + tail;
  if (warning.size() > 120) warning = head + " (TTL+poll)" + tail;
  return warning;
}

}  // namespace

void ParseTaskSpawnerOptions(ConfigReader reader, TaskSpawnerOptions* out) {
  if (const rapidjson::Value* v = reader.Raw("minPollInterval")) {
    constexpr std::string_view kExpect = "must be a Go duration (e.g. \"30s\") or whole seconds";
    if (v->IsString()) {
      const std::string_view text(v->GetString(), v->GetStringLength());
      StatusOr<KelosPollInterval> parsed = ParseKelosPollInterval(text);
      if (!parsed.ok()) {
        reader.Fail("minPollInterval", std::string(kExpect) + ", got " + QuoteJson(text));
      } else if (parsed->value < nanoseconds(0)) {
        reader.Fail("minPollInterval", "must not be negative, got " + QuoteJson(text));
      } else {
        out->min_poll_interval = parsed->value;
      }
    } else if (v->IsInt64()) {
      // Whole seconds, bounded so the nanosecond value cannot overflow.
      constexpr int64_t kMaxSeconds = int64_t{9223372036};
      const int64_t seconds = v->GetInt64();
      if (seconds < 0 || seconds > kMaxSeconds) {
        reader.Fail("minPollInterval", "must be between 0 and " + std::to_string(kMaxSeconds) +
                                           " seconds, got " + std::to_string(seconds));
      } else {
        out->min_poll_interval = std::chrono::seconds(seconds);
      }
    } else {
      reader.Fail("minPollInterval", std::string(kExpect) + ", got " + DescribeValue(*v));
    }
  }
  reader.Bool("warnLoopRisk", &out->warn_loop_risk);
  reader.RejectUnknown();
}

Decision ValidateTaskSpawner(const AdmissionRequest& request, const PolicyContext& context) {
  const TaskSpawnerOptions& options = context.config.Get<TaskSpawnerOptions>();
  FieldRules rules(request);
  const FieldPath spec{"spec"};
  const rapidjson::Value* spec_value = rules.Get(spec);
  if (spec_value == nullptr || !spec_value->IsObject()) return Decision::Allowed();

  // spec.failurePolicy: {maxRetriesPerItem: int32 >= 0 (0 = unlimited), resetOnChange: bool}.
  const FieldPath failure_policy = spec.Child("failurePolicy");
  const FieldPath max_retries_path = failure_policy.Child("maxRetriesPerItem");
  bool retries_uncapped = true;  // maxRetriesPerItem absent or 0
  if (rules.OptionalObject(kFailurePolicyRule, failure_policy) != nullptr) {
    std::optional<int64_t> max_retries =
        rules.OptionalInt(kFailurePolicyRule, max_retries_path, 0, kInt32Max);
    retries_uncapped = rules.Get(max_retries_path) == nullptr || max_retries == 0;
    rules.OptionalBool(kFailurePolicyRule, failure_policy.Child("resetOnChange"));
    rules.RejectUnknownMembers(kFailurePolicyRule, failure_policy,
                               {"maxRetriesPerItem", "resetOnChange"});
  } else if (rules.Get(failure_policy) != nullptr) {
    retries_uncapped = false;  // malformed: denied above, no loop arithmetic on it
  }

  // Poll intervals: the spec-wide one (v1alpha1) and each polled source's own.
  const PollIntervalField spec_poll = CheckPollInterval(rules, spec.Child("pollInterval"), options);
  std::vector<PolledSource> sources;
  for (std::string_view container : kSourceContainers) {
    const FieldPath container_path = spec.Child(container);
    const rapidjson::Value* container_value = rules.Get(container_path);
    if (container_value == nullptr || !container_value->IsObject()) continue;
    for (std::string_view name : kPolledSources) {
      const FieldPath source_path = container_path.Child(name);
      const rapidjson::Value* source = rules.Get(source_path);
      if (source == nullptr || !source->IsObject()) continue;
      PolledSource polled;
      polled.name = name;
      polled.poll = CheckPollInterval(rules, source_path.Child("pollInterval"), options);
      // commentPolicy.triggerComment, or the deprecated triggerComment beside it.
      polled.has_trigger_comment =
          NonEmptyString(Find(source, {"commentPolicy", "triggerComment"})) ||
          NonEmptyString(Member(source, "triggerComment"));
      sources.push_back(polled);
    }
  }

  // spec.taskTemplate.ttlSecondsAfterFinished: int32 >= 0.
  const std::optional<int64_t> ttl = rules.OptionalInt(
      kTtlRule, spec.Child("taskTemplate").Child("ttlSecondsAfterFinished"), 0, kInt32Max);

  // Loop risk: a finished Task is deleted after the TTL, and the next poll recreates it
  // for an item that still matches; without a trigger comment or a retry cap a failing
  // item comes back forever.
  if (options.warn_loop_risk && ttl.has_value() && *ttl > 0 && retries_uncapped) {
    for (const PolledSource& source : sources) {
      if (source.has_trigger_comment) continue;
      nanoseconds poll = kKelosDefaultPollInterval;
      if (source.poll.state == PollIntervalField::State::kValid) {
        poll = source.poll.value;
      } else if (source.poll.state == PollIntervalField::State::kInvalid) {
        continue;
      } else if (spec_poll.state == PollIntervalField::State::kValid) {
        poll = spec_poll.value;
      } else if (spec_poll.state == PollIntervalField::State::kInvalid) {
        continue;
      }
      rules.Warn(std::string(kLoopRiskRule), LoopRiskWarning(source.name, *ttl, poll));
    }
  }
  return rules.Finish();
}

}  // namespace backstop::policy
