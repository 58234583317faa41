#include "policy/image_policy.h"

#include "base/json_util.h"
#include "policy/engine.h"
#include "policy/image_checks.h"

namespace backstop::policy {
namespace {

void ParseRule(ConfigReader reader, Enforcement* out, const std::vector<std::string>& allowed) {
  ReadEnforcement(reader, "enforcement", out, allowed);
  reader.RejectUnknown();
}

void ParseRemedies(ConfigReader& reader, std::vector<RemedyTemplate>* out) {
  const rapidjson::Value* list = reader.Raw("remedies");
  if (list == nullptr) return;
  if (!list->IsArray()) {
    reader.Fail("remedies",
                "must be a list of {pattern, text}, got " + std::string(TypeName(*list)));
    return;
  }
  std::vector<RemedyTemplate> remedies;
  bool ok = true;
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const std::string at = "remedies[" + std::to_string(i) + "]";
    const rapidjson::Value& item = (*list)[i];
    if (!item.IsObject()) {
      reader.Fail(at,
                  "must be an object with pattern and text, got " + std::string(TypeName(item)));
      ok = false;
      continue;
    }
    RemedyTemplate remedy;
    for (auto it = item.MemberBegin(); it != item.MemberEnd(); ++it) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      std::string* field = name == "pattern" ? &remedy.pattern
                           : name == "text"  ? &remedy.text
                                             : nullptr;
      if (field == nullptr) {
        reader.Fail(at + "." + std::string(name), "unknown key");
        ok = false;
      } else if (!it->value.IsString()) {
        reader.Fail(at + "." + std::string(name),
                    "must be a string, got " + std::string(TypeName(it->value)));
        ok = false;
      } else {
        *field = std::string(it->value.GetString(), it->value.GetStringLength());
      }
    }
    if (remedy.pattern.empty()) {
      reader.Fail(at + ".pattern", "required (a glob such as \"optio-*\")");
      ok = false;
    }
    if (remedy.text.empty()) {
      reader.Fail(at + ".text", "required");
      ok = false;
    }
    remedies.push_back(std::move(remedy));
  }
  if (ok) *out = std::move(remedies);
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// The pod spec of a Pod, Job or CronJob object and its field path.
const rapidjson::Value* PodSpecOf(const AdmissionRequest& request, const rapidjson::Value* object,
                                  std::string_view* path) {
  if (request.kind.kind == "Pod") {
    *path = "spec";
    return Find(object, {"spec"});
  }
  if (request.kind.kind == "Job") {
    *path = "spec.template.spec";
    return Find(object, {"spec", "template", "spec"});
  }
  if (request.kind.kind == "CronJob") {
    *path = "spec.jobTemplate.spec.template.spec";
    return Find(object, {"spec", "jobTemplate", "spec", "template", "spec"});
  }
  return nullptr;
}

}  // namespace

void ParseImageOptions(ConfigReader reader, ImageOptions* out) {
  const std::vector<std::string> all = {"deny", "warn", "dryrun"};
  ParseRule(reader.Child("neverPullAbsent"), &out->never_pull_absent, all);
  ParseRule(reader.Child("absentFromNodeLists"), &out->absent_from_node_lists, all);
  // Partial absence never proves the pod will fail: it can only warn.
  ParseRule(reader.Child("neverPullSomeNodes"), &out->never_pull_some_nodes, {"warn", "dryrun"});
  ParseRule(reader.Child("missingFromRegistry"), &out->missing_from_registry, all);
  ParseRule(reader.Child("invalidReference"), &out->invalid_reference, all);
  reader.Int("maxKnowledgeAgeSeconds", &out->max_knowledge_age_seconds, 1, 7 * 24 * 3600);
  reader.Renamed("observationTtlSeconds", "maxObservationAgeSeconds");
  reader.Int("maxObservationAgeSeconds", &out->max_observation_age_seconds, 1, 7 * 24 * 3600);
  ParseRemedies(reader, &out->remedies);
  std::string default_remedy = out->default_remedy;
  reader.String("defaultRemedy", &default_remedy);
  if (default_remedy.empty()) {
    reader.Fail("defaultRemedy", "must not be empty");
  } else {
    out->default_remedy = std::move(default_remedy);
  }
  reader.RejectUnknown();
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with single backtrack point: O(pattern * text) worst case.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string RemedyFor(const ImageOptions& options, std::string_view image,
                      std::string_view normalized, std::string_view fallback) {
  std::string text = fallback.empty() ? options.default_remedy : std::string(fallback);
  for (const RemedyTemplate& remedy : options.remedies) {
    if (GlobMatch(remedy.pattern, image) || GlobMatch(remedy.pattern, normalized)) {
      text = remedy.text;
      break;
    }
  }
  ReplaceAll(text, "{image}", image);
  return text;
}

Decision ValidatePodImages(const AdmissionRequest& request, const PolicyContext& context) {
  if (request.object == nullptr) return Decision::Allowed();
  std::string_view path;
  const rapidjson::Value* spec = PodSpecOf(request, request.object, &path);
  if (spec == nullptr || !spec->IsObject()) return Decision::Allowed();
  const rapidjson::Value* old_spec = nullptr;
  if (request.operation == Operation::kUpdate && request.old_object != nullptr) {
    std::string_view old_path;
    old_spec = PodSpecOf(request, request.old_object, &old_path);
  }
  if (request.operation == Operation::kUpdate && old_spec != nullptr) {
    return CheckPodSpecImages(*spec, path, context, old_spec);
  }
  return CheckPodSpecImages(*spec, path, context);
}

}  // namespace backstop::policy
