#pragma once

#include <string>

#include "policy/rule.h"

namespace backstop::app {

// The rule table as a Markdown table, one row per rule and webhook: config section, the
// webhook entry (endpoint), the kinds with their API versions and operations, and what the
// rule checks. `backstop rules` prints it; the docs include it verbatim (a test compares).
std::string RulesMarkdown(const policy::RuleTable& rules);

}  // namespace backstop::app
