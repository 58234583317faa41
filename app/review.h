#pragma once

#include <rapidjson/document.h>

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "app/decider.h"
#include "base/status.h"
#include "policy/admission_request.h"
#include "policy/cluster_facts.h"
#include "watcher/knowledge.h"

namespace backstop::app {

// `backstop review`: the admission answers the cluster would give, computed offline by
// the same decision path as `backstop serve` (app::Decide), with the same codec.

// One object to review and the AdmissionReview body that stands for it.
struct ReviewInput {
  std::string source;  // file name, or "-" for standard input
  int document = 0;    // 1-based document number in the file
  int line = 0;        // 1-based line where the document starts
  int item = -1;       // index in a List's items, -1 when the document is the object
  std::string review;  // AdmissionReview JSON (admission.k8s.io/v1, or as given)
  bool bare = false;   // the input was a bare AdmissionRequest (no AdmissionReview wrapper)
  // "file: document N (line L)" and " items[I]": for messages.
  std::string Where() const;
};

// How a manifest becomes a request: the apiserver's view of a CREATE (or UPDATE) of it.
struct RequestOptions {
  policy::Operation operation = policy::Operation::kCreate;  // --operation (CREATE or UPDATE)
  std::string username = "backstop-review";                  // request.userInfo.username
};

// Builds the admission.k8s.io/v1 AdmissionReview the apiserver would send for `object`
// (a manifest with apiVersion and kind): uid derived from `uid_seed`, kind/group/version
// from apiVersion, resource the lowercase plural (as apimachinery's UnsafeGuessKindToResource
// guesses it: Pod -> pods, Ingress -> ingresses, NetworkPolicy -> networkpolicies),
// namespace from metadata.namespace or "default" (also filled into the object, as the
// apiserver does before admission), name from metadata.name, oldObject = the object for
// UPDATE. Errors say what is missing ("missing kind").
StatusOr<std::string> BuildAdmissionReview(const rapidjson::Value& object,
                                           std::string_view uid_seed,
                                           const RequestOptions& options);

// A deterministic request uid (UUID-shaped) for a seed such as "file#2".
std::string ReviewUid(std::string_view seed);

// Reads every input: files, directories (their *.yaml, *.yml and *.json files in sorted
// order, not recursive, leaving out the paths in `skip`) and "-" (standard input, read once).
// Each document is a manifest, a List (kind List or *List: each item), an AdmissionReview
// (taken as is) or a bare AdmissionRequest. Errors name the file, document and line.
StatusOr<std::vector<ReviewInput>> CollectReviewInputs(const std::vector<std::string>& paths,
                                                       const std::vector<std::string>& skip,
                                                       const RequestOptions& options);

// The answer for one object, as the apiserver would combine the two webhooks.
struct ReviewRecord {
  std::string source;
  int document = 0;
  int item = -1;
  std::string kind;
  std::string ns;
  std::string name;
  std::string operation;
  bool allowed = true;
  std::string denied_by;  // "validate" or "mutate" when denied, else empty
  int code = 200;         // the status code the webhook answers with
  std::string reason;     // metav1.StatusReason of a denial
  std::string message;
  std::vector<std::string> warnings;  // sanitized as the server sends them, mutate first
  std::string patch = "[]";           // the mutating webhook's JSON Patch (a JSON array)
  std::string mutated;                // the object after the patch (JSON); empty: no mutation
  std::string rule;                   // the rule that decided (denials) or that fired
};

// Decodes `input.review` with webhook::DecodeAdmissionReview, asks app::Decide for the
// mutating answer, applies its patch, and asks for the validating answer on the mutated
// object (re-encoded and decoded again, as a second webhook call would be). A denial by
// either is the answer. Errors are input problems (the review does not decode).
StatusOr<ReviewRecord> ReviewOne(const ReviewInput& input, const DecisionInputs& inputs);

// Applies a JSON Patch (a JSON array) to a JSON document; the patched document, or why not.
StatusOr<std::string> ApplyJsonPatch(std::string_view document, std::string_view patch);

// Cluster knowledge from a `kubectl get nodes,pods -A -o json` file, through
// watcher::BuildClusterState, with the knowledge options of the config's "watcher"
// section. Offline knowledge is taken as current: the snapshot is read as the cluster
// now, so its failure observations count as seen at `now`.
StatusOr<policy::ClusterFactsPtr> LoadClusterState(
    const std::string& path, const watcher::KnowledgeOptions& knowledge_options,
    policy::TimePoint now);

// One JSON object (one line, no trailing newline) with the fields source, document,
// [item,] kind, namespace, name, operation, allowed, denied_by, code, reason, message,
// warnings, patch, mutated, rule.
std::string RecordJson(const ReviewRecord& record);
// A readable block: the headline, then indented message, warnings, patch and mutated object.
std::string RecordText(const ReviewRecord& record);
// "N objects: A allowed, D denied, W with warnings".
std::string SummaryText(const std::vector<ReviewRecord>& records);

struct ReviewFlags {
  std::vector<std::string> files;    // -f (repeatable): file, directory or "-"
  std::string config;                // --config: empty means defaults
  std::string cluster_state;         // --cluster-state: empty means nothing known
  std::string operation = "CREATE";  // --operation: CREATE or UPDATE
  std::string output = "text";       // -o: text or json
  bool warnings_as_errors = false;   // --warnings-as-errors
};

// The whole command: 0 all allowed, 1 something denied (or warned, with
// --warnings-as-errors), 2 usage or input errors (reported on `err`).
int RunReview(const ReviewFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace backstop::app
