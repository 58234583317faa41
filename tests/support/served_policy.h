#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "app/decider.h"
#include "obs/metrics.h"
#include "tests/support/test_certs.h"
#include "webhook/admission_service.h"
#include "webhook/server.h"

namespace backstop::testing {

// The webhook server in-process on 127.0.0.1:0 with a throwaway CA, wired with app::Decide
// as `serve` wires it (the clock is injected: `now` and facts_fresh_at are fixed, and
// inputs.rules chooses the rule table).
class ServedPolicy {
 public:
  explicit ServedPolicy(app::DecisionInputs inputs);
  ~ServedPolicy();
  ServedPolicy(const ServedPolicy&) = delete;
  ServedPolicy& operator=(const ServedPolicy&) = delete;

  // POSTs `body` to `path` over TLS; expects HTTP 200 and returns the parsed body
  // (discarded JSON when it does not parse).
  nlohmann::json Post(const std::string& path, const std::string& body);

 private:
  app::DecisionInputs inputs_;
  TestCa ca_;
  TempDir dir_;
  obs::Registry registry_;
  std::unique_ptr<webhook::AdmissionService> service_;
  std::unique_ptr<webhook::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace backstop::testing
