#include "policy/decision.h"

namespace backstop::policy {

Decision Decision::Allowed() { return Decision{}; }

Decision Decision::Denied(std::string rule, std::string message, int32_t code,
                          std::string reason) {
  Decision d;
  d.allowed = false;
  d.code = code < 400 ? 400 : code;
  d.reason = std::move(reason);
  d.message = std::move(message);
  d.rule = std::move(rule);
  return d;
}

Decision Decision::Patched(std::vector<PatchOp> ops) {
  Decision d;
  d.patch = std::move(ops);
  return d;
}

Decision Decision::Errored(int32_t code, std::string message) {
  Decision d;
  d.allowed = false;
  d.code = code;
  d.reason = code >= 500 ? "InternalError" : "BadRequest";
  d.message = std::move(message);
  d.rule = "error";
  return d;
}

Decision& Decision::WithWarning(std::string warning) {
  warnings.push_back(std::move(warning));
  return *this;
}

Decision& Decision::WithWarnings(std::vector<std::string> more) {
  for (auto& w : more) warnings.push_back(std::move(w));
  return *this;
}

Decision& Decision::WithAuditAnnotation(std::string key, std::string value) {
  audit_annotations.emplace_back(std::move(key), std::move(value));
  return *this;
}

Decision& Decision::WithRule(std::string id) {
  rule = std::move(id);
  return *this;
}

Decision& Decision::Merge(Decision other) {
  if (!other.allowed) {
    if (allowed) {
      allowed = false;
      code = other.code;
      reason = std::move(other.reason);
      message = std::move(other.message);
      rule = std::move(other.rule);
    } else {
      message += "; " + other.message;
    }
  } else if (rule.empty()) {
    rule = std::move(other.rule);
  }
  for (auto& op : other.patch) patch.push_back(std::move(op));
  for (auto& w : other.warnings) warnings.push_back(std::move(w));
  for (auto& a : other.audit_annotations) audit_annotations.push_back(std::move(a));
  return *this;
}

}  // namespace backstop::policy
