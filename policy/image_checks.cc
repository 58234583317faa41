#include "policy/image_checks.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/json_util.h"
#include "policy/engine.h"
#include "policy/image_policy.h"
#include "policy/image_ref.h"
#include "policy/node_eligibility.h"

namespace backstop::policy {
namespace {

constexpr std::string_view kContainerLists[] = {"initContainers", "containers",
                                                "ephemeralContainers"};

// One distinct (image, pull policy) of the spec and every field that uses it.
struct ImageUse {
  std::string image;        // as written
  std::string pull_policy;  // explicit, or kubelet's default when absent
  std::vector<std::string> fields;
};

// One rule that fired for one ImageUse.
struct Finding {
  std::string_view rule;
  Enforcement enforcement = Enforcement::kDeny;
  std::string deny_line;  // the denial text (kubelet words first where they exist)
  std::string warning;    // compact form (<= 120 characters where the image name allows)
  std::string remedy;     // empty when the text says it all
};

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// "45s", "7m", "3h": how long ago `then` was (0s for the future).
std::string Age(TimePoint now, TimePoint then) {
  const auto secs =
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(now - then).count());
  if (secs < 60) return std::to_string(secs) + "s";
  if (secs < 2 * 3600) return std::to_string(secs / 60) + "m";
  return std::to_string(secs / 3600) + "h";
}

std::string Ago(TimePoint now, TimePoint then) { return Age(now, then) + " ago"; }

std::string Nodes(size_t n) { return std::to_string(n) + (n == 1 ? " node" : " nodes"); }

// kubelet's default when imagePullPolicy is absent: Always for ":latest" or no tag and no
// digest, else IfNotPresent. (The apiserver applies it before webhooks see the object;
// this matters for offline review of raw manifests.)
std::string DefaultPullPolicy(const ImageRef& ref) {
  if (ref.tag == "latest" || (ref.tag.empty() && ref.digest.empty())) return "Always";
  return "IfNotPresent";
}

std::unordered_set<std::string> ImagesOf(const rapidjson::Value* spec) {
  std::unordered_set<std::string> out;
  if (spec == nullptr || !spec->IsObject()) return out;
  for (std::string_view list_name : kContainerLists) {
    const rapidjson::Value* list = Member(spec, list_name);
    if (list == nullptr || !list->IsArray()) continue;
    for (const auto& c : list->GetArray()) {
      if (auto image = AsString(Member(&c, "image"))) out.emplace(*image);
    }
  }
  return out;
}

std::vector<ImageUse> CollectImages(const rapidjson::Value& spec, std::string_view field_path,
                                    const rapidjson::Value* old_spec) {
  const std::unordered_set<std::string> old_images = ImagesOf(old_spec);
  std::vector<ImageUse> uses;
  for (std::string_view list_name : kContainerLists) {
    const rapidjson::Value* list = Member(&spec, list_name);
    if (list == nullptr || !list->IsArray()) continue;
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const rapidjson::Value& c = (*list)[i];
      auto image = AsString(Member(&c, "image"));
      // A missing or empty image is the apiserver's validation error, not ours.
      if (!image || image->empty()) continue;
      if (old_images.count(std::string(*image)) != 0) continue;
      std::string policy(AsString(Member(&c, "imagePullPolicy")).value_or(""));
      if (policy.empty()) {
        auto ref = ParseImageRef(*image);
        policy = ref ? DefaultPullPolicy(*ref) : "";
      }
      std::string field = std::string(field_path) + "." + std::string(list_name) + "[" +
                          std::to_string(i) + "].image";
      auto same = std::find_if(uses.begin(), uses.end(), [&](const ImageUse& u) {
        return u.image == *image && u.pull_policy == policy;
      });
      if (same != uses.end()) {
        same->fields.push_back(std::move(field));
      } else {
        uses.push_back(ImageUse{std::string(*image), std::move(policy), {std::move(field)}});
      }
    }
  }
  return uses;
}

