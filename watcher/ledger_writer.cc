#include "watcher/ledger_writer.h"

#include <rapidjson/document.h>

#include "obs/metrics.h"
#include "policy/work_item.h"
#include "watcher/watch_decoder.h"

namespace backstop::watcher {
namespace {

// The error of an unexpected answer, with the apiserver's own message.
Status AnswerError(std::string_view verb, const std::string& path, const HttpResult& res) {
  ApiStatus st;
  const std::string detail =
      ParseApiStatusBody(res.body, &st) ? st.message : res.body.substr(0, 256);
  const std::string message = std::string(verb) + " " + path + ": HTTP " +
                              std::to_string(res.status) + (detail.empty() ? "" : ": " + detail);
  if (res.status == 401) return UnauthenticatedError(message);
  if (res.status == 403) return PermissionDeniedError(message);
  if (res.status == 429 || res.status >= 500) return UnavailableError(message);
  return InternalError(message);
}

}  // namespace

LedgerWriter::LedgerWriter(LedgerWriterOptions options, KubeClient* client, ClockFn clock,
                           obs::Registry* metrics)
    : options_(std::move(options)), client_(client), clock_(std::move(clock)) {
  if (metrics != nullptr) {
    conflicts_metric_ = &metrics->AddCounter(
        "backstop_budget_ledger_write_conflicts_total",
        "Ledger writes that lost a race (resourceVersion conflict) and were retried, by source.",
        {"source"});
    writes_metric_ = &metrics->AddCounter("backstop_budget_ledger_writes_total",
                                          "Ledger ConfigMap writes, by source.", {"source"});
    evictions_metric_ = &metrics->AddCounter(
        "backstop_budget_ledger_evictions_total",
        "Ledger records evicted (oldest first) to keep a ConfigMap within its cap, by source.",
        {"source"});
  }
}

StatusOr<ApplyResult> LedgerWriter::Write(const std::string& source,
                                          const std::string& item_namespace,
                                          const std::vector<LedgerChange>& changes) {
  const std::string name = policy::LedgerName(source, item_namespace);
  const std::string collection =
      "/api/v1/namespaces/" + UrlEncode(options_.ledger_namespace) + "/configmaps";
  const std::string path = collection + "/" + UrlEncode(name);
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    auto read = client_->Get(path, 4u << 20);
    if (!read.ok()) return read.status().WithContext("reading ledger " + name);
    Ledger ledger;
    if (read->status == 200) {
      rapidjson::Document doc;
      doc.Parse(read->body.data(), read->body.size());
      if (doc.HasParseError() || !doc.IsObject()) {
        return InternalError("reading ledger " + name + ": the answer is not a JSON object");
      }
      std::vector<LedgerProblem> problems;  // reported by the readers of the watch
      ledger = DecodeLedger(doc, &problems);
      if (ledger.source.empty()) {
        return FailedPreconditionError("ConfigMap " + options_.ledger_namespace + "/" + name +
                                       " exists but is not a ledger (labels missing); "
                                       "rename or delete it");
      }
    } else if (read->status == 404) {
      ledger.name = name;
      ledger.source = source;
      ledger.item_namespace = item_namespace;
    } else {
      return AnswerError("GET", path, *read);
    }
    ledger.namespace_name = options_.ledger_namespace;
    ApplyResult result =
        ApplyChanges(&ledger, changes, options_.max_records, options_.reset_after, clock_());
    if (!result.changed) return result;
    const bool create = ledger.resource_version.empty();
    auto written =
        client_->Send(create ? "POST" : "PUT", create ? collection : path, EncodeLedger(ledger));
    if (!written.ok()) return written.status().WithContext("writing ledger " + name);
    if (written->status == 200 || written->status == 201) {
      ++writes_;
      if (writes_metric_ != nullptr) writes_metric_->With({source}).Inc();
      if (evictions_metric_ != nullptr && result.evicted > 0) {
        evictions_metric_->With({source}).Inc(static_cast<double>(result.evicted));
      }
      return result;
    }
    // Lost a race: another writer (a person, an old leader) changed or created it.
    if (written->status == 409 || (written->status == 404 && !create)) {
      ++conflicts_;
      if (conflicts_metric_ != nullptr) conflicts_metric_->With({source}).Inc();
      continue;
    }
    return AnswerError(create ? "POST" : "PUT", create ? collection : path, *written);
  }
  return ConflictError("writing ledger " + name + ": still conflicting after " +
                       std::to_string(options_.max_attempts) + " attempts");
}

}  // namespace backstop::watcher
