#include "watcher/watcher.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "obs/log.h"

namespace backstop::watcher {
namespace {

std::string MetaString(const rapidjson::Value& obj, const char* field) {
  if (!obj.IsObject()) return {};
  auto md = obj.FindMember("metadata");
  if (md == obj.MemberEnd() || !md->value.IsObject()) return {};
  auto f = md->value.FindMember(field);
  if (f == md->value.MemberEnd() || !f->value.IsString()) return {};
  return f->value.GetString();
}

// A thread-safe wrapper of a caller's random function, or a fresh PRNG.
std::function<double()> SharedRandom(std::function<double()> random) {
  auto mu = std::make_shared<std::mutex>();
  if (random) {
    return [mu, random] {
      std::lock_guard<std::mutex> lock(*mu);
      return random();
    };
  }
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [mu, engine] {
    std::lock_guard<std::mutex> lock(*mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
  };
}

}  // namespace

void ParseWatcherClientOptions(ConfigReader& watcher_section, WatcherOptions* out) {
  if (!watcher_section.present()) return;
  int64_t page_size = out->page_size;
  watcher_section.Int("pageSize", &page_size, 1, 5000);
  out->page_size = static_cast<int>(page_size);
  watcher_section.Int("maxEventBytes", &out->max_event_bytes, 64 * 1024, int64_t{1} << 30);
  ConfigReader pods = watcher_section.Child("pods");
  if (pods.present()) {
    pods.StringList("namespaces", &out->namespaces);
    pods.String("labelSelector", &out->label_selector);
    std::set<std::string> seen;
    for (const auto& ns : out->namespaces) {
      if (ns.empty()) pods.Fail("namespaces", "an empty namespace name");
      if (!seen.insert(ns).second) pods.Fail("namespaces", "\"" + ns + "\" is listed twice");
    }
    pods.RejectUnknown();
  }
}

// Merges the pods of several namespace reflectors into one sink (see Watcher).
class NamespaceMerger {
 public:
  NamespaceMerger(ObjectSink* target, size_t namespaces) : target_(target), expected_(namespaces) {}

  void Replace(const std::string& ns, std::string_view resource,
               const std::vector<const rapidjson::Value*>& items) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& known = known_[ns];
    std::map<std::string, std::unique_ptr<rapidjson::Document>> next;
    for (const auto* item : items) {
      const std::string key = MetaString(*item, "name");
      const bool existed = known.count(key) > 0;
      target_->Apply(resource, existed ? WatchEventType::kModified : WatchEventType::kAdded, *item);
      next[key] = Stub(*item);
    }
    for (const auto& [key, stub] : known) {
      if (next.count(key) == 0) target_->Apply(resource, WatchEventType::kDeleted, *stub);
    }
    known = std::move(next);
  }

  void Apply(const std::string& ns, std::string_view resource, WatchEventType type,
             const rapidjson::Value& object) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = MetaString(object, "name");
    if (type == WatchEventType::kDeleted) {
      known_[ns].erase(key);
    } else {
      known_[ns][key] = Stub(object);
    }
    target_->Apply(resource, type, object);
  }

  void MarkSynced(const std::string& ns, std::string_view resource) {
    std::lock_guard<std::mutex> lock(mu_);
    synced_.insert(ns);
    if (synced_.size() == expected_ && !announced_) {
      announced_ = true;
      target_->MarkSynced(resource);
    }
  }

 private:
  // Just enough of an object to tell the sink which one was deleted.
  static std::unique_ptr<rapidjson::Document> Stub(const rapidjson::Value& object) {
    auto doc = std::make_unique<rapidjson::Document>();
    doc->SetObject();
    auto& a = doc->GetAllocator();
    rapidjson::Value md(rapidjson::kObjectType);
    for (const char* field : {"name", "namespace", "uid", "resourceVersion"}) {
      std::string v = MetaString(object, field);
      if (!v.empty()) {
        md.AddMember(rapidjson::Value(field, a), rapidjson::Value(v.c_str(), a), a);
      }
    }
    for (const char* field : {"apiVersion", "kind"}) {
      auto it = object.FindMember(field);
      if (it != object.MemberEnd() && it->value.IsString()) {
        doc->AddMember(rapidjson::Value(field, a), rapidjson::Value(it->value.GetString(), a), a);
      }
    }
    doc->AddMember("metadata", md, a);
    return doc;
  }

  ObjectSink* target_;
  const size_t expected_;
  std::mutex mu_;  // guards everything below; held while calling target_
  std::map<std::string, std::map<std::string, std::unique_ptr<rapidjson::Document>>> known_;
  std::set<std::string> synced_;
  bool announced_ = false;
};