// Node indexes that hold an image (the per-image index), with membership tests that stay
// cheap whatever the cluster size: a linear search for short lists, a hash set otherwise.
class Holders {
 public:
  Holders(const ClusterFacts& facts, const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
      auto it = facts.nodes_with_image.find(key);
      if (it == facts.nodes_with_image.end()) continue;
      if (list_ == nullptr) {
        list_ = &it->second;
      } else {
        // A second name for the same image (tag@digest and @digest): merge.
        merged_.insert(merged_.end(), list_->begin(), list_->end());
        merged_.insert(merged_.end(), it->second.begin(), it->second.end());
        std::sort(merged_.begin(), merged_.end());
        merged_.erase(std::unique(merged_.begin(), merged_.end()), merged_.end());
        list_ = &merged_;
      }
    }
  }

  size_t size() const { return list_ == nullptr ? 0 : list_->size(); }

  // Number of distinct nodes (O(size log size)).
  size_t Distinct() const {
    if (list_ == nullptr) return 0;
    std::vector<uint32_t> copy(*list_);
    std::sort(copy.begin(), copy.end());
    return static_cast<size_t>(std::unique(copy.begin(), copy.end()) - copy.begin());
  }

  bool Contains(uint32_t node) {
    if (list_ == nullptr) return false;
    if (list_->size() <= 32) return std::find(list_->begin(), list_->end(), node) != list_->end();
    if (set_.empty()) set_.insert(list_->begin(), list_->end());
    return set_.count(node) != 0;
  }

 private:
  const std::vector<uint32_t>* list_ = nullptr;
  std::vector<uint32_t> merged_;
  std::unordered_set<uint32_t> set_;
};

// Per-call view of the facts: node lookups by name and the count of complete image
// lists, from the facts' indexes when filled, else computed once on first use.
class FactsView {
 public:
  explicit FactsView(const ClusterFacts& facts) : facts_(facts) {}

  const ClusterFacts& facts() const { return facts_; }

  std::optional<uint32_t> NodeIndex(const std::string& name) {
    if (facts_.node_index.size() == facts_.nodes.size()) {
      auto it = facts_.node_index.find(name);
      if (it == facts_.node_index.end() || it->second >= facts_.nodes.size()) return std::nullopt;
      return it->second;
    }
    if (!local_index_built_) {
      for (uint32_t i = 0; i < facts_.nodes.size(); ++i)
        local_index_.emplace(facts_.nodes[i].name, i);
      local_index_built_ = true;
    }
    auto it = local_index_.find(name);
    if (it == local_index_.end()) return std::nullopt;
    return it->second;
  }

  size_t CompleteImageLists() {
    if (facts_.complete_image_list_nodes >= 0) {
      return static_cast<size_t>(facts_.complete_image_list_nodes);
    }
    if (!complete_counted_) {
      complete_ = static_cast<size_t>(
          std::count_if(facts_.nodes.begin(), facts_.nodes.end(),
                        [](const NodeFacts& n) { return !n.images_maybe_truncated; }));
      complete_counted_ = true;
    }
    return complete_;
  }

 private:
  const ClusterFacts& facts_;
  std::unordered_map<std::string, uint32_t> local_index_;
  bool local_index_built_ = false;
  size_t complete_ = 0;
  bool complete_counted_ = false;
};

// An observation counts while a pod still shows it, and for the TTL after its last sighting.
bool Current(const ImageObservation& obs, std::chrono::seconds ttl, TimePoint now) {
  return obs.active > 0 || obs.last_seen + ttl >= now;
}

// What the facts say about one image on the eligible nodes.
struct Presence {
  size_t eligible = 0;      // eligible nodes known to the facts
  size_t present = 0;       // eligible nodes whose image list has it
  size_t known_absent = 0;  // eligible nodes with evidence of absence (valid when present == 0)
  // Fresh failure observations on eligible nodes that do not list the image, newest first.
  std::vector<const ImageObservation*> observed;
};

