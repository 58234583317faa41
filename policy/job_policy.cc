#include "policy/job_policy.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_util.h"
#include "policy/engine.h"
#include "policy/image_checks.h"
#include "policy/image_ref.h"

namespace backstop::policy {
namespace {

constexpr std::string_view kDeadlineRule = "jobs.activeDeadlineSeconds";
constexpr std::string_view kAnnotationRule = "jobs.activeDeadlineAnnotation";
constexpr std::string_view kAuditKey = "active-deadline-seconds";
constexpr std::string_view kMutateRule = "jobs.mutate";

// Largest deadline accepted from configuration and annotations (12 digits, ~31,700 years);
// anything larger is a typo, not a deadline.
constexpr int64_t kMaxDeadlineSeconds = 999'999'999'999;

using Segments = std::vector<std::string_view>;

std::string Dotted(const Segments& segments) {
  std::string out;
  for (std::string_view s : segments) {
    if (!out.empty()) out += '.';
    out += s;
  }
  return out;
}

std::string Pointer(const Segments& segments) {
  std::string out;
  for (std::string_view s : segments) out += "/" + EscapePointerToken(s);
  return out;
}

const rapidjson::Value* Walk(const rapidjson::Value* root, const Segments& segments) {
  const rapidjson::Value* v = root;
  for (std::string_view s : segments) {
    v = Member(v, s);
    if (v == nullptr) return nullptr;
  }
  return v;
}

// Sets root[segments...][key] = value_json with one operation: "add" (or "replace" when
// the member exists) on the field itself, or, when a parent object is missing (or null),
// one "add" of that parent holding the rest. False when a step is not an object, which
// the apiserver rejects on its own.
bool SetNested(const rapidjson::Value& root, const Segments& segments, std::string_view key,
               const std::string& value_json, std::vector<PatchOp>* ops) {
  std::string pointer;
  const rapidjson::Value* cur = &root;
  for (size_t i = 0; i < segments.size(); ++i) {
    const rapidjson::Value* next = Member(cur, segments[i]);
    pointer += "/" + EscapePointerToken(segments[i]);
    if (next == nullptr || next->IsNull()) {
      std::string value = "{" + QuoteJson(key) + ":" + value_json + "}";
      for (size_t j = segments.size() - 1; j > i; --j) {
        value = "{" + QuoteJson(segments[j]) + ":" + value + "}";
      }
      ops->push_back(PatchOp{"add", pointer, value});
      return true;
    }
    if (!next->IsObject()) return false;
    cur = next;
  }
  const rapidjson::Value* existing = Member(cur, key);
  ops->push_back(PatchOp{existing != nullptr ? "replace" : "add",
                         pointer + "/" + EscapePointerToken(key), value_json});
  return true;
}

bool LabelsMatch(const rapidjson::Value* labels,
                 const std::vector<std::pair<std::string, std::string>>& want) {
  for (const auto& [key, value] : want) {
    std::optional<std::string_view> got = AsString(Member(labels, key));
    if (!got || *got != value) return false;
  }
  return true;
}

bool NamespaceMatches(std::string_view ns, const std::vector<std::string>& namespaces) {
  return namespaces.empty() ||
         std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

// A whole number of seconds, 1..kMaxDeadlineSeconds, digits only.
std::optional<int64_t> ParseSeconds(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

// Reads a matchLabels object (string values only) into `out`.
void ReadLabels(ConfigReader& reader, std::string_view key,
                std::vector<std::pair<std::string, std::string>>* out) {
  const rapidjson::Value* v = reader.Raw(key);
  if (v == nullptr) return;
  if (!v->IsObject()) {
    reader.Fail(key,
                "must be an object of label names to values, got " + std::string(TypeName(*v)));
    return;
  }
  std::vector<std::pair<std::string, std::string>> labels;
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    if (!it->value.IsString()) {
      reader.Fail(std::string(key) + "." + name,
                  "must be a string, got " + std::string(TypeName(it->value)));
      continue;
    }
    labels.emplace_back(std::move(name),
                        std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  *out = std::move(labels);
}

void ReadRules(ConfigReader& reader, std::vector<JobDeadlineRule>* out) {
  const rapidjson::Value* v = reader.Raw("rules");
  if (v == nullptr) return;
  if (!v->IsArray()) {
    reader.Fail("rules", "must be a list of rules, got " + std::string(TypeName(*v)));
    return;
  }
  std::vector<JobDeadlineRule> rules;
  for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
    const std::string item_key = "rules[" + std::to_string(i) + "]";
    const rapidjson::Value& item = (*v)[i];
    if (!item.IsObject()) {
      reader.Fail(item_key, "must be an object, got " + std::string(TypeName(item)));
      continue;
    }
    ConfigReader item_reader = reader.Nested(item_key, &item);
    JobDeadlineRule rule;
    item_reader.StringList("namespaces", &rule.namespaces);
    ReadLabels(item_reader, "matchLabels", &rule.match_labels);
    if (Member(&item, "activeDeadlineSeconds") == nullptr) {
      item_reader.Fail("activeDeadlineSeconds", "is required");
    }
    item_reader.Int("activeDeadlineSeconds", &rule.active_deadline_seconds, 1, kMaxDeadlineSeconds);
    item_reader.RejectUnknown();
    rules.push_back(std::move(rule));
  }
  *out = std::move(rules);
}

// What the deadline of one admitted object is checked against.
struct Target {
  bool cron = false;
  Segments job_spec;  // path of the Job spec
  Segments pod_spec;  // path of the pod template spec
  std::string ns;
  const rapidjson::Value* labels = nullptr;
};

// The override annotation: on a Job its own metadata; on a CronJob the jobTemplate's
// metadata (which becomes the Job's) first, then the CronJob's own.
struct Override {
  bool present = false;
  std::string field;  // where it was read, e.g. metadata.annotations[backstop.dev/...]
  std::string text;
  std::optional<int64_t> seconds;
};

Override FindOverride(const rapidjson::Value& object, bool cron) {
  std::vector<Segments> places;
  if (cron) places.push_back({"spec", "jobTemplate", "metadata"});
  places.push_back({"metadata"});
  Override found;
  for (const Segments& meta : places) {
    const rapidjson::Value* v =
        Member(Member(Walk(&object, meta), "annotations"), kActiveDeadlineAnnotation);
    if (v == nullptr) continue;
    found.present = true;
    found.field = Dotted(meta) + ".annotations[" + std::string(kActiveDeadlineAnnotation) + "]";
    if (v->IsString()) {
      found.text.assign(v->GetString(), v->GetStringLength());
      found.seconds = ParseSeconds(found.text);
    } else {
      found.text = ToJson(*v);
    }
    return found;
  }
  return found;
}

// The deadline part of the mutation. Returns a denial, or appends operations, warnings and
// audit annotations to `d`.
void MutateDeadline(const AdmissionRequest& request, const JobOptions& o, const Target& t,
                    Decision* d) {
  const rapidjson::Value& object = *request.object;
  const Override override_value = FindOverride(object, t.cron);
  if (override_value.present && !override_value.seconds) {
    *d = Decision::Denied(
        std::string(kAnnotationRule),
        override_value.field + ": invalid value " + QuoteJson(override_value.text) +
            ": must be a whole number of seconds from 1 to " + std::to_string(kMaxDeadlineSeconds) +
            ", written as a string of digits, e.g. \"3600\"",
        422, "Invalid");
    return;
  }
  const std::string field = Dotted(t.job_spec) + ".activeDeadlineSeconds";
  const std::string max_text =
      o.max_active_deadline_seconds ? std::to_string(*o.max_active_deadline_seconds) : "";
  const rapidjson::Value* present = Member(Walk(&object, t.job_spec), "activeDeadlineSeconds");

  if (present != nullptr && !present->IsNull()) {
    // A deadline the author wrote is kept; only the ceiling can change it.
    if (!present->IsInt64() || !o.max_active_deadline_seconds) return;
    const int64_t value = present->GetInt64();
    if (value <= *o.max_active_deadline_seconds) return;
    if (o.above_max == JobOptions::AboveMax::kDeny) {
      const rapidjson::Value* old =
          Member(Walk(request.old_object, t.job_spec), "activeDeadlineSeconds");
      if (request.operation == Operation::kUpdate && old != nullptr && old->IsInt64() &&
          old->GetInt64() == value) {
        // Stored before the ceiling existed: updates (e.g. suspending) stay possible.
        d->WithWarning(field + " " + std::to_string(value) + " is above the maximum " + max_text +
                       " (jobs.maxActiveDeadlineSeconds); lower it");
        return;
      }
      *d = Decision::Denied(std::string(kDeadlineRule),
                            field + ": " + std::to_string(value) + " is above the maximum " +
                                max_text + " seconds allowed (jobs.maxActiveDeadlineSeconds)");
      return;
    }
    SetNested(object, t.job_spec, "activeDeadlineSeconds", max_text, &d->patch);
    d->WithWarning(field + " lowered from " + std::to_string(value) + " to the maximum " +
                   max_text + " (jobs.maxActiveDeadlineSeconds)");
    d->WithAuditAnnotation(std::string(kAuditKey),
                           max_text + " (clamped from " + std::to_string(value) + ")");
    return;
  }

  // Absent: the annotation, else the first matching rule, else the default.
  int64_t value = o.default_active_deadline_seconds;
  std::string source = "default";
  if (override_value.seconds) {
    value = *override_value.seconds;
    source = "annotation";
  } else {
    for (size_t i = 0; i < o.rules.size(); ++i) {
      const JobDeadlineRule& rule = o.rules[i];
      if (NamespaceMatches(t.ns, rule.namespaces) && LabelsMatch(t.labels, rule.match_labels)) {
        value = rule.active_deadline_seconds;
        source = "rule[" + std::to_string(i) + "]";
        break;
      }
    }
  }
  if (o.max_active_deadline_seconds && value > *o.max_active_deadline_seconds) {
    // Only an annotation can be above the ceiling: configuration is validated against it.
    if (o.above_max == JobOptions::AboveMax::kDeny) {
      *d = Decision::Denied(std::string(kDeadlineRule),
                            override_value.field + ": " + std::to_string(value) +
                                " is above the maximum " + max_text +
                                " seconds allowed (jobs.maxActiveDeadlineSeconds)");
      return;
    }
    d->WithWarning(override_value.field + " " + std::to_string(value) + " lowered to the maximum " +
                   max_text + " (jobs.maxActiveDeadlineSeconds)");
    value = *o.max_active_deadline_seconds;
  }
  if (!SetNested(object, t.job_spec, "activeDeadlineSeconds", std::to_string(value), &d->patch)) {
    return;
  }
  std::optional<std::string_view> recorded =
      AsString(Member(Find(&object, {"metadata", "annotations"}), kActiveDeadlineSourceAnnotation));
  if (!recorded || *recorded != source) {
    SetNested(object, {"metadata", "annotations"}, kActiveDeadlineSourceAnnotation,
              QuoteJson(source), &d->patch);
  }
  d->WithAuditAnnotation(std::string(kAuditKey), std::to_string(value) + " (" + source + ")");
}

void MutatePullPolicies(const rapidjson::Value& object, const Segments& pod_spec_path,
                        std::vector<PatchOp>* ops) {
  const rapidjson::Value* pod_spec = Walk(&object, pod_spec_path);
  if (pod_spec == nullptr || !pod_spec->IsObject()) return;
  const std::string base = Pointer(pod_spec_path);
  for (std::string_view list :
       {std::string_view("initContainers"), std::string_view("containers")}) {
    const rapidjson::Value* containers = Member(pod_spec, list);
    if (containers == nullptr || !containers->IsArray()) continue;
    for (rapidjson::SizeType i = 0; i < containers->Size(); ++i) {
      const rapidjson::Value& c = (*containers)[i];
      if (!c.IsObject()) continue;
      const rapidjson::Value* policy = Member(&c, "imagePullPolicy");
      std::optional<std::string_view> policy_text = AsString(policy);
      if (policy != nullptr && !policy->IsNull() && !(policy_text && policy_text->empty()))
        continue;
      const std::string_view image = AsString(Member(&c, "image")).value_or("");
      ops->push_back(
          PatchOp{policy != nullptr ? "replace" : "add",
                  base + "/" + std::string(list) + "/" + std::to_string(i) + "/imagePullPolicy",
                  QuoteJson(DefaultImagePullPolicy(image))});
    }
  }
}

}  // namespace

void ParseJobOptions(ConfigReader reader, JobOptions* out) {
  reader.Bool("setActiveDeadlineSeconds", &out->set_active_deadline_seconds);
  const bool default_given =
      reader.present() && reader.Raw("defaultActiveDeadlineSeconds") != nullptr;
  reader.Int("defaultActiveDeadlineSeconds", &out->default_active_deadline_seconds, 1,
             kMaxDeadlineSeconds);
  int64_t max = 0;
  reader.Int("maxActiveDeadlineSeconds", &max, 1, kMaxDeadlineSeconds);
  if (max > 0) out->max_active_deadline_seconds = max;
  std::string above = "clamp";
  reader.Enum("aboveMax", &above, {"clamp", "deny"});
  out->above_max = above == "deny" ? JobOptions::AboveMax::kDeny : JobOptions::AboveMax::kClamp;
  ReadRules(reader, &out->rules);
  reader.Bool("setImagePullPolicy", &out->set_image_pull_policy);
  reader.StringList("namespaces", &out->namespaces);
  ReadLabels(reader, "matchLabels", &out->match_labels);
  reader.RejectUnknown();

  // Configured deadlines must respect the configured ceiling.
  if (out->max_active_deadline_seconds) {
    const int64_t ceiling = *out->max_active_deadline_seconds;
    if (out->default_active_deadline_seconds > ceiling) {
      reader.Fail("defaultActiveDeadlineSeconds",
                  "must not exceed maxActiveDeadlineSeconds (" + std::to_string(ceiling) +
                      "), got " + std::to_string(out->default_active_deadline_seconds) +
                      (default_given ? "" : " (the default; set a lower one)"));
    }
    for (size_t i = 0; i < out->rules.size(); ++i) {
      if (out->rules[i].active_deadline_seconds > ceiling) {
        reader.Fail("rules[" + std::to_string(i) + "].activeDeadlineSeconds",
                    "must not exceed maxActiveDeadlineSeconds (" + std::to_string(ceiling) +
                        "), got " + std::to_string(out->rules[i].active_deadline_seconds));
      }
    }
  }
}

std::string_view DefaultImagePullPolicy(std::string_view image) {
  // SetDefaults_Container: parse errors are ignored (the tag is then empty), a missing
  // tag and digest means "latest".
  ImageRef ref;
  if (ParseNormalizedReference(image, &ref, nullptr) != ImageRefErrorKind::kNone) {
    return "IfNotPresent";
  }
  if (ref.tag == "latest" || (ref.tag.empty() && ref.digest.empty())) return "Always";
  return "IfNotPresent";
}

Decision MutateJob(const AdmissionRequest& request, const PolicyContext& context) {
  const bool cron = request.kind.kind == "CronJob";
  const bool create = request.operation == Operation::kCreate;
  if (!cron && !create) return Decision::Allowed();
  if (request.object == nullptr || !request.object->IsObject()) return Decision::Allowed();
  const rapidjson::Value& object = *request.object;
  const JobOptions& o = context.config.Get<JobOptions>();

  Target t;
  t.cron = cron;
  t.job_spec = cron ? Segments{"spec", "jobTemplate", "spec"} : Segments{"spec"};
  t.pod_spec = t.job_spec;
  t.pod_spec.push_back("template");
  t.pod_spec.push_back("spec");
  t.ns = request.ns.empty()
             ? std::string(AsString(Find(&object, {"metadata", "namespace"})).value_or(""))
             : request.ns;
  t.labels = Find(&object, {"metadata", "labels"});

  Decision d = Decision::Allowed();
  const bool selected =
      NamespaceMatches(t.ns, o.namespaces) && LabelsMatch(t.labels, o.match_labels);
  if (selected && o.set_active_deadline_seconds) MutateDeadline(request, o, t, &d);
  if (selected && o.set_image_pull_policy && d.allowed)
    MutatePullPolicies(object, t.pod_spec, &d.patch);
  if (!d.patch.empty() && d.rule.empty()) d.rule = std::string(kMutateRule);

  // Image checks of the pod template. On UPDATE only when the template changed, so a
  // CronJob whose image went bad can still be suspended or edited otherwise.
  const rapidjson::Value* pod_spec = Walk(&object, t.pod_spec);
  if (pod_spec != nullptr && pod_spec->IsObject()) {
    const rapidjson::Value* old_pod_spec = Walk(request.old_object, t.pod_spec);
    const bool unchanged = !create && old_pod_spec != nullptr && *old_pod_spec == *pod_spec;
    if (!unchanged) d.Merge(CheckPodSpecImages(*pod_spec, Dotted(t.pod_spec), context));
  }
  return d;
}

}  // namespace backstop::policy
