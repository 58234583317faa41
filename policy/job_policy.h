#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/config_reader.h"
#include "policy/admission_request.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// The annotation that overrides the default deadline of one Job (or CronJob).
inline constexpr std::string_view kActiveDeadlineAnnotation =
    "backstop.dev/active-deadline-seconds";
// Set by the mutation next to a deadline it added: where the value came from
// ("default", "annotation" or "rule[<index>]").
inline constexpr std::string_view kActiveDeadlineSourceAnnotation =
    "backstop.dev/active-deadline-seconds-source";

// One deadline rule: Jobs in one of `namespaces` (any when empty) whose labels include
// every `match_labels` pair get `active_deadline_seconds`. The first matching rule wins.
struct JobDeadlineRule {
  std::vector<std::string> namespaces;                            // key namespaces
  std::vector<std::pair<std::string, std::string>> match_labels;  // key matchLabels
  int64_t active_deadline_seconds = 0;                            // key activeDeadlineSeconds
};

// Job and CronJob mutation: activeDeadlineSeconds and imagePullPolicy (config "jobs").
struct JobOptions {
  enum class AboveMax { kClamp, kDeny };

  // key setActiveDeadlineSeconds: add spec.activeDeadlineSeconds where it is absent.
  // Default true.
  bool set_active_deadline_seconds = true;
  // key defaultActiveDeadlineSeconds: the deadline added when no annotation or rule
  // applies. Default 1800 (30 minutes).
  int64_t default_active_deadline_seconds = 1800;
  // key maxActiveDeadlineSeconds: the ceiling for any deadline, present or added.
  // Default: none.
  std::optional<int64_t> max_active_deadline_seconds;
  // key aboveMax (clamp|deny): what happens to a deadline above the ceiling: lowered to
  // it with a warning, or denied. Default clamp.
  AboveMax above_max = AboveMax::kClamp;
  // key rules: per namespace/label deadlines, first match wins. Default none.
  std::vector<JobDeadlineRule> rules;
  // key setImagePullPolicy: make Kubernetes' default imagePullPolicy explicit on every
  // container and init container of the pod template. Default true.
  bool set_image_pull_policy = true;
  // key namespaces: only Jobs in these namespaces are mutated. Default: all.
  std::vector<std::string> namespaces;
  // key matchLabels: only Jobs carrying all these labels are mutated. Default: all.
  std::vector<std::pair<std::string, std::string>> match_labels;
};

// Reads the "jobs" section of the policy configuration.
void ParseJobOptions(ConfigReader reader, JobOptions* out);

// Kubernetes' default imagePullPolicy for `image` (SetDefaults_Container): "Always" when
// the reference has the tag "latest" or neither tag nor digest, "IfNotPresent" otherwise
// (a digest-only reference, and also a reference that does not parse).
std::string_view DefaultImagePullPolicy(std::string_view image);

// Mutates batch Jobs on CREATE and CronJobs on CREATE and UPDATE (their
// spec.jobTemplate.spec): adds activeDeadlineSeconds where absent (annotation, then the
// first matching rule, then the default), enforces the ceiling, makes imagePullPolicy
// explicit, and merges the image checks of the pod template (CheckPodSpecImages).
Decision MutateJob(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
