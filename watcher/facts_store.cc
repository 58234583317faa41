#include "watcher/facts_store.h"

namespace backstop::watcher {

FactsStore::FactsStore() : current_(std::make_shared<const policy::ClusterFacts>()) {}

policy::ClusterFactsPtr FactsStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void FactsStore::Publish(policy::ClusterFactsPtr facts) {
  if (!facts) return;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(facts);
}

}  // namespace backstop::watcher
