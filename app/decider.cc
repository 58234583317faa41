#include "app/decider.h"

#include "policy/engine.h"
#include "policy/rules.h"

namespace backstop::app {

policy::Decision Decide(webhook::Endpoint endpoint, const policy::AdmissionRequest& request,
                        const DecisionInputs& inputs) {
  static const policy::ClusterFacts kUnknown{};
  const policy::ClusterFacts& facts = inputs.facts ? *inputs.facts : kUnknown;
  policy::PolicyContext context{*inputs.config, facts, inputs.now, inputs.facts_fresh_at};
  const policy::RuleTable& rules = inputs.rules != nullptr ? *inputs.rules : policy::BuiltinRules();
  return rules.Decide(endpoint, request, context);
}

}  // namespace backstop::app
