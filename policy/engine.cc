#include "policy/engine.h"

namespace backstop::policy {
namespace {

bool Is(const AdmissionRequest& r, std::string_view group, std::string_view kind) {
  return r.kind.group == group && r.kind.kind == kind;
}

bool Reviewable(const AdmissionRequest& r) {
  return (r.operation == Operation::kCreate || r.operation == Operation::kUpdate) &&
         r.sub_resource.empty();
}

}  // namespace

Decision Validate(const AdmissionRequest& request, const PolicyContext& context) {
  if (!Reviewable(request)) return Decision::Allowed();
  if (Is(request, "kelos.dev", "TaskSpawner")) return ValidateTaskSpawner(request, context);
  if (Is(request, "agent.benjamin-borbe.de", "Config")) {
    return ValidateExecutorConfig(request, context);
  }
  if (Is(request, "", "Pod") || Is(request, "batch", "Job") || Is(request, "batch", "CronJob")) {
    return ValidatePodImages(request, context);
  }
  return Decision::Allowed();
}

Decision Mutate(const AdmissionRequest& request, const PolicyContext& context) {
  if (!Reviewable(request)) return Decision::Allowed();
  if (Is(request, "batch", "Job") || Is(request, "batch", "CronJob")) {
    return MutateJob(request, context);
  }
  return Decision::Allowed();
}

}  // namespace backstop::policy
