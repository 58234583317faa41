#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/config_reader.h"
#include "policy/admission_request.h"
#include "policy/decision.h"
#include "policy/enforcement.h"

namespace backstop::policy {

struct PolicyContext;

// Remedy text for images matching a glob pattern ("*" any run of characters, "?" one
// character), tried against the image as written and its normalised form. "{image}" in
// the text is replaced by the image as written.
struct RemedyTemplate {
  std::string pattern;
  std::string text;
};

// Rule ids (Decision::rule, audit annotation keys, metrics).
inline constexpr std::string_view kRuleNeverPullAbsent = "image.never-pull-absent";
inline constexpr std::string_view kRuleAbsentFromNodeLists = "image.absent-from-node-lists";
inline constexpr std::string_view kRuleNeverPullSomeNodes = "image.never-pull-some-nodes";
inline constexpr std::string_view kRuleMissingFromRegistry = "image.missing-from-registry";
inline constexpr std::string_view kRuleInvalidReference = "image.invalid-reference";

// Image admission for Pods and pod templates of Jobs and CronJobs. Key: images.
struct ImageOptions {
  // neverPullAbsent.enforcement: pull policy Never and the image known absent on every
  // eligible node, with an ErrImageNeverPull seen on at least one of them.
  Enforcement never_pull_absent = Enforcement::kDeny;
  // absentFromNodeLists.enforcement: pull policy Never and the image absent from every
  // eligible node's complete image list, with no failure seen (the lists lag).
  Enforcement absent_from_node_lists = Enforcement::kWarn;
  // neverPullSomeNodes.enforcement (warn or dryrun): pull policy Never, ErrImageNeverPull
  // seen on some eligible nodes but not known absent on all of them.
  Enforcement never_pull_some_nodes = Enforcement::kWarn;
  // missingFromRegistry.enforcement: pull policy IfNotPresent/Always, the registry said
  // not found recently, and no eligible node has the image.
  Enforcement missing_from_registry = Enforcement::kWarn;
  // invalidReference.enforcement: the reference fails the image-reference grammar
  // (kubelet would report InvalidImageName).
  Enforcement invalid_reference = Enforcement::kDeny;
  // maxKnowledgeAgeSeconds: cluster knowledge older than this (now - facts_fresh_at) is
  // stale: nothing is denied on it, concrete observations only warn.
  int64_t max_knowledge_age_seconds = 300;
  // maxObservationAgeSeconds (formerly observationTtlSeconds): a failure observation
  // counts while a pod still shows it and for this long after the last one stopped.
  int64_t max_observation_age_seconds = 600;
  // remedies: first matching template wins.
  std::vector<RemedyTemplate> remedies;
  // defaultRemedy: for images that no template matches ("{image}" is substituted).
  std::string default_remedy =
      "Load the image onto the nodes (kind load docker-image, ctr -n k8s.io images import) or "
      "use IfNotPresent with a registry.";
};

// Reads the "images" section of the policy configuration.
void ParseImageOptions(ConfigReader reader, ImageOptions* out);

// Glob match: "*" any run of characters (including "/"), "?" exactly one character.
bool GlobMatch(std::string_view pattern, std::string_view text);

// The remedy text for `image` (as written) whose normalised form is `normalized`: the
// first matching template, else `fallback`, else options.default_remedy.
std::string RemedyFor(const ImageOptions& options, std::string_view image,
                      std::string_view normalized, std::string_view fallback = {});

// Validating admission for Pods, batch Jobs and batch CronJobs (CREATE and UPDATE): runs
// CheckPodSpecImages on the pod spec or pod template spec. On UPDATE only images that the
// old object did not already have are checked, so an unchanged object is never refused.
Decision ValidatePodImages(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
