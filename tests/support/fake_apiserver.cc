#include "tests/support/fake_apiserver.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace backstop::testing {
namespace {

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
         message + R"(","reason":")" + reason + R"(","code":)" + std::to_string(code) + "}";
}

std::string PeerCommonName(const SSL* ssl) {
  if (ssl == nullptr) return {};
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return {};
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
  X509_free(peer);
  return buf;
}

std::string MetadataName(const rapidjson::Value& v) {
  if (!v.IsObject()) return {};
  auto md = v.FindMember("metadata");
  if (md == v.MemberEnd() || !md->value.IsObject()) return {};
  auto n = md->value.FindMember("name");
  if (n == md->value.MemberEnd() || !n->value.IsString()) return {};
  return n->value.GetString();
}

std::string MetadataRv(const rapidjson::Value& v) {
  if (!v.IsObject()) return {};
  auto md = v.FindMember("metadata");
  if (md == v.MemberEnd() || !md->value.IsObject()) return {};
  auto n = md->value.FindMember("resourceVersion");
  if (n == md->value.MemberEnd() || !n->value.IsString()) return {};
  return n->value.GetString();
}

}  // namespace

// ---------------------------------------------------------------- FakeWatchStream

void FakeWatchStream::Send(std::string chunk) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    chunks_.push_back(std::move(chunk));
  }
  cv_.notify_all();
}

void FakeWatchStream::End() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kEnded;
  }
  cv_.notify_all();
}

void FakeWatchStream::Drop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kDropped;
  }
  cv_.notify_all();
}

// ---------------------------------------------------------------- FakeApiServer

FakeApiServer::FakeApiServer(FakeApiServerOptions options)
    : options_(options), client_ca_(KeyType::kEcdsaP256, "backstop test client CA") {
  PemPair leaf = ca_.Issue("fake-apiserver", {"localhost"}, {"127.0.0.1"});
  const auto cert = dir_.Write("tls.crt", leaf.cert_pem);
  const auto key = dir_.Write("tls.key", leaf.key_pem);
  std::string client_ca_path;
  if (options_.require_client_cert) {
    client_ca_path = dir_.Write("client-ca.crt", client_ca_.cert_pem()).string();
  }
  server_ = std::make_unique<httplib::SSLServer>(
      cert.c_str(), key.c_str(), client_ca_path.empty() ? nullptr : client_ca_path.c_str());
  if (!server_->is_valid()) throw std::runtime_error("fake apiserver: TLS setup failed");
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(1);

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    RecordedRequest rec;
    rec.method = req.method;
    rec.path = req.path;
    for (const auto& [k, v] : req.params) rec.params[k] = v;
    rec.authorization = req.get_header_value("Authorization");
    rec.client_cn = PeerCommonName(req.ssl);
    rec.body = req.body;
    const std::string watch = rec.Param("watch");
    rec.watch = req.method == "GET" && (watch == "1" || watch == "true");
    const bool is_watch = rec.watch;
    const std::string path = rec.path;
    Record(std::move(rec));

    std::unique_lock<std::mutex> lock(mu_);
    PathScript& script = scripts_[path];
    if (!is_watch) {
      FakeResponse r;
      if (!script.lists.empty()) {
        r = std::move(script.lists.front());
        script.lists.pop_front();
      } else if (script.has_default) {
        r = script.default_list;
      } else {
        r = {404, StatusBody(404, "NotFound", "nothing scripted for " + path)};
      }
      res.status = r.status;
      res.set_content(r.body, "application/json");
      return;
    }
    std::shared_ptr<FakeWatchStream> stream;
    if (!script.watches.empty()) {
      WatchScript w = std::move(script.watches.front());
      script.watches.pop_front();
      if (!w.stream) {
        res.status = w.status.status;
        res.set_content(w.status.body, "application/json");
        return;
      }
      stream = std::move(w.stream);
    } else {
      stream = std::make_shared<FakeWatchStream>();  // idle until shutdown
    }
    live_streams_.push_back(stream);
    lock.unlock();
    res.status = 200;
    res.set_chunked_content_provider("application/json", [this, stream](size_t,
                                                                        httplib::DataSink& sink) {
      std::unique_lock<std::mutex> slock(stream->mu_);
      stream->cv_.wait(slock, [&] {
        return !stream->chunks_.empty() || stream->state_ != FakeWatchStream::State::kOpen || [&] {
          std::lock_guard<std::mutex> g(mu_);
          return shutting_down_;
        }();
      });
      while (!stream->chunks_.empty()) {
        std::string chunk = std::move(stream->chunks_.front());
        stream->chunks_.pop_front();
        slock.unlock();
        const bool ok = sink.write(chunk.data(), chunk.size());
        slock.lock();
        if (!ok) return false;
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        if (shutting_down_) return false;
      }
      if (stream->state_ == FakeWatchStream::State::kDropped) return false;
      if (stream->state_ == FakeWatchStream::State::kEnded) sink.done();
      return true;
    });
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);

  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake apiserver: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

