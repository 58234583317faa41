#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy/config.h"
#include "policy/decision.h"
#include "webhook/codec.h"

namespace backstop::testing {

// What an apiserver puts in an admission.k8s.io/v1 AdmissionReview request.
struct ReviewSpec {
  std::string uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
  std::string group;
  std::string version = "v1";
  std::string kind;
  std::string resource;
  std::string sub_resource;
  std::string name;
  std::string ns = "default";
  std::string operation = "CREATE";
  std::string username = "kubernetes-admin";
  std::vector<std::string> groups = {"system:authenticated"};
  nlohmann::json object;      // null: absent
  nlohmann::json old_object;  // null: absent
  bool dry_run = false;
};

// The AdmissionReview the apiserver would send for `spec` (with requestKind,
// requestResource and the operation's options, as real ones carry).
nlohmann::json AdmissionReview(const ReviewSpec& spec);

// Decodes an AdmissionReview body with the webhook codec; a decode failure is a test
// failure (an empty review comes back).
webhook::DecodedReview DecodeOrFail(const std::string& body, bool allow_bare_request = false);

// The validating answer to that review as the server decides it: encoded, decoded by the
// webhook codec, then validated against `config` with no cluster knowledge. A decode
// failure is a test failure (and answered as the server would, 400).
policy::Decision ValidateAsServed(const ReviewSpec& spec, const policy::PolicyConfig& config);

// A policy configuration from JSON; a parse error is a test failure (defaults returned).
policy::PolicyConfig ConfigOrFail(const nlohmann::json& config);

// Warnings as the apiserver shows them best: at most 120 characters, never starting with
// "Warning:" (kubectl adds that itself).
void ExpectWellFormedWarnings(const policy::Decision& d);

}  // namespace backstop::testing
