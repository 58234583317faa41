#pragma once

// A scriptable fake Kubernetes apiserver for tests: HTTPS on 127.0.0.1 (port 0) with a
// throwaway CA, serving list responses and watch streams that each test scripts.
//
//   FakeApiServer api;                                    // started, ready
//   api.SetList("/api/v1/nodes", {200, ReadFixture("nodes/x.json")});   // repeats
//   api.EnqueueList("/api/v1/pods", {200, page1});        // served once, before SetList's
//   auto stream = api.EnqueueWatch("/api/v1/pods");       // next watch of /api/v1/pods
//   stream->Send(line1 + "\n");  stream->Drop();          // data, then a dropped connection
//   api.EnqueueWatchStatus("/api/v1/pods", {410, status_json});
//   auto conn = api.Connection("token-1");                // watcher::ClusterConnection
//   api.Requests();                                       // what clients asked
//
// A GET whose query has watch=1/true is a watch, any other GET a list. A list with
// nothing scripted answers 404 with a Status body; a watch with nothing scripted stays
// open and idle until the server stops (like a quiet cluster). Other methods (POST, PUT,
// PATCH) are answered from the list script of their path, so tests can script them too.

#include <rapidjson/document.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/test_certs.h"
#include "watcher/kubeconfig.h"
#include "watcher/object_sink.h"

namespace httplib {
class SSLServer;
}

namespace backstop::testing {

struct FakeResponse {
  int status = 200;
  std::string body;  // sent as application/json
};

// A watch response body the test writes while the client reads it.
class FakeWatchStream {
 public:
  void Send(std::string chunk);  // written to the client as one HTTP chunk
  void End();                    // ends the response cleanly (server timeout)
  void Drop();                   // aborts the connection (no final chunk)

 private:
  friend class FakeApiServer;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  enum class State { kOpen, kEnded, kDropped } state_ = State::kOpen;
};

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // decoded query parameters
  std::string authorization;                  // Authorization header ("" when absent)
  std::string client_cn;                      // CN of the client certificate, if any
  std::string body;
  bool watch = false;

  std::string Param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

struct FakeApiServerOptions {
  bool require_client_cert = false;  // mutual TLS with client certificates of client_ca()
};

class FakeApiServer {
 public:
  explicit FakeApiServer(FakeApiServerOptions options = {});
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& ca_pem() const { return ca_.cert_pem(); }
  // A CA whose client certificates the server accepts when require_client_cert is set.
  const TestCa& client_ca() const { return client_ca_; }
  // Connection settings for this server (CA pinned) with an optional bearer token.
  watcher::ClusterConnection Connection(const std::string& token = "") const;

  void SetList(const std::string& path, FakeResponse response);
  void EnqueueList(const std::string& path, FakeResponse response);
  std::shared_ptr<FakeWatchStream> EnqueueWatch(const std::string& path);
  // A watch stream already filled with `chunks`, then ended (or dropped).
  std::shared_ptr<FakeWatchStream> EnqueueWatchChunks(const std::string& path,
                                                      std::vector<std::string> chunks,
                                                      bool drop_at_end = false);
  void EnqueueWatchStatus(const std::string& path, FakeResponse response);

  std::vector<RecordedRequest> Requests() const;
  // Requests of `path` that were watches (watch=true) or lists (watch=false).
  std::vector<RecordedRequest> Requests(const std::string& path, bool watch) const;
  // Waits until `pred(Requests())` holds; false after `deadline`.
  bool WaitForRequests(const std::function<bool(const std::vector<RecordedRequest>&)>& pred,
                       std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;

 private:
  struct WatchScript {
    FakeResponse status;
    std::shared_ptr<FakeWatchStream> stream;  // null: answer `status`
  };
  struct PathScript {
    std::deque<FakeResponse> lists;
    bool has_default = false;
    FakeResponse default_list;
    std::deque<WatchScript> watches;
  };

  void Record(RecordedRequest r);

  FakeApiServerOptions options_;
  TestCa ca_;
  TestCa client_ca_;
  TempDir dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;  // guards scripts_, requests_, idle_streams_, shutting_down_
  mutable std::condition_variable requests_cv_;
  std::map<std::string, PathScript> scripts_;
  std::vector<RecordedRequest> requests_;
  std::vector<std::shared_ptr<FakeWatchStream>> live_streams_;
  bool shutting_down_ = false;
};

// A thread-safe ObjectSink that records what a watcher delivers, for assertions.
class RecordingSink : public watcher::ObjectSink {
 public:
  struct Entry {
    std::string op;  // "replace", "ADDED", "MODIFIED", "DELETED", "synced"
    std::string resource;
    std::vector<std::string> names;  // replace: every item's metadata.name; else the one
    std::string resource_version;    // of the object (Apply)
  };

  void Replace(std::string_view resource,
               const std::vector<const rapidjson::Value*>& items) override;
  void Apply(std::string_view resource, watcher::WatchEventType type,
             const rapidjson::Value& object) override;
  void MarkSynced(std::string_view resource) override;

  std::vector<Entry> Entries() const;
  // Waits until `pred(Entries())` holds; false after `deadline`.
  bool WaitFor(const std::function<bool(const std::vector<Entry>&)>& pred,
               std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;
  // Convenience: waits for at least `n` entries with op `op`.
  bool WaitForCount(const std::string& op, size_t n,
                    std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;
  static size_t Count(const std::vector<Entry>& entries, const std::string& op);

 private:
  void Add(Entry e);
  mutable std::mutex mu_;  // guards entries_
  mutable std::condition_variable cv_;
  std::vector<Entry> entries_;
};

}  // namespace backstop::testing
