#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "watcher/budget_ledger.h"
#include "watcher/kube_client.h"

namespace backstop::obs {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace backstop::obs

namespace backstop::watcher {

struct LedgerWriterOptions {
  std::string ledger_namespace = "backstop-system";  // where ledger ConfigMaps live
  size_t max_records = 500;                          // per ConfigMap (oldest evicted)
  std::chrono::seconds reset_after{0};               // 0: records are kept until reset
  int max_attempts = 8;                              // conflicts retried before giving up
};

// Writes ledger changes into their ConfigMap: reads the current object, applies the
// changes (ApplyChanges: idempotent, failures counted by UID) and writes it back with the
// read resourceVersion as precondition; creates it when absent. A conflict (409 Conflict
// on update, 409 AlreadyExists on create, 404 when it vanished in between) reads again and
// retries. Only the Lease holder calls it (see BudgetTracker); every other error is
// returned (Unavailable for transport failures and 5xx, PermissionDenied for 403 ...).
// Thread-compatible: one caller at a time.
class LedgerWriter {
 public:
  using ClockFn = std::function<WallTime()>;

  LedgerWriter(LedgerWriterOptions options, KubeClient* client, ClockFn clock,
               obs::Registry* metrics = nullptr);

  // Applies `changes` to the ledger of (`source`, `item_namespace`). Returns what changed
  // (nothing written when nothing changed).
  StatusOr<ApplyResult> Write(const std::string& source, const std::string& item_namespace,
                              const std::vector<LedgerChange>& changes);

  int64_t conflicts() const { return conflicts_; }
  int64_t writes() const { return writes_; }

 private:
  const LedgerWriterOptions options_;
  KubeClient* const client_;
  const ClockFn clock_;
  obs::Family<obs::Counter>* conflicts_metric_ = nullptr;
  obs::Family<obs::Counter>* writes_metric_ = nullptr;
  obs::Family<obs::Counter>* evictions_metric_ = nullptr;
  int64_t conflicts_ = 0;
  int64_t writes_ = 0;
};

}  // namespace backstop::watcher
