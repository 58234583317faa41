#include "policy/executor_config_policy.h"

#include <optional>
#include <string>
#include <string_view>

#include "policy/engine.h"
#include "policy/field_rules.h"

namespace backstop::policy {
namespace {

constexpr std::string_view kSweeperRule = "executorconfig.zombieSweeperIntervalSeconds";
constexpr std::string_view kTimeoutRule = "executorconfig.zombieJobTimeoutSeconds";
constexpr std::string_view kOrderRule = "executorconfig.sweeperBelowTimeout";

// One of the executor's int32 second counts.
struct SecondsField {
  std::string_view key;  // field name under spec, as the executor names it
  std::string_view rule;
  int64_t floor;    // the executor's own minimum
  int64_t ceiling;  // configured maximum
  std::string_view ceiling_key;
};

// Checks the field; returns its value when set and valid, nullopt when unset. `valid`
// turns false on a violation.
std::optional<int64_t> CheckSeconds(FieldRules& rules, const SecondsField& f, bool* valid) {
  const FieldPath path{"spec", f.key};
  const rapidjson::Value* v = rules.Get(path);
  if (v == nullptr) return std::nullopt;
  IntCheck c = CheckInteger(*v, f.floor, kInt32Max);
  std::string problem;
  switch (c.status) {
    case IntCheck::Status::kOk:
      if (c.value <= f.ceiling) return c.value;
      problem = "must be <= " + std::to_string(f.ceiling) + " (" + std::string(f.ceiling_key) +
                "), got " + std::to_string(c.value);
      break;
    case IntCheck::Status::kBelowMin:
      // The executor's own words, so its users recognise the rejection.
      problem = std::string(f.key) + " invalid: must be >= " + std::to_string(f.floor) + ", got " +
                DescribeValue(*v);
      break;
    case IntCheck::Status::kNotInteger:
    case IntCheck::Status::kAboveMax:
      problem = std::move(c.problem);
      break;
  }
  rules.Violate(std::string(f.rule), path, std::move(problem));
  *valid = false;
  return std::nullopt;
}

std::string Shown(std::optional<int64_t> value, int64_t fallback) {
  return value ? std::to_string(*value) : std::to_string(fallback) + " (default)";
}

}  // namespace

void ParseExecutorConfigOptions(ConfigReader reader, ExecutorConfigOptions* out) {
  reader.Int("maxZombieSweeperIntervalSeconds", &out->max_zombie_sweeper_interval_seconds,
             kZombieSweeperIntervalFloor, kInt32Max);
  reader.Int("maxZombieJobTimeoutSeconds", &out->max_zombie_job_timeout_seconds,
             kZombieJobTimeoutFloor, kInt32Max);
  reader.RejectUnknown();
}

Decision ValidateExecutorConfig(const AdmissionRequest& request, const PolicyContext& context) {
  const ExecutorConfigOptions& options = context.config.Get<ExecutorConfigOptions>();
  FieldRules rules(request);
  const rapidjson::Value* spec = rules.Get(FieldPath{"spec"});
  if (spec == nullptr || !spec->IsObject()) return Decision::Allowed();

  bool valid = true;
  const std::optional<int64_t> interval =
      CheckSeconds(rules,
                   {"zombieSweeperIntervalSeconds", kSweeperRule, kZombieSweeperIntervalFloor,
                    options.max_zombie_sweeper_interval_seconds, "maxZombieSweeperIntervalSeconds"},
                   &valid);
  const std::optional<int64_t> timeout =
      CheckSeconds(rules,
                   {"zombieJobTimeoutSeconds", kTimeoutRule, kZombieJobTimeoutFloor,
                    options.max_zombie_job_timeout_seconds, "maxZombieJobTimeoutSeconds"},
                   &valid);

  // A sweep finds a timed-out job up to one interval after its deadline.
  const int64_t effective_interval = interval.value_or(kZombieSweeperIntervalDefault);
  const int64_t effective_timeout = timeout.value_or(kZombieJobTimeoutDefault);
  if (valid && effective_interval >= effective_timeout) {
    rules.Warn(std::string(kOrderRule),
               "zombieSweeperIntervalSeconds " + Shown(interval, kZombieSweeperIntervalDefault) +
                   " is not below zombieJobTimeoutSeconds " +
                   Shown(timeout, kZombieJobTimeoutDefault) + "; zombies found up to " +
                   std::to_string(effective_interval) + "s late");
  }
  return rules.Finish();
}

}  // namespace backstop::policy
