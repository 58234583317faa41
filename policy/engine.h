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

// The validating webhook's answer: dispatches on request.kind (group and kind matched
// exactly). DELETE, CONNECT and subresource requests pass untouched; unknown kinds pass.
Decision Validate(const AdmissionRequest& request, const PolicyContext& context);

// The mutating webhook's answer (patches and mutation-time checks).
Decision Mutate(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
