#include "policy/engine.h"

#include "policy/rules.h"

namespace backstop::policy {

Decision Validate(const AdmissionRequest& request, const PolicyContext& context) {
  return BuiltinRules().Decide(Endpoint::kValidate, request, context);
}

Decision Mutate(const AdmissionRequest& request, const PolicyContext& context) {
  return BuiltinRules().Decide(Endpoint::kMutate, request, context);
}

}  // namespace backstop::policy
