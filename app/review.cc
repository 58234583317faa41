#include "app/review.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <variant>

#include "app/config_file.h"
#include "app/documents.h"
#include "base/config_reader.h"
#include "base/json_util.h"
#include "watcher/cluster_state.h"
#include "watcher/knowledge.h"
#include "watcher/watcher.h"
#include "webhook/codec.h"

namespace backstop::app {
namespace {

using nlohmann::json;
using rapidjson::Value;

constexpr std::string_view kAdmissionV1 = "admission.k8s.io/v1";

// Kinds that live outside namespaces: the apiserver sends no namespace for them.
bool ClusterScoped(std::string_view group, std::string_view kind) {
  static const std::set<std::pair<std::string_view, std::string_view>> kKinds = {
      {"", "Namespace"},
      {"", "Node"},
      {"", "PersistentVolume"},
      {"rbac.authorization.k8s.io", "ClusterRole"},
      {"rbac.authorization.k8s.io", "ClusterRoleBinding"},
      {"apiextensions.k8s.io", "CustomResourceDefinition"},
      {"storage.k8s.io", "StorageClass"},
      {"scheduling.k8s.io", "PriorityClass"},
      {"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"},
      {"admissionregistration.k8s.io", "MutatingWebhookConfiguration"},
  };
  return kKinds.count({group, kind}) > 0;
}

// apimachinery's meta.UnsafeGuessKindToResource: lowercase, then "s" -> "ses",
// "y" -> "ies", else + "s".
std::string GuessResource(std::string_view kind) {
  std::string r;
  for (char c : kind) r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r.empty()) return r;
  if (r.back() == 's') return r + "es";
  if (r.back() == 'y') return r.substr(0, r.size() - 1) + "ies";
  return r + "s";
}

uint64_t Fnv1a(std::string_view s, uint64_t hash) {
  for (char c : s) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string Where(std::string_view source, int document, int line) {
  std::string w = std::string(source) + ": document " + std::to_string(document);
  if (line > 0) w += " (line " + std::to_string(line) + ")";
  return w;
}

json ToNlohmann(const Value& v) { return json::parse(ToJson(v)); }

bool IsListKind(const Value& doc) {
  auto kind = AsString(Member(&doc, "kind"));
  if (!kind || kind->size() < 4 || kind->substr(kind->size() - 4) != "List") return false;
  return Member(&doc, "items") != nullptr;
}

// Adds the review of one object (a document or a List item) to `out`.
Status AddObject(const Value& object, const std::string& source, int document, int line, int item,
                 const RequestOptions& options, std::vector<ReviewInput>* out) {
  ReviewInput in;
  in.source = source;
  in.document = document;
  in.line = line;
  in.item = item;
  auto kind = Member(&object, "kind");
  if (kind != nullptr && kind->IsString() &&
      std::string_view(kind->GetString(), kind->GetStringLength()) == "AdmissionReview") {
    in.review = ToJson(object);
  } else if (kind != nullptr && kind->IsObject() && Member(&object, "uid") != nullptr) {
    // A bare AdmissionRequest, as some tools store them.
    in.review = ToJson(object);
    in.bare = true;
  } else {
    std::string seed = source + "#" + std::to_string(document);
    if (item >= 0) seed += "/items/" + std::to_string(item);
    auto review = BuildAdmissionReview(object, seed, options);
    if (!review) return review.status().WithContext(in.Where());
    in.review = std::move(*review);
  }
  out->push_back(std::move(in));
  return OkStatus();
}

Status AddDocument(const SourceDocument& doc, const RequestOptions& options,
                   std::vector<ReviewInput>* out) {
  const Value& v = *doc.json;
  const std::string where = Where(doc.source, doc.index, doc.line);
  if (!v.IsObject()) {
    return InvalidArgumentError(where + ": expected a Kubernetes object, got " +
                                std::string(TypeName(v)));
  }
  if (!IsListKind(v)) return AddObject(v, doc.source, doc.index, doc.line, -1, options, out);

  const std::string list_kind(*AsString(Member(&v, "kind")));
  const Value* items = Member(&v, "items");
  if (items->IsNull()) return OkStatus();
  if (!items->IsArray()) {
    return InvalidArgumentError(where + ": " + list_kind + " items must be an array, got " +
                                std::string(TypeName(*items)));
  }
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const Value& item = (*items)[i];
    const int index = static_cast<int>(i);
    if (!item.IsObject()) {
      return InvalidArgumentError(where + ": items[" + std::to_string(i) +
                                  "]: expected a Kubernetes object, got " +
                                  std::string(TypeName(item)));
    }
    // Items of a typed list (PodList from the API) carry no apiVersion/kind of their own.
    if (Member(&item, "kind") == nullptr && list_kind != "List") {
      rapidjson::Document typed;
      typed.CopyFrom(item, typed.GetAllocator());
      Value kind_value(list_kind.substr(0, list_kind.size() - 4).c_str(), typed.GetAllocator());
      typed.AddMember("kind", kind_value, typed.GetAllocator());
      if (Member(&item, "apiVersion") == nullptr) {
        if (const Value* api = Member(&v, "apiVersion"); api != nullptr && api->IsString()) {
          Value copy(*api, typed.GetAllocator());
          typed.AddMember("apiVersion", copy, typed.GetAllocator());
        }
      }
      Status added = AddObject(typed, doc.source, doc.index, doc.line, index, options, out);
      if (!added.ok()) return added;
      continue;
    }
    Status added = AddObject(item, doc.source, doc.index, doc.line, index, options, out);
    if (!added.ok()) return added;
  }
  return OkStatus();
}

bool SameFile(const std::filesystem::path& a, const std::string& b) {
  if (b.empty()) return false;
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

json PatchValue(const std::string& patch) {
  json p = json::parse(patch, nullptr, false);
  return p.is_discarded() ? json::array() : p;
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

// Decide as AdmissionService does: an exception becomes a 500 "internal error".
policy::Decision SafeDecide(webhook::Endpoint endpoint, const policy::AdmissionRequest& request,
                            const DecisionInputs& inputs) {
  try {
    return Decide(endpoint, request, inputs);
  } catch (const std::exception& ex) {
    return policy::Decision::Errored(500, std::string("internal error: ") + ex.what());
  } catch (...) {
    return policy::Decision::Errored(500, "internal error");
  }
}

void Deny(const policy::Decision& d, std::string_view by, ReviewRecord* r) {
  r->allowed = false;
  r->denied_by = std::string(by);
  r->code = d.code < 400 ? 400 : d.code;
  r->reason = d.reason;
  r->message = d.message;
  r->rule = d.rule;
}

void AddWarnings(const policy::Decision& d, ReviewRecord* r) {
  for (auto& w : webhook::SanitizeWarnings(d.warnings)) r->warnings.push_back(std::move(w));
}

}  // namespace

std::string ReviewInput::Where() const {
  std::string w = app::Where(source, document, line);
  if (item >= 0) w += ": items[" + std::to_string(item) + "]";
  return w;
}

std::string ReviewUid(std::string_view seed) {
  const uint64_t a = Fnv1a(seed, 14695981039346656037ULL);
  const uint64_t b = Fnv1a(seed, a ^ 0x9e3779b97f4a7c15ULL);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

StatusOr<std::string> BuildAdmissionReview(const Value& object, std::string_view uid_seed,
                                           const RequestOptions& options) {
  if (!object.IsObject()) {
    return InvalidArgumentError("expected a Kubernetes object, got " +
                                std::string(TypeName(object)));
  }
  const Value* kind_value = Member(&object, "kind");
  if (kind_value == nullptr || kind_value->IsNull()) return InvalidArgumentError("missing kind");
  if (!kind_value->IsString()) {
    return InvalidArgumentError("kind must be a string, got " + std::string(TypeName(*kind_value)));
  }
  const std::string kind(kind_value->GetString(), kind_value->GetStringLength());
  if (kind.empty()) return InvalidArgumentError("missing kind");
  const Value* api_value = Member(&object, "apiVersion");
  if (api_value == nullptr || api_value->IsNull())
    return InvalidArgumentError("missing apiVersion");
  if (!api_value->IsString()) {
    return InvalidArgumentError("apiVersion must be a string, got " +
                                std::string(TypeName(*api_value)));
  }
  const std::string api_version(api_value->GetString(), api_value->GetStringLength());
  if (api_version.empty()) return InvalidArgumentError("missing apiVersion");
  std::string group;
  std::string version = api_version;
  if (size_t slash = api_version.rfind('/'); slash != std::string::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  const Value* metadata = Member(&object, "metadata");
  if (metadata != nullptr && !metadata->IsNull() && !metadata->IsObject()) {
    return InvalidArgumentError("metadata must be an object, got " +
                                std::string(TypeName(*metadata)));
  }
  std::string name;
  std::string ns;
  for (auto [key, out] :
       {std::pair<const char*, std::string*>{"name", &name}, {"namespace", &ns}}) {
    const Value* v = Member(metadata, key);
    if (v == nullptr || v->IsNull()) continue;
    if (!v->IsString()) {
      return InvalidArgumentError(std::string("metadata.") + key + " must be a string, got " +
                                  std::string(TypeName(*v)));
    }
    out->assign(v->GetString(), v->GetStringLength());
  }
  json obj = ToNlohmann(object);
  if (ClusterScoped(group, kind)) {
    ns.clear();
  } else if (ns.empty()) {
    // The apiserver sets the request's namespace on the object before admission.
    ns = "default";
    if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
    obj["metadata"]["namespace"] = ns;
  }

  const std::string resource = GuessResource(kind);
  json request = {
      {"uid", ReviewUid(uid_seed)},
      {"kind", {{"group", group}, {"version", version}, {"kind", kind}}},
      {"resource", {{"group", group}, {"version", version}, {"resource", resource}}},
      {"requestKind", {{"group", group}, {"version", version}, {"kind", kind}}},
      {"requestResource", {{"group", group}, {"version", version}, {"resource", resource}}},
      {"name", name},
      {"operation", std::string(policy::OperationName(options.operation))},
      {"userInfo", {{"username", options.username}}},
      {"object", obj},
      {"dryRun", true},
  };
  if (!ns.empty()) request["namespace"] = ns;
  if (options.operation == policy::Operation::kUpdate) {
    request["oldObject"] = obj;
    request["options"] = {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "UpdateOptions"}};
  } else {
    request["options"] = {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "CreateOptions"}};
  }
  json review = {
      {"apiVersion", std::string(kAdmissionV1)}, {"kind", "AdmissionReview"}, {"request", request}};
  return review.dump();
}

StatusOr<std::vector<ReviewInput>> CollectReviewInputs(const std::vector<std::string>& paths,
                                                       const std::vector<std::string>& skip,
                                                       const RequestOptions& options) {
  std::vector<ReviewInput> out;
  bool stdin_read = false;
  for (const std::string& path : paths) {
    std::vector<std::string> files;
    std::error_code ec;
    if (path != "-" && std::filesystem::is_directory(path, ec)) {
      std::vector<std::filesystem::path> found;
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
        std::error_code type_ec;
        if (!entry.is_regular_file(type_ec)) continue;
        bool skipped = false;
        for (const std::string& s : skip) skipped = skipped || SameFile(entry.path(), s);
        if (!skipped) found.push_back(entry.path());
      }
      if (ec) return InvalidArgumentError(path + ": cannot list directory: " + ec.message());
      std::sort(found.begin(), found.end());
      for (const auto& f : found) files.push_back(f.string());
    } else {
      if (path == "-") {
        if (stdin_read) return InvalidArgumentError("-: standard input can be read only once");
        stdin_read = true;
      }
      files.push_back(path);
    }
    for (const std::string& file : files) {
      auto docs = LoadDocuments(file);
      if (!docs) return docs.status();
      for (const SourceDocument& doc : *docs) {
        Status added = AddDocument(doc, options, &out);
        if (!added.ok()) return added;
      }
    }
  }
  return out;
}

StatusOr<std::string> ApplyJsonPatch(std::string_view document, std::string_view patch) {
  try {
    json doc = json::parse(document);
    json ops = json::parse(patch);
    return doc.patch(ops).dump();
  } catch (const json::exception& e) {
    return InvalidArgumentError(e.what());
  }
}

StatusOr<ReviewRecord> ReviewOne(const ReviewInput& input, const DecisionInputs& inputs) {
  webhook::DecodedReview review;
  if (Status decoded = webhook::DecodeAdmissionReview(input.review, &review, input.bare);
      !decoded.ok()) {
    return decoded.WithContext(input.Where());
  }
  const policy::AdmissionRequest& request = review.request;

  ReviewRecord r;
  r.source = input.source;
  r.document = input.document;
  r.item = input.item;
  r.kind = request.kind.kind;
  r.ns = request.ns;
  r.name = request.name;
  if (r.name.empty()) {
    const Value* object = request.object != nullptr ? request.object : request.old_object;
    r.name = std::string(
        AsString(Find(object, {"metadata", "name"}))
            .value_or(AsString(Find(object, {"metadata", "generateName"})).value_or("")));
  }
  r.operation = std::string(policy::OperationName(request.operation));

  // Mutating admission first, as the apiserver runs it.
  policy::Decision mutate = SafeDecide(webhook::Endpoint::kMutate, request, inputs);
  AddWarnings(mutate, &r);
  if (!mutate.allowed) {
    Deny(mutate, "mutate", &r);
    return r;
  }

  // Then validating admission, on the object as mutated.
  const policy::AdmissionRequest* validate_request = &request;
  webhook::DecodedReview redecoded;
  if (!mutate.patch.empty()) {
    r.patch = webhook::PatchJson(mutate.patch);
    if (request.object == nullptr) {
      Deny(policy::Decision::Errored(500, "the mutating webhook patched a request without object"),
           "mutate", &r);
      return r;
    }
    auto mutated = ApplyJsonPatch(ToJson(*request.object), r.patch);
    if (!mutated) {
      Deny(policy::Decision::Errored(500, "the mutating webhook's JSON Patch does not apply: " +
                                              mutated.status().message()),
           "mutate", &r);
      return r;
    }
    r.mutated = *mutated;
    json body = json::parse(input.review);
    (input.bare ? body : body["request"])["object"] = json::parse(r.mutated);
    if (Status decoded = webhook::DecodeAdmissionReview(body.dump(), &redecoded, input.bare);
        !decoded.ok()) {
      return decoded.WithContext(input.Where() + ": after mutation");
    }
    validate_request = &redecoded.request;
  }
  policy::Decision validate = SafeDecide(webhook::Endpoint::kValidate, *validate_request, inputs);
  AddWarnings(validate, &r);
  if (!validate.allowed) {
    Deny(validate, "validate", &r);
    return r;
  }
  r.code = validate.code;
  r.message = !validate.message.empty() ? validate.message : mutate.message;
  std::vector<std::string> rules;
  for (const std::string* rule : {&mutate.rule, &validate.rule}) {
    if (!rule->empty() && std::find(rules.begin(), rules.end(), *rule) == rules.end()) {
      rules.push_back(*rule);
    }
  }
  for (const auto& rule : rules) r.rule += (r.rule.empty() ? "" : ",") + rule;
  return r;
}

StatusOr<policy::ClusterFactsPtr> LoadClusterState(
    const std::string& path, const watcher::KnowledgeOptions& knowledge_options,
    policy::TimePoint now) {
  auto docs = LoadDocuments(path);
  if (!docs) return Status(docs.status().code(), "--cluster-state " + docs.status().message());
  std::vector<watcher::StateDocument> state;
  for (const auto& d : *docs) state.push_back({d.source, d.index, d.json.get()});
  auto facts = watcher::BuildClusterState(state, knowledge_options, now);
  if (!facts) return Status(facts.status().code(), "--cluster-state " + facts.status().message());
  // The file is taken as the cluster as it is now: every failure it shows is current.
  auto current = std::make_shared<policy::ClusterFacts>(**facts);
  for (auto& [image, observations] : current->absent_on_node) {
    for (auto& o : observations) o.last_seen = now;
  }
  for (auto& [image, o] : current->missing_from_registry) o.last_seen = now;
  return policy::ClusterFactsPtr(std::move(current));
}

std::string RecordJson(const ReviewRecord& r) {
  nlohmann::ordered_json j;
  j["source"] = r.source;
  j["document"] = r.document;
  if (r.item >= 0) j["item"] = r.item;
  j["kind"] = r.kind;
  j["namespace"] = r.ns;
  j["name"] = r.name;
  j["operation"] = r.operation;
  j["allowed"] = r.allowed;
  j["denied_by"] =
      r.denied_by.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.denied_by);
  j["code"] = r.code;
  j["reason"] = r.reason;
  j["message"] = r.message;
  j["warnings"] = r.warnings;
  j["patch"] = nlohmann::ordered_json::parse(r.patch, nullptr, false);
  if (j["patch"].is_discarded()) j["patch"] = nlohmann::ordered_json::array();
  j["mutated"] = r.mutated.empty() ? nlohmann::ordered_json()
                                   : nlohmann::ordered_json::parse(r.mutated, nullptr, false);
  j["rule"] = r.rule;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RecordText(const ReviewRecord& r) {
  std::string head = r.source + "#" + std::to_string(r.document);
  if (r.item >= 0) head += " items[" + std::to_string(r.item) + "]";
  head += " " + r.kind + " " + (r.ns.empty() ? "" : r.ns + "/") + r.name;
  if (r.operation != "CREATE") head += " (" + r.operation + ")";
  head += ": ";
  if (r.allowed) {
    head += "allowed";
    if (!r.mutated.empty()) head += " (mutated)";
  } else {
    head += "denied by " + r.denied_by + " (" + std::to_string(r.code);
    if (!r.reason.empty()) head += " " + r.reason;
    head += ")";
  }
  std::string out = head + "\n";
  if (!r.rule.empty()) out += "  rule: " + r.rule + "\n";
  if (!r.message.empty()) out += "  message: " + r.message + "\n";
  for (const auto& w : r.warnings) out += "  warning: " + w + "\n";
  json patch = PatchValue(r.patch);
  if (!patch.empty()) {
    out += "  patch:\n";
    for (const auto& op : patch)
      out += "    " + op.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  if (!r.mutated.empty()) {
    json mutated = json::parse(r.mutated, nullptr, false);
    out += "  mutated object:\n";
    out += Indent(mutated.dump(2, ' ', false, json::error_handler_t::replace), "    ");
  }
  return out;
}

std::string SummaryText(const std::vector<ReviewRecord>& records) {
  size_t allowed = 0;
  size_t warned = 0;
  for (const auto& r : records) {
    allowed += r.allowed ? 1 : 0;
    warned += r.warnings.empty() ? 0 : 1;
  }
  return std::to_string(records.size()) + (records.size() == 1 ? " object: " : " objects: ") +
         std::to_string(allowed) + " allowed, " + std::to_string(records.size() - allowed) +
         " denied, " + std::to_string(warned) + " with warnings";
}

int RunReview(const ReviewFlags& flags, std::ostream& out, std::ostream& err) {
  constexpr const char* kPrefix = "backstop review: ";
  if (flags.files.empty()) {
    err << kPrefix << "-f is required: a file, a directory or - (standard input)\n";
    return 2;
  }
  RequestOptions request_options;
  request_options.operation = policy::ParseOperation(flags.operation);
  if (request_options.operation != policy::Operation::kCreate &&
      request_options.operation != policy::Operation::kUpdate) {
    err << kPrefix << "--operation must be CREATE or UPDATE, got \"" << flags.operation << "\"\n";
    return 2;
  }
  if (flags.output != "text" && flags.output != "json") {
    err << kPrefix << "-o must be text or json, got \"" << flags.output << "\"\n";
    return 2;
  }
  auto config = LoadConfig(flags.config);
  if (!config) {
    err << kPrefix << config.status().message() << "\n";
    return ExitCodeFor(config.status());
  }
  const policy::TimePoint now = policy::Clock::now();
  DecisionInputs inputs{config->policy, std::make_shared<const policy::ClusterFacts>(), now, now};
  for (const std::string& w : config->warnings) err << kPrefix << "warning: --config " << w << "\n";
  if (!flags.cluster_state.empty()) {
    auto facts = LoadClusterState(flags.cluster_state, config->knowledge, now);
    if (!facts) {
      err << kPrefix << facts.status().message() << "\n";
      return ExitCodeFor(facts.status());
    }
    inputs.facts = *facts;
  }

  auto collected =
      CollectReviewInputs(flags.files, {flags.cluster_state, flags.config}, request_options);
  if (!collected) {
    err << kPrefix << collected.status().message() << "\n";
    return ExitCodeFor(collected.status());
  }
  if (collected->empty()) {
    std::string names;
    for (const auto& f : flags.files) names += (names.empty() ? "" : ", ") + f;
    err << kPrefix << "no objects to review in " << names << "\n";
    return 2;
  }
  std::vector<ReviewRecord> records;
  records.reserve(collected->size());
  for (const ReviewInput& input : *collected) {
    auto record = ReviewOne(input, inputs);
    if (!record) {
      err << kPrefix << record.status().message() << "\n";
      return ExitCodeFor(record.status());
    }
    records.push_back(std::move(*record));
  }

  bool denied = false;
  bool warned = false;
  for (const ReviewRecord& r : records) {
    denied = denied || !r.allowed;
    warned = warned || !r.warnings.empty();
    out << (flags.output == "json" ? RecordJson(r) + "\n" : RecordText(r));
  }
  if (flags.output == "text") out << SummaryText(records) << "\n";
  out.flush();
  if (denied) return 1;
  if (warned && flags.warnings_as_errors) return 1;
  return 0;
}

}  // namespace backstop::app
