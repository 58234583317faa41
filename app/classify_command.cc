#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/documents.h"
#include "base/json_util.h"
#include "watcher/classifier.h"

namespace backstop::app {
namespace {

using rapidjson::Value;

struct Classified {
  std::string kind;  // Pod or Job
  std::string namespace_name;
  std::string node;
  std::string phase;
  std::vector<watcher::Finding> findings;
};

enum class Shape { kPod, kJob, kList, kOther };

Shape ShapeOf(const Value& v, std::string_view list_kind) {
  auto kind = AsString(Member(&v, "kind"));
  const std::string_view k = kind ? *kind : std::string_view();
  if (k == "Pod" || (k.empty() && list_kind == "PodList")) return Shape::kPod;
  if (k == "Job" || (k.empty() && list_kind == "JobList")) return Shape::kJob;
  if (k == "List" || k == "PodList" || k == "JobList") return Shape::kList;
  // Objects stored without apiVersion/kind: a pod spec gives a Pod away.
  if (k.empty() && Find(&v, {"spec", "containers"}) != nullptr) return Shape::kPod;
  return Shape::kOther;
}

Classified ClassifyOne(const Value& v, Shape shape, policy::TimePoint now) {
  Classified c;
  if (shape == Shape::kPod) {
    watcher::PodClassification pc = watcher::ClassifyPod(v, now);
    c.kind = "Pod";
    c.namespace_name = std::move(pc.namespace_name);
    c.node = std::move(pc.node);
    c.phase = std::move(pc.phase);
    c.findings = std::move(pc.findings);
  } else {
    c.kind = "Job";
    auto ns = AsString(Find(&v, {"metadata", "namespace"}));
    auto name = AsString(Find(&v, {"metadata", "name"}));
    c.namespace_name = (ns && !ns->empty() ? std::string(*ns) + "/" : std::string()) +
                       std::string(name ? *name : std::string_view());
    c.findings = watcher::ClassifyJob(v);
  }
  return c;
}

std::string FormatTime(policy::TimePoint t) {
  if (t == policy::TimePoint{}) return "";
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

std::string RenderJson(const std::vector<Classified>& all) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  auto str = [&w](std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartArray();
  for (const Classified& c : all) {
    w.StartObject();
    str("kind", c.kind);
    str("name", c.namespace_name);
    if (!c.node.empty()) str("node", c.node);
    if (!c.phase.empty()) str("phase", c.phase);
    w.Key("findings");
    w.StartArray();
    for (const watcher::Finding& f : c.findings) {
      w.StartObject();
      str("reason", f.reason);
      w.Key("terminal");
      w.Bool(f.terminal);
      if (!f.container.empty()) {
        str("container", f.container);
        str("containerKind", watcher::ContainerKindName(f.kind));
      }
      if (!f.image.empty()) str("image", f.image);
      if (!f.node.empty()) str("node", f.node);
      str("message", f.message);
      w.Key("imageMissingFromRegistry");
      w.Bool(f.image_missing_from_registry);
      if (!f.previous_reason.empty()) str("previousReason", f.previous_reason);
      if (f.since != policy::TimePoint{}) str("since", FormatTime(f.since));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string RenderText(const std::vector<Classified>& all) {
  std::string out;
  for (const Classified& c : all) {
    out += c.kind + " " + c.namespace_name;
    if (!c.node.empty()) out += " on node " + c.node;
    if (!c.phase.empty()) out += " (" + c.phase + ")";
    if (c.findings.empty()) {
      out += ": no failure\n";
      continue;
    }
    out += ":\n";
    for (const watcher::Finding& f : c.findings) {
      out += "  " + f.reason + " " + (f.terminal ? "terminal" : "transient");
      if (!f.container.empty()) {
        out += " " + std::string(watcher::ContainerKindName(f.kind)) + " container " + f.container;
      }
      if (!f.image.empty()) out += " image " + f.image;
      if (f.image_missing_from_registry) out += " (missing from its registry)";
      if (!f.previous_reason.empty()) out += " after " + f.previous_reason;
      out += "\n";
      if (!f.message.empty()) out += "    " + f.message + "\n";
    }
  }
  return out;
}

struct ClassifyFlags {
  std::string file;
  std::string output = "text";
};

int RunClassify(const ClassifyFlags& flags) {
  auto docs = LoadDocuments(flags.file);
  if (!docs.ok()) {
    std::cerr << "backstop classify: " << docs.status().message() << "\n";
    return ExitCodeFor(docs.status());
  }
  const policy::TimePoint now = policy::Clock::now();
  std::vector<Classified> all;
  for (const SourceDocument& doc : *docs) {
    const std::string where = doc.source + ": document " + std::to_string(doc.index) +
                              (doc.line > 0 ? " (line " + std::to_string(doc.line) + ")" : "");
    const Value& v = *doc.json;
    if (!v.IsObject()) {
      std::cerr << "backstop classify: " << where << ": expected a Pod, Job or List, got "
                << TypeName(v) << "\n";
      return 2;
    }
    const Shape shape = ShapeOf(v, "");
    if (shape == Shape::kOther) {
      auto kind = AsString(Member(&v, "kind"));
      std::cerr << "backstop classify: " << where << ": kind "
                << (kind && !kind->empty() ? std::string(*kind) : std::string("(none)"))
                << " is not a Pod, Job, List, PodList or JobList\n";
      return 2;
    }
    if (shape != Shape::kList) {
      all.push_back(ClassifyOne(v, shape, now));
      continue;
    }
    const std::string list_kind(AsString(Member(&v, "kind")).value_or(""));
    const Value* items = Member(&v, "items");
    if (items == nullptr || items->IsNull()) continue;
    if (!items->IsArray()) {
      std::cerr << "backstop classify: " << where << ": items must be an array, got "
                << TypeName(*items) << "\n";
      return 2;
    }
    for (const Value& item : items->GetArray()) {
      if (!item.IsObject()) continue;
      const Shape s = ShapeOf(item, list_kind);
      if (s == Shape::kPod || s == Shape::kJob) all.push_back(ClassifyOne(item, s, now));
    }
  }
  std::cout << (flags.output == "json" ? RenderJson(all) : RenderText(all));
  return 0;
}

}  // namespace

void AddClassifyCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ClassifyFlags>();
  auto* cmd = app.add_subcommand(
      "classify",
      "Classify why pods (and Jobs) fail: reads Pods, Jobs or Lists (JSON or YAML, e.g. "
      "`kubectl get pods -A -o json`) and prints each one's failure reasons");
  cmd->add_option("-f,--file", flags->file, "File to read (\"-\" for standard input)")->required();
  cmd->add_option("-o,--output", flags->output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([flags, exit_code] { *exit_code = RunClassify(*flags); });
}

}  // namespace backstop::app