Presence Assess(FactsView& view, const EligibleNodes& eligible,
                const std::vector<std::string>& keys, const PolicyContext& context,
                bool with_observations) {
  const ClusterFacts& facts = view.facts();
  const auto ttl =
      std::chrono::seconds(context.config.Get<ImageOptions>().max_observation_age_seconds);
  Holders holders(facts, keys);
  Presence out;

  // Fresh observations resolved to node indexes, one per node (the newest).
  std::vector<std::pair<uint32_t, const ImageObservation*>> seen;
  if (with_observations) {
    for (const auto& key : keys) {
      auto it = facts.absent_on_node.find(key);
      if (it == facts.absent_on_node.end()) continue;
      for (const ImageObservation& obs : it->second) {
        if (!Current(obs, ttl, context.now)) continue;
        auto node = view.NodeIndex(obs.node);
        if (!node) continue;  // a node that is gone
        auto dup =
            std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == *node; });
        if (dup == seen.end()) {
          seen.emplace_back(*node, &obs);
        } else if (dup->second->last_seen < obs.last_seen) {
          dup->second = &obs;
        }
      }
    }
  }

  if (eligible.all) {
    // Counts only: no walk over the nodes.
    out.eligible = facts.nodes.size();
    out.present = holders.size();
    size_t truncated_observed = 0;
    for (const auto& [node, obs] : seen) {
      if (holders.Contains(node)) continue;  // listed now: the image has since arrived
      out.observed.push_back(obs);
      if (facts.nodes[node].images_maybe_truncated) ++truncated_observed;
    }
    // A builder may index one node twice (two names of one image). The exact count is
    // only shown when warning about failures, so only then are duplicates removed.
    if (!out.observed.empty() && out.present > 1) out.present = holders.Distinct();
    // With no holder, every complete list lacks it; truncated lists count only when a
    // failure was observed on that node.
    if (out.present == 0) out.known_absent = view.CompleteImageLists() + truncated_observed;
  } else {
    out.eligible = eligible.nodes.size();
    for (uint32_t node : eligible.nodes) {
      if (holders.Contains(node)) {
        ++out.present;
        continue;
      }
      auto obs =
          std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == node; });
      if (obs != seen.end()) {
        out.observed.push_back(obs->second);
        ++out.known_absent;
      } else if (!facts.nodes[node].images_maybe_truncated) {
        ++out.known_absent;
      }
    }
  }
  std::sort(out.observed.begin(), out.observed.end(),
            [](const ImageObservation* a, const ImageObservation* b) {
              return a->last_seen > b->last_seen;
            });
  return out;
}

std::string ObservedText(const std::vector<const ImageObservation*>& observed, TimePoint now) {
  const ImageObservation& newest = *observed.front();
  std::string text = (newest.reason.empty() ? std::string("ErrImageNeverPull") : newest.reason) +
                     " on " + newest.node + " " + Ago(now, newest.last_seen);
  if (newest.active > 0) text += " (still failing)";
  if (observed.size() > 1) text += " and on " + std::to_string(observed.size() - 1) + " more";
  return text;
}

// "the only eligible node", "all 3 eligible nodes (nodeSelector)": for warnings.
std::string EligibleShort(const EligibleNodes& eligible, size_t n) {
  std::string text =
      n == 1 ? "the only eligible node" : "all " + std::to_string(n) + " eligible nodes";
  if (!eligible.all) text += " (" + eligible.constraint + ")";
  return text;
}

std::string EligibleText(const EligibleNodes& eligible, size_t n) {
  if (eligible.all) return std::to_string(n) + " of " + std::to_string(n) + " eligible";
  return std::to_string(n) + " of " + std::to_string(n) + " eligible (" + eligible.constraint + ")";
}

std::string NeverPullPrefix(const ImageUse& use) {
  return "Container image \"" + use.image + "\" is not present with pull policy of Never (" +
         Join(use.fields, ", ") + ")";
}

std::string Stale(const ClusterFacts& facts, const PolicyContext& context) {
  if (!facts.synced) return "cluster knowledge not synced yet";
  return "cluster knowledge " + Age(context.now, context.facts_fresh_at) + " old";
}

Enforcement Downgraded(Enforcement e) {
  return e == Enforcement::kDryRun ? Enforcement::kDryRun : Enforcement::kWarn;
}

