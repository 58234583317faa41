#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace backstop::policy {

// One RFC 6902 operation. `value_json` is the serialised JSON value for add/replace/test
// and is empty for remove. `path` is an already escaped JSON Pointer (see JsonPointer).
struct PatchOp {
  std::string op;
  std::string path;
  std::string value_json;
};

// What a policy answers. Built with the named constructors below; the webhook encodes it
// into an AdmissionResponse (uid echo and patch encoding happen there, in one place).
struct Decision {
  bool allowed = true;
  int32_t code = 200;       // HTTP-style status code carried in response.status
  std::string reason;       // metav1.StatusReason, e.g. "Forbidden", "Invalid"
  std::string message;      // human-readable, shown by kubectl
  std::string rule;         // stable id of the rule that decided (metrics, logs); may be empty
  std::vector<PatchOp> patch;
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> audit_annotations;

  static Decision Allowed();
  // A denial; codes below 400 are raised to 400 as the apiserver would.
  static Decision Denied(std::string rule, std::string message, int32_t code = 403,
                         std::string reason = "Forbidden");
  static Decision Patched(std::vector<PatchOp> ops);
  // The webhook itself failed to decide (bad input, internal error).
  static Decision Errored(int32_t code, std::string message);

  Decision& WithWarning(std::string warning);
  Decision& WithWarnings(std::vector<std::string> more);
  Decision& WithAuditAnnotation(std::string key, std::string value);
  Decision& WithRule(std::string id);

  // Folds `other` into this one: a denial wins (messages joined with "; "), patches,
  // warnings and annotations are concatenated.
  Decision& Merge(Decision other);
};

}  // namespace backstop::policy
