#pragma once

#include <memory>
#include <mutex>

#include "policy/cluster_facts.h"

namespace backstop::watcher {

// Holds the current ClusterFacts snapshot. Readers take a shared_ptr copy and keep a
// consistent, immutable view however long they need it; the writer swaps in a new one.
class FactsStore {
 public:
  FactsStore();

  policy::ClusterFactsPtr Current() const;
  void Publish(policy::ClusterFactsPtr facts);

 private:
  mutable std::mutex mu_;  // guards current_ (the pointer, never the pointee)
  policy::ClusterFactsPtr current_;
};

}  // namespace backstop::watcher
