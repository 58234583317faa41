#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "policy/admission_request.h"
#include "policy/decision.h"

namespace backstop::webhook {

// A decoded AdmissionReview. `request` points into `document`, which this owns.
struct DecodedReview {
  std::string api_version;  // admission.k8s.io/v1 or admission.k8s.io/v1beta1
  std::string kind;         // AdmissionReview
  std::unique_ptr<rapidjson::Document> document;
  policy::AdmissionRequest request;
};

// Decodes admission.k8s.io/v1 and v1beta1 AdmissionReview bodies into *out. Also accepts
// a bare AdmissionRequest object (no apiVersion/kind; as some tools store them) when
// `allow_bare_request` is set, answering it as v1. Never throws.
//
// A failure is InvalidArgument (HTTP 400) naming the field path and what is wrong. Even
// then `out->request.uid` and `out->api_version` keep what was read before the problem,
// so the answer can still be AdmissionReview-shaped.
Status DecodeAdmissionReview(std::string_view body, DecodedReview* out,
                             bool allow_bare_request = false);

// Makes warnings safe to send: control characters become spaces, a leading "Warning:" is
// dropped, each is cut to 256 bytes (on a UTF-8 boundary), and warnings past 4096 bytes
// in total are dropped, the last kept one saying how many were left out.
std::vector<std::string> SanitizeWarnings(const std::vector<std::string>& warnings);

// The serialised JSON Patch (a JSON array) of the decision's operations.
std::string PatchJson(const std::vector<policy::PatchOp>& ops);

// Encodes the AdmissionReview answering `uid` with the request's apiVersion. A patch is
// included only when `allow_patch` and the decision allows and carries operations.
std::string EncodeAdmissionResponse(std::string_view api_version, std::string_view uid,
                                    const policy::Decision& decision, bool allow_patch);

// A metav1.Status body for errors that cannot be AdmissionReview-shaped (no uid known).
std::string EncodeStatus(int code, std::string_view reason, std::string_view message);

}  // namespace backstop::webhook
