#pragma once

#include "policy/admission_request.h"
#include "policy/cluster_facts.h"
#include "policy/config.h"
#include "policy/decision.h"

namespace backstop::policy {

// Everything a policy may read besides the request. Pure inputs: no I/O, no clock.
struct PolicyContext {
  const PolicyConfig& config;
  const ClusterFacts& facts;
  TimePoint now;
  // When the knowledge source last heard from the cluster (a list, watch event or
  // bookmark). The snapshot itself is republished only on change, so it may be older.
  // Offline sources set it to `now`.
  TimePoint facts_fresh_at{};
};

// The built-in rules' answers (see BuiltinRules() in policy/rules.h; a server with extra
// rules calls RuleTable::Decide). DELETE, CONNECT, subresource requests and kinds no rule
// reviews pass untouched.
Decision Validate(const AdmissionRequest& request, const PolicyContext& context);
Decision Mutate(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