// The ObjectSink one namespace's reflector writes to.
class NamespaceAdapter : public ObjectSink {
 public:
  NamespaceAdapter(NamespaceMerger* merger, std::string ns) : merger_(merger), ns_(std::move(ns)) {}
  void Replace(std::string_view resource,
               const std::vector<const rapidjson::Value*>& items) override {
    merger_->Replace(ns_, resource, items);
  }
  void Apply(std::string_view resource, WatchEventType type,
             const rapidjson::Value& object) override {
    merger_->Apply(ns_, resource, type, object);
  }
  void MarkSynced(std::string_view resource) override { merger_->MarkSynced(ns_, resource); }

 private:
  NamespaceMerger* merger_;
  const std::string ns_;
};

Watcher::Watcher(ClusterConnection conn, WatcherOptions options, ObjectSink* sink,
                 obs::Registry* registry, WatcherDeps deps)
    : conn_(std::move(conn)),
      options_(std::move(options)),
      sink_(sink),
      metrics_(*registry),
      deps_(std::move(deps)) {
  deps_.random = SharedRandom(std::move(deps_.random));
  token_ = std::make_shared<TokenSource>(conn_.token, conn_.token_file, options_.token_refresh,
                                         deps_.steady_now);
}

Watcher::~Watcher() { Stop(); }

Status Watcher::Start() {
  if (started_) return OkStatus();
  {
    KubeClient probe(conn_, token_, options_.client);
    if (Status valid = probe.Validate(); !valid.ok()) return valid.WithContext(conn_.description);
  }
  if (options_.page_size < 1) return InvalidArgumentError("watcher page size must be at least 1");

  auto make_options = [&](const std::string& resource, const std::string& ns) {
    ReflectorOptions ro;
    ro.resource = resource;
    ro.namespace_name = ns;
    ro.page_size = options_.page_size;
    ro.min_watch_timeout = options_.min_watch_timeout;
    ro.max_watch_timeout = options_.max_watch_timeout;
    ro.max_event_bytes = static_cast<size_t>(options_.max_event_bytes);
    ro.backoff = options_.backoff;
    if (resource == "pods") ro.label_selector = options_.label_selector;
    return ro;
  };
  auto add = [&](ReflectorOptions ro, std::unique_ptr<ObjectSink> adapter) {
    auto r = std::make_unique<Runner>();
    r->client = std::make_unique<KubeClient>(conn_, token_, options_.client);
    r->adapter = std::move(adapter);
    ObjectSink* target = r->adapter ? r->adapter.get() : sink_;
    r->reflector = std::make_unique<Reflector>(std::move(ro), r->client.get(), target, &metrics_,
                                               deps_.random, deps_.now);
    runners_.push_back(std::move(r));
  };

  if (options_.watch_nodes) add(make_options("nodes", ""), nullptr);
  if (options_.watch_pods) {
    if (options_.namespaces.size() <= 1) {
      add(make_options("pods", options_.namespaces.empty() ? "" : options_.namespaces[0]), nullptr);
    } else {
      merger_ = std::make_unique<NamespaceMerger>(sink_, options_.namespaces.size());
      for (const auto& ns : options_.namespaces) {
        add(make_options("pods", ns), std::make_unique<NamespaceAdapter>(merger_.get(), ns));
      }
    }
  }
  obs::Log(obs::LogLevel::kInfo, "watcher starting",
           {{"apiserver", conn_.description},
            {"namespaces", options_.namespaces.empty() ? std::string("(all)") : [&] {
               std::string s;
               for (const auto& ns : options_.namespaces) s += (s.empty() ? "" : ",") + ns;
               return s;
             }()},
            {"labelSelector", options_.label_selector}});
  for (auto& r : runners_) {
    Reflector* reflector = r->reflector.get();
    r->thread = std::thread([reflector] { reflector->Run(); });
  }
  started_ = true;
  return OkStatus();
}

void Watcher::Stop() {
  for (auto& r : runners_) r->reflector->Stop();
  for (auto& r : runners_) {
    if (r->thread.joinable()) r->thread.join();
  }
}

bool Watcher::Synced() const {
  if (!started_ || runners_.empty()) return false;
  return std::all_of(runners_.begin(), runners_.end(),
                     [](const auto& r) { return r->reflector->synced(); });
}

std::optional<std::chrono::system_clock::time_point> Watcher::LastContact() const {
  int64_t latest = 0;
  for (const auto& r : runners_) latest = std::max(latest, r->reflector->last_contact_unix_ms());
  if (latest == 0) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(latest));
}

int64_t Watcher::OldestContactUnixMs() const {
  if (runners_.empty()) return 0;
  int64_t oldest = INT64_MAX;
  for (const auto& r : runners_) oldest = std::min(oldest, r->reflector->last_contact_unix_ms());
  return oldest;
}

}  // namespace backstop::watcher
