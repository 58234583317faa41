#include "tests/support/fake_cluster.h"

#include <httplib.h>

#include <algorithm>
#include <ctime>
#include <sstream>
#include <stdexcept>

namespace backstop::testing {
namespace {

using nlohmann::json;

json StatusJson(int code, const std::string& reason, const std::string& message,
                const std::string& kind = "", const std::string& name = "") {
  json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason},
            {"code", code}};
  if (!kind.empty() || !name.empty()) s["details"] = {{"name", name}, {"kind", kind}};
  return s;
}

std::string TypeKey(const ResourceType& t) { return t.group + "/" + t.resource; }

std::string ObjectKey(const std::string& ns, const std::string& name) { return ns + "/" + name; }

std::string Now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Equality-based label selectors: "a=b,c!=d,e,!f".
bool SelectorMatches(const std::string& selector, const json& object) {
  if (selector.empty()) return true;
  const json labels = object["metadata"].value("labels", json::object());
  std::stringstream ss(selector);
  std::string term;
  while (std::getline(ss, term, ',')) {
    if (term.empty()) continue;
    const size_t ne = term.find("!=");
    const size_t eq = term.find('=');
    if (ne != std::string::npos) {
      const std::string k = term.substr(0, ne), v = term.substr(ne + 2);
      if (labels.contains(k) && labels[k] == v) return false;
    } else if (eq != std::string::npos) {
      const std::string k = term.substr(0, term[eq - 1] == '=' ? eq - 1 : eq);
      const std::string v = term.substr(term.find_first_not_of('=', eq));
      if (!labels.contains(k) || labels[k] != v) return false;
    } else if (term[0] == '!') {
      if (labels.contains(term.substr(1))) return false;
    } else if (!labels.contains(term)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string ResourceType::CollectionPath(const std::string& ns) const {
  std::string base = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) base += "/namespaces/" + ns;
  return base + "/" + resource;
}

FakeCluster::FakeCluster() {
  PemPair leaf = ca_.Issue("fake-cluster", {"localhost"}, {"127.0.0.1"});
  const auto cert = dir_.Write("tls.crt", leaf.cert_pem);
  const auto key = dir_.Write("tls.key", leaf.key_pem);
  server_ = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  if (!server_->is_valid()) throw std::runtime_error("fake cluster: TLS setup failed");
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(1);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Handle(&req, &res);
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake cluster: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

FakeCluster::~FakeCluster() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

watcher::ClusterConnection FakeCluster::Connection(const std::string& token) const {
  watcher::ClusterConnection c;
  c.scheme = "https";
  c.host = "127.0.0.1";
  c.port = port_;
  c.ca_pem = ca_.cert_pem();
  c.token = token;
  c.description = "fake cluster " + url();
  return c;
}

std::string FakeCluster::WriteKubeconfig() const {
  const std::string ca = dir_.Write("ca.crt", ca_.cert_pem()).string();
  return dir_
      .Write("kubeconfig",
             "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
             "clusters:\n- name: fake\n  cluster:\n    server: " +
                 url() + "\n    certificate-authority: " + ca +
                 "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
                 "users:\n- name: fake\n  user:\n    token: fake-token\n")
      .string();
}

void FakeCluster::Serve(const ResourceType& type) {
  std::lock_guard<std::mutex> lock(mu_);
  types_.push_back(type);
  objects_[TypeKey(type)];
}

void FakeCluster::RecordLocked(const std::string& type, const ResourceType& rt, const json& obj) {
  events_.push_back(Event{rv_, type, TypeKey(rt), obj});
  while (events_.size() > 10000) events_.pop_front();
  changed_.notify_all();
}

std::optional<json> FakeCluster::CreateLocked(const ResourceType& type, json object) {
  auto& bucket = objects_[TypeKey(type)];
  json& md = object["metadata"];
  const std::string ns = type.namespaced ? md.value("namespace", "default") : "";
  const std::string name = md.value("name", "");
  if (name.empty() || bucket.count(ObjectKey(ns, name)) != 0) return std::nullopt;
  if (type.namespaced) md["namespace"] = ns;
  md["uid"] = "00000000-0000-4000-8000-" + [&] {
    std::string n = std::to_string(next_uid_++);
    return std::string(12 - n.size(), '0') + n;
  }();
  md["resourceVersion"] = std::to_string(++rv_);
  md["creationTimestamp"] = Now();
  object["apiVersion"] = type.ApiVersion();
  object["kind"] = type.kind;
  bucket[ObjectKey(ns, name)] = object;
  RecordLocked("ADDED", type, object);
  return object;
}

std::optional<json> FakeCluster::Create(const ResourceType& type, json object) {
  std::lock_guard<std::mutex> lock(mu_);
  return CreateLocked(type, std::move(object));
}

std::optional<json> FakeCluster::Update(const ResourceType& type, json object) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& bucket = objects_[TypeKey(type)];
  const std::string ns = type.namespaced ? object["metadata"].value("namespace", "default") : "";
  auto it = bucket.find(ObjectKey(ns, object["metadata"].value("name", "")));
  if (it == bucket.end()) return std::nullopt;
  for (const char* keep : {"uid", "creationTimestamp", "namespace"}) {
    if (it->second["metadata"].contains(keep))
      object["metadata"][keep] = it->second["metadata"][keep];
  }
  object["metadata"]["resourceVersion"] = std::to_string(++rv_);
  object["apiVersion"] = type.ApiVersion();
  object["kind"] = type.kind;
  it->second = object;
  RecordLocked("MODIFIED", type, object);
  return object;
}

bool FakeCluster::Delete(const ResourceType& type, const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& bucket = objects_[TypeKey(type)];
  auto it = bucket.find(ObjectKey(type.namespaced ? ns : "", name));
  if (it == bucket.end()) return false;
  json last = it->second;
  bucket.erase(it);
  last["metadata"]["resourceVersion"] = std::to_string(++rv_);
  RecordLocked("DELETED", type, last);
  return true;
}

std::optional<json> FakeCluster::Get(const ResourceType& type, const std::string& ns,
                                     const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto b = objects_.find(TypeKey(type));
  if (b == objects_.end()) return std::nullopt;
  auto it = b->second.find(ObjectKey(type.namespaced ? ns : "", name));
  if (it == b->second.end()) return std::nullopt;
  return it->second;
}

std::vector<json> FakeCluster::List(const ResourceType& type, const std::string& ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<json> out;
  auto b = objects_.find(TypeKey(type));
  if (b == objects_.end()) return out;
  for (const auto& [key, obj] : b->second) {
    if (ns.empty() || obj["metadata"].value("namespace", "") == ns) out.push_back(obj);
  }
  return out;
}

void FakeCluster::FailNext(const std::string& method, const std::string& path, int status,
                           const std::string& reason, int count) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(Fault{method, path, reason, status, count});
}

void FakeCluster::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  compacted_rv_ = rv_;
  events_.clear();
}

