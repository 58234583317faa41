#pragma once

#include <string_view>
#include <vector>

#include "base/config_reader.h"

namespace backstop::policy {

// What a rule does when it fires (Gatekeeper's enforcementAction):
// deny - the request is refused; warn - allowed with a warning kubectl shows;
// dryrun - allowed, nothing shown: only Decision::rule and an audit annotation record it.
enum class Enforcement { kDeny, kWarn, kDryRun };

std::string_view EnforcementName(Enforcement e);  // "deny", "warn", "dryrun"

// Reads `key` as one of `allowed` (names as EnforcementName gives them) into *out; absent
// leaves the default.
void ReadEnforcement(ConfigReader& reader, std::string_view key, Enforcement* out,
                     const std::vector<std::string>& allowed = {"deny", "warn", "dryrun"});

}  // namespace backstop::policy
