#include "app/rules_command.h"

#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "app/commands.h"
#include "policy/rules.h"

namespace backstop::app {
namespace {

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

std::string Operations(const std::vector<policy::Operation>& ops) {
  std::vector<std::string> names;
  for (policy::Operation op : ops) names.emplace_back(policy::OperationName(op));
  return Join(names, ", ");
}

// "`batch/v1` Job (CREATE)": group/versions, kind, operations.
std::string Target(const policy::RuleTarget& t) {
  std::vector<std::string> versions;
  for (const auto& v : t.versions) versions.push_back(t.group.empty() ? v : t.group + "/" + v);
  return "`" + Join(versions, "`, `") + "` " + t.kind + " (" + Operations(t.operations) + ")";
}

}  // namespace

std::string RulesMarkdown(const policy::RuleTable& rules) {
  std::string out =
      "| config section | webhook | reviews | what it checks |\n"
      "|---|---|---|---|\n";
  for (const policy::Rule& rule : rules.rules()) {
    // One row per webhook the rule is served by, in the table's order.
    std::vector<std::string> webhooks;
    std::map<std::string, std::vector<std::string>> targets;
    for (const policy::RuleTarget& t : rule.targets) {
      if (targets.find(t.webhook) == targets.end()) webhooks.push_back(t.webhook);
      targets[t.webhook].push_back(Target(t));
    }
    for (const std::string& webhook : webhooks) {
      out += "| `" + rule.name + "` | `" + webhook + "` | " + Join(targets[webhook], "<br>") +
             " | " + rule.summary + " |\n";
    }
  }
  return out;
}

void AddRulesCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "rules", "Print the rule table: config sections, webhooks, the kinds each rule reviews");
  cmd->callback([exit_code] {
    std::cout << RulesMarkdown(policy::BuiltinRules());
    *exit_code = 0;
  });
}

}  // namespace backstop::app