void FakeCluster::EndWatches() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++watch_generation_;
  }
  changed_.notify_all();
}

int64_t FakeCluster::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

std::vector<RecordedRequest> FakeCluster::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool FakeCluster::WaitUntil(const std::function<bool()>& pred,
                            std::chrono::milliseconds deadline) const {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    lock.unlock();
    if (pred()) return true;
    lock.lock();
    if (changed_.wait_until(lock, until) == std::cv_status::timeout) {
      lock.unlock();
      return pred();
    }
  }
}

const ResourceType* FakeCluster::Resolve(const std::string& path, std::string* ns,
                                         std::string* name, bool* collection) const {
  for (const ResourceType& t : types_) {
    const std::string base =
        t.group.empty() ? "/api/" + t.version : "/apis/" + t.group + "/" + t.version;
    if (path.rfind(base + "/", 0) != 0) continue;
    std::string rest = path.substr(base.size() + 1);
    ns->clear();
    if (t.namespaced && rest.rfind("namespaces/", 0) == 0) {
      const size_t slash = rest.find('/', 11);
      if (slash == std::string::npos) continue;
      *ns = rest.substr(11, slash - 11);
      rest = rest.substr(slash + 1);
    }
    if (rest == t.resource) {
      *collection = true;
      name->clear();
      return &t;
    }
    if (rest.rfind(t.resource + "/", 0) == 0 &&
        rest.find('/', t.resource.size() + 1) == std::string::npos) {
      *collection = false;
      *name = rest.substr(t.resource.size() + 1);
      return &t;
    }
  }
  return nullptr;
}

