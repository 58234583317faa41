#include "watcher/knowledge.h"

#include <algorithm>
#include <unordered_set>

#include "base/json_util.h"
#include "obs/metrics.h"
#include "policy/image_ref.h"

namespace backstop::watcher {
namespace {

using policy::TimePoint;
using rapidjson::Value;

std::string PodKey(const Value& pod) {
  const std::string ns = StringOrEmpty(Find(&pod, {"metadata", "namespace"}));
  const std::string name = StringOrEmpty(Find(&pod, {"metadata", "name"}));
  if (name.empty()) return {};
  return ns.empty() ? name : ns + "/" + name;
}

template <typename T>
bool ContainsValue(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void ReadKnowledgeOptions(ConfigReader& reader, KnowledgeOptions* options) {
  reader.Int("nodeStatusMaxImages", &options->node_status_max_images, 1, 100000);
  int64_t ttl = options->observation_ttl.count();
  reader.Renamed("observationTtlSeconds", "observationRetentionSeconds");
  reader.Int("observationRetentionSeconds", &ttl, 1, 7 * 24 * 3600);
  options->observation_ttl = std::chrono::seconds(ttl);
  int64_t grace = options->unschedulable_grace.count();
  reader.Int("unschedulableGraceSeconds", &grace, 0, 7 * 24 * 3600);
  options->unschedulable_grace = std::chrono::seconds(grace);
}

StatusOr<KnowledgeOptions> ParseKnowledgeOptions(const rapidjson::Value* section) {
  KnowledgeOptions options;
  ConfigProblems problems;
  ConfigReader reader(section, "watcher", &problems);
  ReadKnowledgeOptions(reader, &options);
  reader.RejectUnknown();
  if (Status status = problems.ErrorStatus(); !status.ok()) return status;
  return options;
}

Knowledge::Knowledge(KnowledgeOptions options, FactsStore* store, ClockFn clock,
                     obs::Registry* metrics)
    : options_(options), store_(store), clock_(std::move(clock)) {
  if (metrics != nullptr) {
    classified_metric_ = &metrics->AddCounter(
        "backstop_pod_failures_classified_total",
        "Pod failures classified, counted once per pod and reason", {"reason"});
    for (std::string_view r : AllReasons()) classified_metric_->With({std::string(r)});
    absent_gauge_ = &metrics
                         ->AddGauge("backstop_known_absent_images",
                                    "Images known absent on at least one node (ErrImageNeverPull)")
                         .With({});
    snapshots_metric_ = &metrics
                             ->AddCounter("backstop_knowledge_snapshots_total",
                                          "Cluster knowledge snapshots published")
                             .With({});
  }
}

Knowledge::~Knowledge() = default;

void Knowledge::SetOnClassified(ClassifiedFn fn) { on_classified_ = std::move(fn); }

TimePoint Knowledge::EvidenceTime(const Finding& f, TimePoint now) const {
  if (options_.times_from_objects && f.since != TimePoint{}) return f.since;
  return now;
}

// ---- nodes ----

void Knowledge::SetNodeLocked(const Value& node) {
  const std::string name = StringOrEmpty(Find(&node, {"metadata", "name"}));
  if (name.empty()) return;
  NodeState next;
  if (const Value* labels = Find(&node, {"metadata", "labels"}); labels && labels->IsObject()) {
    for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
      if (it->value.IsString()) next.labels.emplace(it->name.GetString(), it->value.GetString());
    }
  }
  if (const Value* images = Find(&node, {"status", "images"}); images && images->IsArray()) {
    next.reported_entries = images->Size();
    std::unordered_set<std::string> seen;
    for (const Value& entry : images->GetArray()) {
      const Value* names = Member(&entry, "names");
      if (names == nullptr || !names->IsArray()) continue;
      for (const Value& n : names->GetArray()) {
        if (!n.IsString()) continue;
        auto normalized =
            policy::NormalizeImage(std::string_view(n.GetString(), n.GetStringLength()));
        if (!normalized) continue;  // e.g. "<none>@<none>"
        if (seen.insert(*normalized).second) next.images.push_back(std::move(*normalized));
      }
    }
  }
  // Presence clears absence at once.
  for (const std::string& image : next.images) {
    if (auto it = absent_.find(image); it != absent_.end()) {
      if (it->second.erase(name) > 0) dirty_ = true;
      if (it->second.empty()) absent_.erase(it);
    }
    if (missing_.erase(image) > 0) dirty_ = true;
  }
  auto [it, inserted] = nodes_.try_emplace(name);
  NodeState& cur = it->second;
  if (inserted || cur.labels != next.labels || cur.images != next.images ||
      cur.reported_entries != next.reported_entries) {
    cur = std::move(next);
    dirty_ = true;
  }
}

void Knowledge::RemoveNodeLocked(const std::string& name) {
  if (nodes_.erase(name) == 0) return;
  dirty_ = true;
  for (auto it = absent_.begin(); it != absent_.end();) {
    it->second.erase(name);
    it = it->second.empty() ? absent_.erase(it) : std::next(it);
  }
}

// ---- pods ----

void Knowledge::AddRunningLocked(const std::string& node, const std::string& image) {
  ++running_on_node_[node][image];
  if (auto it = absent_.find(image); it != absent_.end()) {
    it->second.erase(node);
    if (it->second.empty()) absent_.erase(it);
  }
  missing_.erase(image);
}

void Knowledge::DropRunningLocked(const std::string& node, const std::string& image) {
  auto n = running_on_node_.find(node);
  if (n == running_on_node_.end()) return;
  auto i = n->second.find(image);
  if (i == n->second.end()) return;
  if (--i->second <= 0) n->second.erase(i);
  if (n->second.empty()) running_on_node_.erase(n);
}

bool Knowledge::HasObservationLocked(const FailKey& key) const {
  if (key.node.empty()) return missing_.count(key.image) > 0;
  auto it = absent_.find(key.image);
  return it != absent_.end() && it->second.count(key.node) > 0;
}

void Knowledge::ReleaseFailureLocked(const FailKey& key, TimePoint now) {
  Observation* obs = nullptr;
  if (key.node.empty()) {
    auto it = missing_.find(key.image);
    if (it != missing_.end()) obs = &it->second;
  } else if (auto it = absent_.find(key.image); it != absent_.end()) {
    auto n = it->second.find(key.node);
    if (n != it->second.end()) obs = &n->second;
  }
  if (obs == nullptr || obs->active <= 0) return;
  if (--obs->active == 0) {
    // The last moment a pod showed it: the TTL runs from here, in the policies too.
    obs->inactive_since = now;
    obs->last_seen = std::max(obs->last_seen, now);
  }
  dirty_ = true;  // the snapshot carries the active count
}

void Knowledge::SetPodLocked(const Value& pod, TimePoint now, std::vector<Fired>* fired) {
  PodClassification c = ClassifyPod(pod, now, {options_.unschedulable_grace});
  if (PodKey(pod).empty()) return;
  const std::string& key = c.namespace_name;
  PodState& st = pods_[key];
  if (!c.uid.empty() && st.uid != c.uid) {
    st.fired.clear();  // a new pod under an old name
    st.uid = c.uid;
  }

  // Running images: evidence of presence on the pod's node.
  std::vector<std::string> running;
  for (const std::string& image : c.running_images) {
    auto normalized = policy::NormalizeImage(image);
    if (normalized && !ContainsValue(running, *normalized)) running.push_back(*normalized);
  }
  if (running != st.running || c.node != st.node) {
    if (!st.node.empty()) {
      for (const std::string& image : st.running) DropRunningLocked(st.node, image);
    }
    if (!c.node.empty()) {
      for (const std::string& image : running) AddRunningLocked(c.node, image);
    }
    dirty_ = true;
  }

  // Image failures.
  std::vector<FailKey> failing;
  std::vector<const Finding*> failing_finding;
  for (const Finding& f : c.findings) {
    if (f.reason == reason::kErrImageNeverPull && c.node.empty()) continue;
    const bool absent = f.reason == reason::kErrImageNeverPull;
    if (!absent && !f.image_missing_from_registry) continue;
    auto normalized = policy::NormalizeImage(f.image);
    if (!normalized) continue;
    FailKey k{*normalized, absent ? c.node : std::string()};
    if (ContainsValue(failing, k)) continue;
    failing.push_back(std::move(k));
    failing_finding.push_back(&f);
  }
  for (const FailKey& old : st.failing) {
    if (!ContainsValue(failing, old)) {
      ReleaseFailureLocked(old, now);
      dirty_ = true;
    }
  }
  for (size_t i = 0; i < failing.size(); ++i) {
    const FailKey& k = failing[i];
    if (ContainsValue(st.failing, k) && HasObservationLocked(k)) continue;
    const Finding& f = *failing_finding[i];
    Observation& obs = k.node.empty() ? missing_[k.image] : absent_[k.image][k.node];
    obs.pod = key;
    obs.reason = f.reason;
    obs.message = f.message;
    ++obs.count;
    ++obs.active;
    obs.last_seen = std::max(obs.last_seen, EvidenceTime(f, now));
    dirty_ = true;
  }
  st.failing = std::move(failing);
  st.running = std::move(running);
  st.node = c.node;

  // Classification callbacks: once per (pod, reason).
  for (Finding& f : c.findings) {
    if (ContainsValue(st.fired, f.reason)) continue;
    st.fired.push_back(f.reason);
    fired->push_back(Fired{key, std::move(f)});
  }
  if (c.unschedulable_pending && !ContainsValue(st.fired, c.unschedulable_pending->reason)) {
    pending_unschedulable_[key] = std::move(*c.unschedulable_pending);
  } else {
    pending_unschedulable_.erase(key);
  }
}

void Knowledge::RemovePodLocked(const std::string& key, TimePoint now) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  PodState& st = it->second;
  for (const FailKey& k : st.failing) ReleaseFailureLocked(k, now);
  if (!st.node.empty()) {
    for (const std::string& image : st.running) DropRunningLocked(st.node, image);
  }
  if (!st.failing.empty() || !st.running.empty()) dirty_ = true;
  pending_unschedulable_.erase(key);
  pods_.erase(it);
}

void Knowledge::CountFiredLocked(const std::vector<Fired>& fired) {
  for (const Fired& f : fired) {
    ++classified_counts_[f.finding.reason];
    if (classified_metric_ != nullptr) classified_metric_->With({f.finding.reason}).Inc();
  }
}

void Knowledge::Fire(const std::vector<Fired>& fired) {
  if (!on_classified_) return;
  for (const Fired& f : fired) on_classified_(f.pod, f.finding);
}

// ---- ObjectSink ----

void Knowledge::Replace(std::string_view resource, const std::vector<const Value*>& items) {
  std::vector<Fired> fired;
  {
    const TimePoint now = clock_();
    std::lock_guard<std::mutex> lock(mu_);
    if (resource == "nodes") {
      std::unordered_set<std::string> names;
      for (const Value* item : items) {
        if (item == nullptr) continue;
        names.insert(StringOrEmpty(Find(item, {"metadata", "name"})));
        SetNodeLocked(*item);
      }
      std::vector<std::string> gone;
      for (const auto& [name, state] : nodes_) {
        if (names.count(name) == 0) gone.push_back(name);
      }
      for (const std::string& name : gone) RemoveNodeLocked(name);
    } else if (resource == "pods") {
      std::unordered_set<std::string> keys;
      for (const Value* item : items) {
        if (item == nullptr) continue;
        keys.insert(PodKey(*item));
        SetPodLocked(*item, now, &fired);
      }
      std::vector<std::string> gone;
      for (const auto& [key, state] : pods_) {
        if (keys.count(key) == 0) gone.push_back(key);
      }
      for (const std::string& key : gone) RemovePodLocked(key, now);
    } else {
      return;
    }
    CountFiredLocked(fired);
  }
  Fire(fired);
}

void Knowledge::Apply(std::string_view resource, WatchEventType type, const Value& object) {
  std::vector<Fired> fired;
  {
    const TimePoint now = clock_();
    std::lock_guard<std::mutex> lock(mu_);
    if (resource == "nodes") {
      if (type == WatchEventType::kDeleted) {
        RemoveNodeLocked(StringOrEmpty(Find(&object, {"metadata", "name"})));
      } else {
        SetNodeLocked(object);
      }
    } else if (resource == "pods") {
      if (type == WatchEventType::kDeleted) {
        RemovePodLocked(PodKey(object), now);
      } else {
        SetPodLocked(object, now, &fired);
      }
    } else {
      return;
    }
    CountFiredLocked(fired);
  }
  Fire(fired);
}

void Knowledge::MarkSynced(std::string_view resource) {
  std::lock_guard<std::mutex> lock(mu_);
  if (resource == "nodes" && !nodes_synced_) {
    nodes_synced_ = true;
    dirty_ = true;
  } else if (resource == "pods" && !pods_synced_) {
    pods_synced_ = true;
    dirty_ = true;
  }
}

// ---- snapshots ----

bool Knowledge::ExpireLocked(TimePoint now) {
  bool changed = false;
  auto expired = [&](const Observation& o) {
    return o.active <= 0 && now - o.inactive_since >= options_.observation_ttl;
  };
  for (auto it = absent_.begin(); it != absent_.end();) {
    auto& per_node = it->second;
    for (auto n = per_node.begin(); n != per_node.end();) {
      if (expired(n->second)) {
        n = per_node.erase(n);
        changed = true;
      } else {
        ++n;
      }
    }
    it = per_node.empty() ? absent_.erase(it) : std::next(it);
  }
  for (auto it = missing_.begin(); it != missing_.end();) {
    if (expired(it->second)) {
      it = missing_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

bool Knowledge::PresentLocked(const std::string& image, const std::string& node) const {
  if (auto n = nodes_.find(node); n != nodes_.end() && ContainsValue(n->second.images, image)) {
    return true;
  }
  auto r = running_on_node_.find(node);
  return r != running_on_node_.end() && r->second.count(image) > 0;
}

policy::ClusterFactsPtr Knowledge::BuildLocked(TimePoint now) {
  auto facts = std::make_shared<policy::ClusterFacts>();
  facts->synced = nodes_synced_ && pods_synced_;
  facts->built_at = now;

  std::vector<const std::string*> names;
  names.reserve(nodes_.size());
  for (const auto& [name, state] : nodes_) names.push_back(&name);
  std::sort(names.begin(), names.end(), [](const auto* a, const auto* b) { return *a < *b; });

  facts->nodes.reserve(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) {
    const NodeState& st = nodes_.at(*names[i]);
    policy::NodeFacts nf;
    nf.name = *names[i];
    nf.labels = st.labels;
    nf.images = st.images;
    nf.images_maybe_truncated =
        static_cast<int64_t>(st.reported_entries) >= options_.node_status_max_images;
    for (const std::string& image : nf.images) facts->nodes_with_image[image].push_back(i);
    // A running container proves presence even past the 50 images the node lists.
    if (auto r = running_on_node_.find(nf.name); r != running_on_node_.end()) {
      for (const auto& [image, n] : r->second) {
        if (!ContainsValue(nf.images, image)) facts->nodes_with_image[image].push_back(i);
      }
    }
    facts->nodes.push_back(std::move(nf));
  }
  policy::IndexNodes(*facts, /*rebuild_image_index=*/false);  // node_index, complete counts

  auto to_fact = [](const Observation& o, const std::string& node) {
    policy::ImageObservation io;
    io.node = node;
    io.pod = o.pod;
    io.reason = o.reason;
    io.message = o.message;
    io.count = o.count;
    io.last_seen = o.last_seen;
    io.active = o.active;
    return io;
  };
  for (const auto& [image, per_node] : absent_) {
    std::vector<policy::ImageObservation> list;
    for (const auto& [node, o] : per_node) {
      if (!PresentLocked(image, node)) list.push_back(to_fact(o, node));
    }
    if (list.empty()) continue;
    std::sort(list.begin(), list.end(),
              [](const auto& a, const auto& b) { return a.node < b.node; });
    facts->absent_on_node.emplace(image, std::move(list));
  }
  for (const auto& [image, o] : missing_) {
    if (facts->nodes_with_image.count(image) > 0) continue;
    facts->missing_from_registry.emplace(image, to_fact(o, ""));
  }

  known_absent_images_ = facts->absent_on_node.size();
  if (absent_gauge_ != nullptr) absent_gauge_->Set(static_cast<double>(known_absent_images_));
  ++snapshots_;
  if (snapshots_metric_ != nullptr) snapshots_metric_->Inc();
  dirty_ = false;
  return facts;
}

policy::ClusterFactsPtr Knowledge::Publish(TimePoint now) {
  std::vector<Fired> fired;
  policy::ClusterFactsPtr facts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = pending_unschedulable_.begin(); it != pending_unschedulable_.end();) {
      const Finding& f = it->second;
      if (now < f.since + options_.unschedulable_grace) {
        ++it;
        continue;
      }
      if (auto pod = pods_.find(it->first); pod != pods_.end()) {
        if (!ContainsValue(pod->second.fired, f.reason)) {
          pod->second.fired.push_back(f.reason);
          fired.push_back(Fired{it->first, f});
        }
      }
      it = pending_unschedulable_.erase(it);
    }
    CountFiredLocked(fired);
    const bool expired = ExpireLocked(now);
    if (dirty_ || expired) facts = BuildLocked(now);
  }
  if (facts && store_ != nullptr) store_->Publish(facts);
  Fire(fired);
  return facts;
}

policy::ClusterFactsPtr Knowledge::PublishNow(TimePoint now) {
  policy::ClusterFactsPtr facts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireLocked(now);
    facts = BuildLocked(now);
  }
  if (store_ != nullptr) store_->Publish(facts);
  return facts;
}

std::map<std::string, int64_t> Knowledge::ClassifiedCounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return classified_counts_;
}

size_t Knowledge::KnownAbsentImages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return known_absent_images_;
}

size_t Knowledge::NodeCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nodes_.size();
}

size_t Knowledge::PodCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_.size();
}

bool Knowledge::dirty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirty_;
}

uint64_t Knowledge::snapshots_published() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshots_;
}

}  // namespace backstop::watcher