void CheckNeverPull(const ImageUse& use, const std::string& normalized, const Presence& p,
                    const EligibleNodes& eligible, bool knowledge_fresh,
                    const PolicyContext& context, std::vector<Finding>* out) {
  const ImageOptions& options = context.config.Get<ImageOptions>();
  if (p.eligible == 0 || (p.present > 0 && p.observed.empty())) return;
  const std::string fields = Join(use.fields, ", ");
  const std::string remedy = RemedyFor(options, use.image, normalized);
  const std::string compact = fields + ": Never-pull image \"" + use.image + "\"";

  if (!knowledge_fresh) {
    // Only concrete observations count, and they only warn.
    if (p.present > 0 || p.observed.empty()) return;
    const std::string evidence = ObservedText(p.observed, context.now);
    out->push_back(Finding{kRuleNeverPullAbsent, Downgraded(options.never_pull_absent), "",
                           compact + ": " + evidence + " (" + Stale(context.facts, context) + ")",
                           remedy});
    return;
  }

  if (p.present == 0 && p.known_absent >= p.eligible) {
    const std::string lack = EligibleText(eligible, p.eligible);
    if (!p.observed.empty()) {
      const std::string evidence = ObservedText(p.observed, context.now);
      out->push_back(Finding{
          kRuleNeverPullAbsent, options.never_pull_absent,
          NeverPullPrefix(use) + ": " + evidence + "; " + lack + " nodes lack it.",
          compact + " is absent on " + EligibleShort(eligible, p.eligible) + ": " + evidence,
          remedy});
    } else {
      out->push_back(Finding{
          kRuleAbsentFromNodeLists, options.absent_from_node_lists,
          NeverPullPrefix(use) + ": missing from the image lists of " + lack + " nodes.",
          compact + " is missing from the image lists of " + EligibleShort(eligible, p.eligible),
          remedy});
    }
    return;
  }

  if (!p.observed.empty()) {
    const std::string evidence = ObservedText(p.observed, context.now);
    std::string where =
        p.present > 0 ? "; listed on " + std::to_string(p.present) + " of " + Nodes(p.eligible)
                      : "";
    out->push_back(Finding{kRuleNeverPullSomeNodes, options.never_pull_some_nodes, "",
                           compact + " may fail: " + evidence + where, remedy});
  }
}

void CheckRegistry(const ImageUse& use, const std::vector<std::string>& keys,
                   const std::string& normalized, const Presence& p, bool knowledge_fresh,
                   const PolicyContext& context, std::vector<Finding>* out) {
  const ImageOptions& options = context.config.Get<ImageOptions>();
  if (p.present > 0) return;
  const auto ttl = std::chrono::seconds(options.max_observation_age_seconds);
  const ImageObservation* obs = nullptr;
  for (const auto& key : keys) {
    auto it = context.facts.missing_from_registry.find(key);
    if (it == context.facts.missing_from_registry.end()) continue;
    if (!Current(it->second, ttl, context.now)) continue;
    if (obs == nullptr || obs->last_seen < it->second.last_seen) obs = &it->second;
  }
  if (obs == nullptr) return;
  const std::string fields = Join(use.fields, ", ");
  const std::string reason = obs->reason.empty() ? "ErrImagePull" : obs->reason;
  const std::string seen = reason + " not found " + Ago(context.now, obs->last_seen);
  const std::string remedy =
      RemedyFor(options, use.image, normalized,
                "Check the image name and tag, or push the image to its registry.");
  const Enforcement enforcement =
      knowledge_fresh ? options.missing_from_registry : Downgraded(options.missing_from_registry);
  std::string warning = fields + ": \"" + use.image + "\" is missing from its registry (" + seen +
                        ")" + (knowledge_fresh ? "" : " (" + Stale(context.facts, context) + ")");
  out->push_back(Finding{
      kRuleMissingFromRegistry, enforcement,
      fields + ": image \"" + use.image + "\" was recently not found in its registry (" + seen +
          (obs->node.empty() ? "" : " on " + obs->node) + ") and no eligible node has it.",
      std::move(warning), remedy});
}

}  // namespace

Decision CheckPodSpecImages(const rapidjson::Value& pod_spec, std::string_view field_path,
                            const PolicyContext& context) {
  return CheckPodSpecImages(pod_spec, field_path, context, nullptr);
}