FakeApiServer::~FakeApiServer() {
  std::vector<std::shared_ptr<FakeWatchStream>> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    streams = live_streams_;
  }
  for (auto& s : streams) {
    std::lock_guard<std::mutex> lock(s->mu_);
    s->cv_.notify_all();
  }
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

watcher::ClusterConnection FakeApiServer::Connection(const std::string& token) const {
  watcher::ClusterConnection c;
  c.scheme = "https";
  c.host = "127.0.0.1";
  c.port = port_;
  c.ca_pem = ca_.cert_pem();
  c.token = token;
  c.description = "fake apiserver " + url();
  return c;
}

void FakeApiServer::SetList(const std::string& path, FakeResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path].has_default = true;
  scripts_[path].default_list = std::move(response);
}

void FakeApiServer::EnqueueList(const std::string& path, FakeResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path].lists.push_back(std::move(response));
}

std::shared_ptr<FakeWatchStream> FakeApiServer::EnqueueWatch(const std::string& path) {
  auto stream = std::make_shared<FakeWatchStream>();
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path].watches.push_back({FakeResponse{}, stream});
  return stream;
}

std::shared_ptr<FakeWatchStream> FakeApiServer::EnqueueWatchChunks(const std::string& path,
                                                                   std::vector<std::string> chunks,
                                                                   bool drop_at_end) {
  auto stream = EnqueueWatch(path);
  for (auto& c : chunks) stream->Send(std::move(c));
  if (drop_at_end) {
    stream->Drop();
  } else {
    stream->End();
  }
  return stream;
}

void FakeApiServer::EnqueueWatchStatus(const std::string& path, FakeResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path].watches.push_back({std::move(response), nullptr});
}

void FakeApiServer::Record(RecordedRequest r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(r));
  }
  requests_cv_.notify_all();
}

std::vector<RecordedRequest> FakeApiServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<RecordedRequest> FakeApiServer::Requests(const std::string& path, bool watch) const {
  std::vector<RecordedRequest> out;
  for (auto& r : Requests()) {
    if (r.path == path && r.watch == watch) out.push_back(r);
  }
  return out;
}

bool FakeApiServer::WaitForRequests(
    const std::function<bool(const std::vector<RecordedRequest>&)>& pred,
    std::chrono::milliseconds deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  return requests_cv_.wait_for(lock, deadline, [&] { return pred(requests_); });
}

// ---------------------------------------------------------------- RecordingSink

void RecordingSink::Add(Entry e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(std::move(e));
  }
  cv_.notify_all();
}

void RecordingSink::Replace(std::string_view resource,
                            const std::vector<const rapidjson::Value*>& items) {
  Entry e{"replace", std::string(resource), {}, {}};
  for (const auto* item : items) e.names.push_back(MetadataName(*item));
  Add(std::move(e));
}

void RecordingSink::Apply(std::string_view resource, watcher::WatchEventType type,
                          const rapidjson::Value& object) {
  const char* op = type == watcher::WatchEventType::kAdded      ? "ADDED"
                   : type == watcher::WatchEventType::kModified ? "MODIFIED"
                                                                : "DELETED";
  Add(Entry{op, std::string(resource), {MetadataName(object)}, MetadataRv(object)});
}

void RecordingSink::MarkSynced(std::string_view resource) {
  Add(Entry{"synced", std::string(resource), {}, {}});
}

std::vector<RecordingSink::Entry> RecordingSink::Entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

bool RecordingSink::WaitFor(const std::function<bool(const std::vector<Entry>&)>& pred,
                            std::chrono::milliseconds deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return pred(entries_); });
}

size_t RecordingSink::Count(const std::vector<Entry>& entries, const std::string& op) {
  size_t n = 0;
  for (const auto& e : entries) n += e.op == op ? 1 : 0;
  return n;
}

bool RecordingSink::WaitForCount(const std::string& op, size_t n,
                                 std::chrono::milliseconds deadline) const {
  return WaitFor([&](const std::vector<Entry>& es) { return Count(es, op) >= n; }, deadline);
}

}  // namespace backstop::testing
