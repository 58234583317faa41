#pragma once

#include <rapidjson/document.h>

#include <string_view>

#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Checks every container image of one pod spec (initContainers, containers,
// ephemeralContainers) against the reference grammar and the cluster knowledge in
// `context.facts`, applying each rule's enforcement from `context.config.Get<ImageOptions>()`.
// `field_path` is the spec's path in the object, e.g. "spec" for a Pod,
// "spec.template.spec" for a Job, "spec.jobTemplate.spec.template.spec" for a CronJob;
// messages name fields below it (e.g. "spec.template.spec.containers[0].image").
// Shared by pod admission (Pods, Jobs, CronJobs) and Job mutation.
//
// All findings of the spec come back in one Decision: denials joined one per line (the
// first rule that denied is Decision::rule), warnings in Decision::warnings, and one
// audit annotation per rule that fired (key: the rule id, e.g. "image.never-pull-absent";
// the apiserver records it as "<webhook name>/<rule id>"; value: "<enforcement>: ...").
Decision CheckPodSpecImages(const rapidjson::Value& pod_spec, std::string_view field_path,
                            const PolicyContext& context);

// Same, but skips containers whose image already appears anywhere in `old_pod_spec`
// (UPDATE: an image the object already had is not a new problem). Null: check all.
Decision CheckPodSpecImages(const rapidjson::Value& pod_spec, std::string_view field_path,
                            const PolicyContext& context, const rapidjson::Value* old_pod_spec);

}  // namespace backstop::policy
