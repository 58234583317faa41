// `backstop budget list` and `backstop budget reset`: the retry-budget ledger for people.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/config_file.h"
#include "base/json_util.h"
#include "base/time.h"
#include "policy/retry_budget_policy.h"
#include "watcher/budget_ledger.h"
#include "watcher/kube_client.h"
#include "watcher/kubeconfig.h"
#include "watcher/ledger_writer.h"

namespace backstop::app {
namespace {

constexpr const char* kPrefix = "backstop budget: ";

struct BudgetFlags {
  std::string kubeconfig;
  bool allow_insecure_kubeconfig = false;
  std::string ledger_namespace = "backstop-system";
  std::string config;
  std::string namespace_name;      // -n: items of this namespace ("" all, list only)
  std::string source;              // --source
  std::string owner;               // --owner (reset)
  std::vector<std::string> items;  // reset: item keys
  bool all = false;                // list: every record, not only stopped ones
  std::string output = "text";     // list: text or json
};

StatusOr<watcher::ClusterConnection> Connect(const BudgetFlags& flags) {
  if (!flags.kubeconfig.empty()) {
    return watcher::LoadKubeconfig(flags.kubeconfig, flags.allow_insecure_kubeconfig);
  }
  auto in_cluster = watcher::InClusterConnection();
  if (!in_cluster.ok()) return in_cluster.status();
  if (!in_cluster->has_value()) {
    return FailedPreconditionError(
        "no --kubeconfig given (or KUBECONFIG) and not running in a cluster");
  }
  return std::move(**in_cluster);
}

// Every ledger ConfigMap in the ledger namespace, decoded; garbage values are reported on
// `err` and left out.
StatusOr<std::vector<watcher::Ledger>> ReadLedgers(watcher::KubeClient& client,
                                                   const BudgetFlags& flags, std::ostream& err) {
  const std::string path =
      "/api/v1/namespaces/" + watcher::UrlEncode(flags.ledger_namespace) +
      "/configmaps?labelSelector=" + watcher::UrlEncode(std::string(watcher::kLedgerSelector));
  auto res = client.Get(path, 64u << 20);
  if (!res.ok()) return res.status().WithContext("listing ledgers");
  if (res->status == 403) {
    return PermissionDeniedError("listing ConfigMaps in " + flags.ledger_namespace +
                                 " is forbidden: the ledger lives there (--ledger-namespace)");
  }
  if (res->status != 200) {
    return UnavailableError("listing ledgers: HTTP " + std::to_string(res->status));
  }
  rapidjson::Document doc;
  doc.Parse(res->body.data(), res->body.size());
  const rapidjson::Value* items = Member(&doc, "items");
  if (doc.HasParseError() || items == nullptr || !items->IsArray()) {
    return InternalError("listing ledgers: the answer is not a ConfigMapList");
  }
  std::vector<watcher::Ledger> out;
  for (const rapidjson::Value& item : items->GetArray()) {
    std::vector<watcher::LedgerProblem> problems;
    watcher::Ledger ledger = watcher::DecodeLedger(item, &problems);
    for (const auto& p : problems) {
      err << kPrefix << "warning: " << flags.ledger_namespace << "/" << ledger.name << " " << p.key
          << ": " << p.what << " (left out)\n";
    }
    if (ledger.source.empty()) continue;
    if (!flags.namespace_name.empty() && ledger.item_namespace != flags.namespace_name) continue;
    if (!flags.source.empty() && ledger.source != flags.source) continue;
    out.push_back(std::move(ledger));
  }
  return out;
}

// What TaskSpawners say about their limits (kelos may not be installed: then nothing).
policy::BudgetFacts Owners(watcher::KubeClient& client) {
  policy::BudgetFacts facts;
  for (const char* version : {"v1alpha2", "v1alpha1"}) {
    auto res = client.Get(std::string("/apis/kelos.dev/") + version + "/taskspawners", 64u << 20);
    if (!res.ok() || res->status != 200) continue;
    rapidjson::Document doc;
    doc.Parse(res->body.data(), res->body.size());
    const rapidjson::Value* items = Member(&doc, "items");
    if (doc.HasParseError() || items == nullptr || !items->IsArray()) continue;
    for (const rapidjson::Value& ts : items->GetArray()) {
      facts.owners[policy::OwnerKey(StringOrEmpty(Find(&ts, {"metadata", "namespace"})),
                                    StringOrEmpty(Find(&ts, {"metadata", "name"})))] =
          policy::OwnerLimitOf(ts);
    }
    break;
  }
  return facts;
}

std::string Age(WallTime now, WallTime then) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
  if (s < 120) return std::to_string(std::max<int64_t>(s, 0)) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

int List(const BudgetFlags& flags, std::ostream& out, std::ostream& err) {
  auto config = LoadConfig(flags.config);
  if (!config.ok()) {
    err << kPrefix << config.status().message() << "\n";
    return ExitCodeFor(config.status());
  }
  const auto& options = config->policy->Get<policy::RetryBudgetOptions>();
  auto conn = Connect(flags);
  if (!conn.ok()) {
    err << kPrefix << conn.status().message() << "\n";
    return ExitCodeFor(conn.status());
  }
  watcher::KubeClient client(*conn, nullptr);
  auto ledgers = ReadLedgers(client, flags, err);
  if (!ledgers.ok()) {
    err << kPrefix << ledgers.status().message() << "\n";
    return ExitCodeFor(ledgers.status());
  }
  const policy::BudgetFacts owners = Owners(client);
  const WallTime now = std::chrono::system_clock::now();
  struct Row {
    std::string ns, source, item, owner, reason;
    int64_t count, limit;
    WallTime last;
  };
  std::vector<Row> rows;
  for (const watcher::Ledger& ledger : *ledgers) {
    auto source =
        std::find_if(options.sources.begin(), options.sources.end(),
                     [&](const policy::BudgetSource& s) { return s.name == ledger.source; });
    for (const auto& [key, record] : ledger.records) {
      int64_t limit = 0;
      if (source != options.sources.end()) {
        const policy::WorkItem item{ledger.source, ledger.item_namespace, key, record.entry.owner};
        limit = policy::LimitFor(*source, item, owners, options);
      }
      if (!flags.all && (limit <= 0 || record.entry.count < limit)) continue;
      rows.push_back(Row{ledger.item_namespace, ledger.source, key, record.entry.owner,
                         record.entry.last_reason, record.entry.count, limit,
                         record.entry.last_failure});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.ns, a.source, a.item) < std::tie(b.ns, b.source, b.item);
  });
  if (flags.output == "json") {
    for (const Row& r : rows) {
      out << nlohmann::json{{"namespace", r.ns},
                            {"source", r.source},
                            {"item", r.item},
                            {"owner", r.owner},
                            {"failures", r.count},
                            {"limit", r.limit},
                            {"stopped", r.limit > 0 && r.count >= r.limit},
                            {"lastFailure", FormatTimestamp(r.last)},
                            {"lastReason", r.reason}}
                 .dump()
          << "\n";
    }
    return 0;
  }
  if (rows.empty()) {
    out << (flags.all ? "no ledger records\n" : "no stopped work items\n");
    return 0;
  }
  std::vector<std::vector<std::string>> table = {
      {"NAMESPACE", "SOURCE", "ITEM", "OWNER", "FAILURES", "LIMIT", "LAST FAILURE", "REASON"}};
  for (const Row& r : rows) {
    table.push_back({r.ns, r.source, r.item, r.owner.empty() ? "-" : r.owner,
                     std::to_string(r.count), r.limit > 0 ? std::to_string(r.limit) : "-",
                     Age(now, r.last) + " ago", r.reason});
  }
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
  return 0;
}

int Reset(const BudgetFlags& flags, std::ostream& out, std::ostream& err) {
  if (flags.namespace_name.empty()) {
    err << kPrefix << "-n/--namespace is required: the namespace of the work items\n";
    return 2;
  }
  if (flags.owner.empty() == flags.items.empty()) {
    err << kPrefix << "give either item keys (with --source) or --owner NAME\n";
    return 2;
  }
  if (!flags.items.empty() && flags.source.empty()) {
    err << kPrefix << "--source is required with item keys (e.g. --source kelos-tasks)\n";
    return 2;
  }
  auto conn = Connect(flags);
  if (!conn.ok()) {
    err << kPrefix << conn.status().message() << "\n";
    return ExitCodeFor(conn.status());
  }
  watcher::KubeClient client(*conn, nullptr);
  auto ledgers = ReadLedgers(client, flags, err);
  if (!ledgers.ok()) {
    err << kPrefix << ledgers.status().message() << "\n";
    return ExitCodeFor(ledgers.status());
  }
  const WallTime now = std::chrono::system_clock::now();
  watcher::LedgerWriterOptions writer_options;
  writer_options.ledger_namespace = flags.ledger_namespace;
  writer_options.max_records = 500;
  watcher::LedgerWriter writer(writer_options, &client, [now] { return now; });
  // The keys to reset, per source.
  std::map<std::string, std::set<std::string>> targets;
  for (const watcher::Ledger& ledger : *ledgers) {
    for (const auto& [key, record] : ledger.records) {
      const bool wanted = flags.owner.empty() ? std::find(flags.items.begin(), flags.items.end(),
                                                          key) != flags.items.end()
                                              : record.entry.owner == flags.owner;
      if (wanted) targets[ledger.source].insert(key);
    }
  }
  std::vector<std::string> missing;
  for (const std::string& item : flags.items) {
    if (targets[flags.source].count(item) == 0) missing.push_back(item);
  }
  int reset = 0;
  for (const auto& [source, keys] : targets) {
    if (keys.empty()) continue;
    std::vector<watcher::LedgerChange> changes;
    for (const std::string& key : keys) {
      watcher::LedgerChange c;
      c.kind = watcher::LedgerChange::Kind::kReset;
      c.key = key;
      c.at = now;
      changes.push_back(c);
    }
    auto written = writer.Write(source, flags.namespace_name, changes);
    if (!written.ok()) {
      err << kPrefix << written.status().message() << "\n";
      return ExitCodeFor(written.status());
    }
    for (const std::string& key : keys) {
      out << "reset " << flags.namespace_name << "/" << source << "/" << key << "\n";
      ++reset;
    }
  }
  for (const std::string& item : missing) {
    err << kPrefix << "no ledger record for " << flags.namespace_name << "/" << flags.source << "/"
        << item << ": nothing to reset\n";
  }
  if (reset == 0 && !flags.owner.empty()) {
    err << kPrefix << "no ledger record of owner " << flags.namespace_name << "/" << flags.owner
        << ": nothing to reset\n";
  }
  return missing.empty() && reset > 0 ? 0 : 1;
}

void CommonFlags(CLI::App* cmd, BudgetFlags* flags) {
  cmd->add_option("--kubeconfig", flags->kubeconfig,
                  "kubeconfig file (current context); default: in-cluster service account")
      ->envname("KUBECONFIG")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--allow-insecure-kubeconfig", flags->allow_insecure_kubeconfig,
                "Accept a kubeconfig cluster with insecure-skip-tls-verify: true");
  cmd->add_option("--ledger-namespace", flags->ledger_namespace,
                  "Namespace backstop runs in, where the ledger ConfigMaps are")
      ->envname("POD_NAMESPACE")
      ->capture_default_str();
  cmd->add_option("-n,--namespace", flags->namespace_name, "Namespace of the work items");
  cmd->add_option("--source", flags->source,
                  "Budget source: kelos-tasks, executor-jobs, optio-pods or a configured one");
}

}  // namespace

