#pragma once

#include "policy/rule.h"

namespace backstop::policy {

// The table of built-in rules: every rule backstop runs, what it reviews (kinds,
// operations, the webhook entry that sends them), its config section and its function.
// Adding a rule: its policy file, one entry here, its tests, its docs, and the webhook
// rules in the manifests (tests compare those with this table).
const RuleTable& BuiltinRules();

}  // namespace backstop::policy
