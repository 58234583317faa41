#include "policy/enforcement.h"

#include <string>

namespace backstop::policy {

std::string_view EnforcementName(Enforcement e) {
  switch (e) {
    case Enforcement::kDeny:
      return "deny";
    case Enforcement::kWarn:
      return "warn";
    case Enforcement::kDryRun:
      return "dryrun";
  }
  return "deny";
}

void ReadEnforcement(ConfigReader& reader, std::string_view key, Enforcement* out,
                     const std::vector<std::string>& allowed) {
  std::string value;
  reader.Enum(key, &value, allowed);
  for (Enforcement e : {Enforcement::kDeny, Enforcement::kWarn, Enforcement::kDryRun}) {
    if (value == EnforcementName(e)) *out = e;
  }
}

}  // namespace backstop::policy
