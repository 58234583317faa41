#include "webhook/admission_service.h"

#include <chrono>
#include <exception>

#include "obs/log.h"
#include "webhook/codec.h"

namespace backstop::webhook {
namespace {

bool IsJsonContentType(std::string_view ct) {
  // "application/json" with optional parameters ("; charset=utf-8"); case-insensitive type.
  size_t semi = ct.find(';');
  std::string_view type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type.size() != 16) return false;
  static constexpr std::string_view kJson = "application/json";
  for (size_t i = 0; i < type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != kJson[i]) return false;
  }
  return true;
}

struct InFlight {
  explicit InFlight(obs::Gauge& g) : gauge(g) { gauge.Add(1); }
  ~InFlight() { gauge.Add(-1); }
  obs::Gauge& gauge;
};

// The answer to a request that could not be decoded: AdmissionReview-shaped when its uid
// is known (the apiserver can then show the message), else a metav1.Status.
HttpAnswer BadRequest(const Status& error, const DecodedReview& partial) {
  HttpAnswer a;
  a.status = HttpStatusFor(error);
  if (!partial.request.uid.empty()) {
    a.body = EncodeAdmissionResponse(partial.api_version, partial.request.uid,
                                     policy::Decision::Errored(a.status, error.message()), false);
  } else {
    a.body = EncodeStatus(a.status, a.status == 413 ? "RequestEntityTooLarge" : "BadRequest",
                          error.message());
  }
  return a;
}

}  // namespace

std::string_view EndpointPath(Endpoint e) {
  return e == Endpoint::kValidate ? "/validate" : "/mutate";
}

AdmissionService::AdmissionService(DecideFn decide, obs::Registry& registry)
    : decide_(std::move(decide)),
      requests_(registry.AddCounter("backstop_admission_requests_total",
                                    "Admission requests answered, by path, kind, operation and "
                                    "outcome (allowed, patched, warned, denied, error).",
                                    {"path", "kind", "operation", "outcome"})),
      duration_(registry.AddHistogram("backstop_admission_duration_seconds",
                                      "Time from a complete request body to an encoded answer.",
                                      obs::LatencyBuckets(), {"path"})),
      in_flight_(registry
                     .AddGauge("backstop_admission_in_flight_requests",
                               "Admission requests being decided right now.")
                     .With({})),
      rules_(registry.AddCounter("backstop_policy_decisions_total",
                                 "Decisions that a named rule made, by rule and outcome.",
                                 {"rule", "outcome"})),
      warnings_(registry.AddCounter("backstop_admission_warnings_total",
                                    "Warnings returned to clients, by path.", {"path"})) {}

void AdmissionService::Record(Endpoint endpoint, std::string_view kind, std::string_view operation,
                              std::string_view outcome, double seconds) {
  std::string path(EndpointPath(endpoint));
  requests_
      .With({path, std::string(kind.empty() ? "unknown" : kind), std::string(operation),
             std::string(outcome)})
      .Inc();
  duration_.With({path}).Observe(seconds);
}

void AdmissionService::CountRejected(Endpoint endpoint, int status) {
  Record(endpoint, "unknown", "unknown", "error", 0.0);
  obs::Log(obs::LogLevel::kWarn, "admission request rejected",
           {{"path", std::string(EndpointPath(endpoint))}, {"status", std::to_string(status)}});
}

HttpAnswer AdmissionService::Handle(Endpoint endpoint, std::string_view content_type,
                                    std::string_view body) {
  InFlight guard(in_flight_);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const std::string path(EndpointPath(endpoint));

  if (!IsJsonContentType(content_type)) {
    const Status error = InvalidArgumentError("Content-Type must be application/json, got \"" +
                                              std::string(content_type.substr(0, 100)) + "\"");
    Record(endpoint, "unknown", "unknown", "error", elapsed());
    obs::Log(obs::LogLevel::kWarn, "bad admission request",
             {{"path", path}, {"error", error.message()}});
    return BadRequest(error, DecodedReview{});
  }

  DecodedReview review;
  if (Status decoded = DecodeAdmissionReview(body, &review); !decoded.ok()) {
    Record(endpoint, "unknown", "unknown", "error", elapsed());
    obs::Log(obs::LogLevel::kWarn, "bad admission request",
             {{"path", path}, {"uid", review.request.uid}, {"error", decoded.message()}});
    return BadRequest(decoded, review);
  }
  const policy::AdmissionRequest& req = review.request;
  const std::string operation(policy::OperationName(req.operation));

  policy::Decision decision;
  HttpAnswer answer;
  try {
    decision = decide_(endpoint, req);
  } catch (const std::exception& ex) {
    decision = policy::Decision::Errored(500, std::string("internal error: ") + ex.what());
    answer.status = 500;
  } catch (...) {
    decision = policy::Decision::Errored(500, "internal error");
    answer.status = 500;
  }
  answer.body =
      EncodeAdmissionResponse(review.api_version, req.uid, decision, endpoint == Endpoint::kMutate);

  std::string outcome;
  if (answer.status >= 500) {
    outcome = "error";
  } else if (!decision.allowed) {
    outcome = "denied";
  } else if (endpoint == Endpoint::kMutate && !decision.patch.empty()) {
    outcome = "patched";
  } else if (!decision.warnings.empty()) {
    outcome = "warned";
  } else {
    outcome = "allowed";
  }
  Record(endpoint, req.kind.kind, operation, outcome, elapsed());
  if (!decision.rule.empty()) rules_.With({decision.rule, outcome}).Inc();
  if (!decision.warnings.empty()) {
    warnings_.With({path}).Inc(static_cast<double>(decision.warnings.size()));
  }

  const bool notable = outcome == "denied" || outcome == "error";
  const auto level = notable ? (answer.status >= 500 ? obs::LogLevel::kError : obs::LogLevel::kInfo)
                             : obs::LogLevel::kDebug;
  if (obs::LogEnabled(level)) {
    obs::LogFields fields = {
        {"path", path},
        {"uid", req.uid},
        {"kind", req.kind.group.empty() ? req.kind.kind : req.kind.group + "/" + req.kind.kind},
        {"namespace", req.ns},
        {"name", req.name},
        {"operation", operation},
        {"user", req.user_info.username},
        {"dryRun", req.dry_run ? "true" : "false"},
        {"outcome", outcome}};
    if (!decision.rule.empty()) fields.emplace_back("rule", decision.rule);
    if (!decision.message.empty()) fields.emplace_back("message", decision.message);
    if (!decision.warnings.empty()) {
      fields.emplace_back("warnings", std::to_string(decision.warnings.size()));
    }
    obs::Log(level,
             outcome == "denied"  ? "admission denied"
             : outcome == "error" ? "admission error"
                                  : "admission decided",
             fields);
  }
  return answer;
}

}  // namespace backstop::webhook
