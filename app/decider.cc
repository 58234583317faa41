#include "app/decider.h"

#include "policy/engine.h"

namespace backstop::app {

policy::Decision Decide(webhook::Endpoint endpoint, const policy::AdmissionRequest& request,
                        const DecisionInputs& inputs) {
  static const policy::ClusterFacts kUnknown{};
  const policy::ClusterFacts& facts = inputs.facts ? *inputs.facts : kUnknown;
  policy::PolicyContext context{*inputs.config, facts, inputs.now, inputs.facts_fresh_at};
  return endpoint == webhook::Endpoint::kValidate ? policy::Validate(request, context)
                                                  : policy::Mutate(request, context);
}

}  // namespace backstop::app
