#include "policy/node_eligibility.h"

#include <charconv>
#include <optional>
#include <string_view>

#include "base/json_util.h"

namespace backstop::policy {
namespace {

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t n = 0;
  if (s.empty()) return std::nullopt;
  const char* begin = s.data();
  if (*begin == '+') ++begin;  // strconv.ParseInt accepts a leading sign
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), n);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return n;
}

bool ValuesContain(const rapidjson::Value* values, std::string_view needle) {
  if (values == nullptr || !values->IsArray()) return false;
  for (const auto& v : values->GetArray()) {
    if (v.IsString() && std::string_view(v.GetString(), v.GetStringLength()) == needle) return true;
  }
  return false;
}

// One requirement against a value that may be absent (a label the node lacks).
bool MatchesRequirement(const rapidjson::Value& req, const std::optional<std::string_view>& value) {
  auto op = AsString(Member(&req, "operator"));
  if (!op) return false;
  const rapidjson::Value* values = Member(&req, "values");
  if (*op == "In") return value.has_value() && ValuesContain(values, *value);
  if (*op == "NotIn") return !value.has_value() || !ValuesContain(values, *value);
  if (*op == "Exists") return value.has_value();
  if (*op == "DoesNotExist") return !value.has_value();
  if (*op == "Gt" || *op == "Lt") {
    if (!value || values == nullptr || !values->IsArray() || values->Size() != 1) return false;
    auto want = AsString(&(*values)[0]);
    if (!want) return false;
    auto bound = ParseInt(*want);
    auto have = ParseInt(*value);
    if (!bound || !have) return false;
    return *op == "Gt" ? *have > *bound : *have < *bound;
  }
  return false;
}

std::optional<std::string_view> Label(const NodeFacts& node, std::string_view key) {
  auto it = node.labels.find(std::string(key));
  if (it == node.labels.end()) return std::nullopt;
  return std::string_view(it->second);
}

bool MatchesNodeSelectorMap(const rapidjson::Value& selector, const NodeFacts& node) {
  if (!selector.IsObject()) return true;
  for (auto it = selector.MemberBegin(); it != selector.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    auto want = AsString(&it->value);
    auto have = Label(node, key);
    if (!want || !have || *have != *want) return false;
  }
  return true;
}

bool NonEmptyObject(const rapidjson::Value* v) {
  return v != nullptr && v->IsObject() && v->MemberCount() > 0;
}

}  // namespace

bool MatchesNodeSelectorTerm(const rapidjson::Value& term, const NodeFacts& node) {
  const rapidjson::Value* expressions = Member(&term, "matchExpressions");
  const rapidjson::Value* fields = Member(&term, "matchFields");
  const bool has_expressions =
      expressions != nullptr && expressions->IsArray() && !expressions->Empty();
  const bool has_fields = fields != nullptr && fields->IsArray() && !fields->Empty();
  if (!has_expressions && !has_fields) return false;
  if (has_expressions) {
    for (const auto& req : expressions->GetArray()) {
      auto key = AsString(Member(&req, "key"));
      if (!key || !MatchesRequirement(req, Label(node, *key))) return false;
    }
  }
  if (has_fields) {
    for (const auto& req : fields->GetArray()) {
      auto key = AsString(Member(&req, "key"));
      if (!key || *key != "metadata.name") return false;
      if (!MatchesRequirement(req, std::string_view(node.name))) return false;
    }
  }
  return true;
}

bool MatchesNodeSelector(const rapidjson::Value& node_selector, const NodeFacts& node) {
  const rapidjson::Value* terms = Member(&node_selector, "nodeSelectorTerms");
  if (terms == nullptr || !terms->IsArray()) return false;
  for (const auto& term : terms->GetArray()) {
    if (MatchesNodeSelectorTerm(term, node)) return true;
  }
  return false;
}

EligibleNodes FindEligibleNodes(const rapidjson::Value& pod_spec, const ClusterFacts& facts) {
  EligibleNodes out;
  if (auto node_name = AsString(Member(&pod_spec, "nodeName")); node_name && !node_name->empty()) {
    out.all = false;
    out.constraint = "nodeName";
    const std::string name(*node_name);
    if (facts.node_index.size() == facts.nodes.size()) {
      auto it = facts.node_index.find(name);
      if (it != facts.node_index.end() && it->second < facts.nodes.size()) {
        out.nodes.push_back(it->second);
      }
    } else {
      for (uint32_t i = 0; i < facts.nodes.size(); ++i) {
        if (facts.nodes[i].name == name) {
          out.nodes.push_back(i);
          break;
        }
      }
    }
    return out;
  }

  const rapidjson::Value* selector = Member(&pod_spec, "nodeSelector");
  const rapidjson::Value* required = Find(
      &pod_spec, {"affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"});
  const bool has_selector = NonEmptyObject(selector);
  const bool has_affinity = required != nullptr && required->IsObject();
  if (!has_selector && !has_affinity) return out;

  out.all = false;
  out.constraint = has_selector && has_affinity ? "nodeSelector and node affinity"
                   : has_selector               ? "nodeSelector"
                                                : "node affinity";
  for (uint32_t i = 0; i < facts.nodes.size(); ++i) {
    const NodeFacts& node = facts.nodes[i];
    if (has_selector && !MatchesNodeSelectorMap(*selector, node)) continue;
    if (has_affinity && !MatchesNodeSelector(*required, node)) continue;
    out.nodes.push_back(i);
  }
  return out;
}

}  // namespace backstop::policy
