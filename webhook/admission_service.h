#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "obs/metrics.h"
#include "policy/admission_request.h"
#include "policy/decision.h"
#include "policy/rule.h"

namespace backstop::webhook {

// The two webhook paths, as the rule table names them.
using Endpoint = policy::Endpoint;
std::string_view EndpointPath(Endpoint e);  // "/validate" or "/mutate"

// Decides one request. Supplied by the application (it wires policy, configuration and
// cluster knowledge); the webhook never decides by itself.
using DecideFn = std::function<policy::Decision(Endpoint, const policy::AdmissionRequest&)>;

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// Turns an HTTP body into an AdmissionReview answer: decode, decide, encode, with
// metrics and one log line per denial or error. Transport-free, so it is tested directly.
class AdmissionService {
 public:
  AdmissionService(DecideFn decide, obs::Registry& registry);

  HttpAnswer Handle(Endpoint endpoint, std::string_view content_type, std::string_view body);

  // For answers produced outside Handle (e.g. 413 from the HTTP layer).
  void CountRejected(Endpoint endpoint, int status);

 private:
  void Record(Endpoint endpoint, std::string_view kind, std::string_view operation,
              std::string_view outcome, double seconds);

  DecideFn decide_;
  obs::Family<obs::Counter>& requests_;
  obs::Family<obs::Histogram>& duration_;
  obs::Gauge& in_flight_;
  obs::Family<obs::Counter>& rules_;
  obs::Family<obs::Counter>& warnings_;
};

}  // namespace backstop::webhook
