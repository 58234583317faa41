#pragma once

#include <functional>
#include <memory>

#include "policy/cluster_facts.h"
#include "policy/config.h"
#include "policy/decision.h"
#include "policy/rule.h"
#include "webhook/admission_service.h"

namespace backstop::app {

// What a decision reads besides the request: the rules, their configuration and cluster
// knowledge.
struct DecisionInputs {
  std::shared_ptr<const policy::PolicyConfig> config;
  policy::ClusterFactsPtr facts;
  policy::TimePoint now;
  policy::TimePoint facts_fresh_at;
  const policy::RuleTable* rules = nullptr;  // null: policy::BuiltinRules()
};

// The one decision path shared by `serve` and `review`: validating or mutating policy
// for one request, so what passes offline passes in the cluster.
policy::Decision Decide(webhook::Endpoint endpoint, const policy::AdmissionRequest& request,
                        const DecisionInputs& inputs);

}  // namespace backstop::app