void FakeCluster::Handle(const void* request, void* response) {
  const auto& req = *static_cast<const httplib::Request*>(request);
  auto& res = *static_cast<httplib::Response*>(response);
  auto reply = [&](int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  };
  std::unique_lock<std::mutex> lock(mu_);
  RecordedRequest rec;
  rec.method = req.method;
  rec.path = req.path;
  for (const auto& [k, v] : req.params) rec.params[k] = v;
  rec.authorization = req.get_header_value("Authorization");
  rec.body = req.body;
  rec.watch = req.method == "GET" && (rec.Param("watch") == "1" || rec.Param("watch") == "true");
  requests_.push_back(rec);
  changed_.notify_all();

  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->method == req.method && it->path == req.path && it->remaining > 0) {
      --it->remaining;
      const json body = StatusJson(it->status, it->reason, "injected " + it->reason);
      if (it->remaining == 0) faults_.erase(it);
      return reply(body["code"], body);
    }
  }

  // Discovery.
  if (req.method == "GET") {
    if (req.path == "/api") {
      return reply(200, {{"kind", "APIVersions"},
                         {"versions", {"v1"}},
                         {"serverAddressByClientCIDRs", json::array()}});
    }
    if (req.path == "/apis") {
      json groups = json::array();
      std::map<std::string, std::vector<std::string>> versions;
      for (const auto& t : types_) {
        if (t.group.empty()) continue;
        auto& v = versions[t.group];
        if (std::find(v.begin(), v.end(), t.version) == v.end()) v.push_back(t.version);
      }
      for (const auto& [g, vs] : versions) {
        json list = json::array();
        for (const auto& v : vs) list.push_back({{"groupVersion", g + "/" + v}, {"version", v}});
        groups.push_back({{"name", g}, {"versions", list}, {"preferredVersion", list[0]}});
      }
      return reply(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
    }
    std::string group_version;
    if (req.path == "/api/v1") group_version = "v1";
    if (req.path.rfind("/apis/", 0) == 0 &&
        std::count(req.path.begin(), req.path.end(), '/') == 3) {
      group_version = req.path.substr(6);
    }
    if (!group_version.empty()) {
      json resources = json::array();
      for (const auto& t : types_) {
        if (t.ApiVersion() != group_version) continue;
        resources.push_back(
            {{"name", t.resource},
             {"singularName", ""},
             {"namespaced", t.namespaced},
             {"kind", t.kind},
             {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}}});
      }
      if (resources.empty())
        return reply(
            404, StatusJson(404, "NotFound", "the server could not find the requested resource"));
      return reply(200, {{"kind", "APIResourceList"},
                         {"apiVersion", "v1"},
                         {"groupVersion", group_version},
                         {"resources", resources}});
    }
  }

  std::string ns, name;
  bool collection = false;
  const ResourceType* type = Resolve(req.path, &ns, &name, &collection);
  if (type == nullptr) {
    return reply(404,
                 StatusJson(404, "NotFound", "the server could not find the requested resource"));
  }
  auto& bucket = objects_[TypeKey(*type)];
  const std::string what = type->resource + " \"" + name + "\"";

  if (req.method == "GET" && collection && !rec.watch) {
    json items = json::array();
    const std::string selector = rec.Param("labelSelector");
    for (const auto& [key, obj] : bucket) {
      if (!ns.empty() && obj["metadata"].value("namespace", "") != ns) continue;
      if (!SelectorMatches(selector, obj)) continue;
      items.push_back(obj);
    }
    return reply(200, {{"kind", type->kind + "List"},
                       {"apiVersion", type->ApiVersion()},
                       {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                       {"items", items}});
  }
  if (req.method == "GET" && collection && rec.watch) {
    int64_t from = rv_;
    if (!rec.Param("resourceVersion").empty()) from = std::stoll(rec.Param("resourceVersion"));
    if (from < compacted_rv_) {
      const json gone = StatusJson(410, "Expired",
                                   "too old resource version: " + std::to_string(from) + " (" +
                                       std::to_string(compacted_rv_) + ")");
      res.status = 200;
      res.set_content(json({{"type", "ERROR"}, {"object", gone}}).dump() + "\n",
                      "application/json");
      return;
    }
    const std::string selector = rec.Param("labelSelector");
    const std::string type_key = TypeKey(*type);
    const int64_t generation = watch_generation_;
    auto next = std::make_shared<int64_t>(from);
    lock.unlock();
    res.status = 200;
    res.set_chunked_content_provider(
        "application/json",
        [this, next, selector, type_key, ns, generation](size_t, httplib::DataSink& sink) {
          std::unique_lock<std::mutex> l(mu_);
          std::string out;
          changed_.wait(l, [&] {
            if (stopping_ || watch_generation_ != generation) return true;
            for (const Event& e : events_) {
              if (e.rv > *next && e.type_key == type_key) return true;
            }
            return false;
          });
          if (stopping_) return false;
          for (const Event& e : events_) {
            if (e.rv <= *next || e.type_key != type_key) continue;
            *next = e.rv;
            if (!ns.empty() && e.object["metadata"].value("namespace", "") != ns) continue;
            if (!SelectorMatches(selector, e.object)) continue;
            out += json({{"type", e.type}, {"object", e.object}}).dump() + "\n";
          }
          const bool ended = watch_generation_ != generation;
          l.unlock();
          if (!out.empty() && !sink.write(out.data(), out.size())) return false;
          if (ended) sink.done();
          return true;
        });
    return;
  }
  if (req.method == "POST" && collection) {
    json object = json::parse(req.body, nullptr, false);
    if (!object.is_object()) return reply(400, StatusJson(400, "BadRequest", "invalid JSON"));
    if (type->namespaced) object["metadata"]["namespace"] = ns.empty() ? "default" : ns;
    if (rec.Param("dryRun") == "All") return reply(201, object);
    auto created = CreateLocked(*type, object);
    if (!created) {
      const std::string n = object["metadata"].value("name", "");
      return reply(
          409, StatusJson(409, "AlreadyExists", type->resource + " \"" + n + "\" already exists",
                          type->resource, n));
    }
    return reply(201, *created);
  }
  auto it = bucket.find(ObjectKey(type->namespaced ? ns : "", name));
  if (it == bucket.end()) {
    return reply(404, StatusJson(404, "NotFound", what + " not found", type->resource, name));
  }
  if (req.method == "GET") return reply(200, it->second);
  if (req.method == "DELETE") {
    json last = it->second;
    bucket.erase(it);
    last["metadata"]["resourceVersion"] = std::to_string(++rv_);
    RecordLocked("DELETED", *type, last);
    return reply(200, last);
  }
  json updated;
  if (req.method == "PUT") {
    updated = json::parse(req.body, nullptr, false);
    if (!updated.is_object()) return reply(400, StatusJson(400, "BadRequest", "invalid JSON"));
    const std::string want = updated["metadata"].value("resourceVersion", "");
    if (!want.empty() && want != it->second["metadata"].value("resourceVersion", "")) {
      return reply(409, StatusJson(409, "Conflict",
                                   "Operation cannot be fulfilled on " + what +
                                       ": the object has been modified; please apply your "
                                       "changes to the latest version and try again",
                                   type->resource, name));
    }
  } else if (req.method == "PATCH") {
    const std::string content_type = req.get_header_value("Content-Type");
    const json patch = json::parse(req.body, nullptr, false);
    if (patch.is_discarded()) return reply(400, StatusJson(400, "BadRequest", "invalid patch"));
    try {
      if (content_type.rfind("application/json-patch+json", 0) == 0) {
        updated = it->second.patch(patch);
      } else {
        updated = it->second;
        updated.merge_patch(patch);
      }
    } catch (const json::exception& e) {
      return reply(
          422, StatusJson(422, "Invalid", std::string("the patch does not apply: ") + e.what()));
    }
  } else {
    return reply(405, StatusJson(405, "MethodNotAllowed", req.method + " is not allowed"));
  }
  for (const char* keep : {"uid", "creationTimestamp", "namespace", "name"}) {
    if (it->second["metadata"].contains(keep))
      updated["metadata"][keep] = it->second["metadata"][keep];
  }
  updated["metadata"]["resourceVersion"] = std::to_string(++rv_);
  updated["apiVersion"] = type->ApiVersion();
  updated["kind"] = type->kind;
  it->second = updated;
  RecordLocked("MODIFIED", *type, updated);
  return reply(200, updated);
}

}  // namespace backstop::testing