void AddBudgetCommand(CLI::App& app, int* exit_code) {
  auto* budget = app.add_subcommand(
      "budget", "The retry budget's ledger: which work items are stopped, and resetting them");
  budget->require_subcommand(1);

  auto list_flags = std::make_shared<BudgetFlags>();
  auto* list = budget->add_subcommand(
      "list", "Work items stopped by their retry budget (count, limit, last failure)");
  CommonFlags(list, list_flags.get());
  list->add_option("--config", list_flags->config,
                   "Configuration file, for the limits of configured sources");
  list->add_flag("--all", list_flags->all, "Every ledger record, not only stopped items");
  list->add_option("-o,--output", list_flags->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  list->callback([list_flags, exit_code] { *exit_code = List(*list_flags, std::cout, std::cerr); });

  auto reset_flags = std::make_shared<BudgetFlags>();
  auto* reset = budget->add_subcommand(
      "reset", "Forget the failures of work items (they may be attempted again)");
  CommonFlags(reset, reset_flags.get());
  reset->add_option("items", reset_flags->items, "Item keys (with --source)");
  reset->add_option("--owner", reset_flags->owner,
                    "Every item of this owner (a TaskSpawner name), whatever the source");
  reset->callback(
      [reset_flags, exit_code] { *exit_code = Reset(*reset_flags, std::cout, std::cerr); });
}

}  // namespace backstop::app