Decision CheckPodSpecImages(const rapidjson::Value& pod_spec, std::string_view field_path,
                            const PolicyContext& context, const rapidjson::Value* old_pod_spec) {
  if (!pod_spec.IsObject()) return Decision::Allowed();
  const ImageOptions& options = context.config.Get<ImageOptions>();
  const ClusterFacts& facts = context.facts;
  const std::vector<ImageUse> uses = CollectImages(pod_spec, field_path, old_pod_spec);
  if (uses.empty()) return Decision::Allowed();

  const bool knowledge_fresh =
      facts.synced && context.now - context.facts_fresh_at <=
                          std::chrono::seconds(options.max_knowledge_age_seconds);
  FactsView view(facts);
  std::optional<EligibleNodes> eligible;  // computed on first need, once per spec

  std::vector<Finding> findings;
  for (const ImageUse& use : uses) {
    auto ref = ParseImageRef(use.image);
    if (!ref) {
      const std::string fields = Join(use.fields, ", ");
      findings.push_back(Finding{
          kRuleInvalidReference, options.invalid_reference,
          fields + ": InvalidImageName: couldn't parse image name \"" + use.image +
              "\": " + ref.status().message(),
          fields + ": InvalidImageName: \"" + use.image + "\": " + ref.status().message(), ""});
      continue;
    }
    const std::string normalized = ref->Normalized();
    std::vector<std::string> keys = {normalized};
    if (!ref->digest.empty() && !ref->tag.empty()) keys.push_back(ref->Name() + "@" + ref->digest);

    const bool never = use.pull_policy == "Never";
    const bool has_observations =
        never ? std::any_of(keys.begin(), keys.end(),
                            [&](const auto& k) { return facts.absent_on_node.count(k) != 0; })
              : std::any_of(keys.begin(), keys.end(), [&](const auto& k) {
                  return facts.missing_from_registry.count(k) != 0;
                });
    // Unknown or stale knowledge: only observations can say anything.
    if (!knowledge_fresh && !has_observations) continue;
    if (!eligible) eligible = FindEligibleNodes(pod_spec, facts);
    const Presence presence = Assess(view, *eligible, keys, context, never);
    if (never) {
      CheckNeverPull(use, normalized, presence, *eligible, knowledge_fresh, context, &findings);
    } else {
      CheckRegistry(use, keys, normalized, presence, knowledge_fresh, context, &findings);
    }
  }

  Decision decision = Decision::Allowed();
  if (findings.empty()) return decision;

  std::vector<std::string> deny_lines;
  std::vector<std::string> used_remedies;
  std::string_view deny_rule, warn_rule, dryrun_rule;
  std::vector<std::pair<std::string, std::vector<std::string>>> audit;  // rule -> entries
  auto note_remedy = [&](const std::string& remedy) -> bool {
    if (remedy.empty()) return false;
    if (std::find(used_remedies.begin(), used_remedies.end(), remedy) != used_remedies.end()) {
      return false;
    }
    used_remedies.push_back(remedy);
    return true;
  };
  for (const Finding& f : findings) {
    switch (f.enforcement) {
      case Enforcement::kDeny: {
        if (deny_rule.empty()) deny_rule = f.rule;
        std::string line = f.deny_line.empty() ? f.warning : f.deny_line;
        if (note_remedy(f.remedy)) line += " " + f.remedy;
        deny_lines.push_back(std::move(line));
        break;
      }
      case Enforcement::kWarn:
        if (warn_rule.empty()) warn_rule = f.rule;
        decision.WithWarning(f.warning);
        break;
      case Enforcement::kDryRun:
        if (dryrun_rule.empty()) dryrun_rule = f.rule;
        break;
    }
    auto slot =
        std::find_if(audit.begin(), audit.end(), [&](const auto& a) { return a.first == f.rule; });
    if (slot == audit.end()) {
      audit.emplace_back(std::string(f.rule), std::vector<std::string>{});
      slot = audit.end() - 1;
    }
    slot->second.push_back(std::string(EnforcementName(f.enforcement)) + ": " + f.warning);
  }
  // Remedies of warned findings, once each, after the warnings they explain.
  for (const Finding& f : findings) {
    if (f.enforcement == Enforcement::kWarn && note_remedy(f.remedy))
      decision.WithWarning(f.remedy);
  }

  if (!deny_lines.empty()) {
    Decision denied = Decision::Denied(std::string(deny_rule), Join(deny_lines, "\n"));
    denied.warnings = std::move(decision.warnings);
    decision = std::move(denied);
  } else {
    decision.WithRule(std::string(!warn_rule.empty() ? warn_rule : dryrun_rule));
  }
  for (auto& [rule, entries] : audit) decision.WithAuditAnnotation(rule, Join(entries, "; "));
  return decision;
}

}  // namespace backstop::policy
