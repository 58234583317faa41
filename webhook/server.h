#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "obs/metrics.h"
#include "webhook/admission_service.h"
#include "webhook/cert_store.h"
#include "webhook/connection_tracker.h"

namespace httplib {
class SSLServer;
}

namespace backstop::webhook {

class ElasticTaskQueue;

struct ServerOptions {
  std::string host = "0.0.0.0";   // --listen host part
  int port = 8443;                // --listen port part; 0 picks a free port
  std::string tls_cert_file;      // --tls-cert, PEM chain (required)
  std::string tls_key_file;       // --tls-key, PEM key, ECDSA or RSA (required)
  std::string client_ca_file;     // --client-ca: when set, clients must present a cert it signed
  size_t min_threads = 8;         // --threads: warm workers (one serves one connection)
  size_t max_connections = 1024;  // --max-connections: connections served at once
  size_t max_body_bytes = 7 * 1024 * 1024;  // larger bodies get 413
  std::chrono::seconds read_timeout{10};    // per read while a request arrives
  std::chrono::seconds write_timeout{10};   // per write of an answer
  // Idle keep-alive lifetime; above the apiserver's 90 s so it is the client that closes.
  std::chrono::seconds idle_timeout{120};
  size_t keep_alive_max_requests = 100000;                // requests per connection before "close"
  int listen_backlog = 4096;                              // raised after bind (cpp-httplib uses 5)
  std::chrono::milliseconds cert_reload_interval{10000};  // how often cert files are checked

  // Problems with the options themselves (not the files); empty when fine.
  std::string Validate() const;
};

// The HTTPS admission server: TLS with hot certificate reload, routes, limits, health
// and metrics. Owns no policy: requests go to the AdmissionService.
class Server {
 public:
  // `ready` adds readiness conditions of other modules (e.g. the watcher synced); it must
  // be cheap and thread-safe.
  Server(ServerOptions options, AdmissionService& service, obs::Registry& registry,
         std::function<bool(std::string* why)> ready = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the certificate, sets up TLS and binds. Returns the bound port or a clear error.
  StatusOr<int> Bind();
  // Serves until Stop(); in-flight requests finish before it returns.
  void Run();
  // Readiness turns false (the drain starts); serving continues.
  void BeginDrain();
  // Stops accepting, waits for requests being processed to be answered, then closes
  // idle keep-alive connections. Run() returns once every worker is done.
  void Stop();

  bool draining() const { return draining_.load(); }
  int port() const { return port_; }
  // Checks the certificate files now (also done every cert_reload_interval).
  void CheckCertificate();

 private:
  void InstallRoutes();
  void ReloadLoop();

  ServerOptions options_;
  AdmissionService& service_;
  std::function<bool(std::string*)> ready_;
  CertStore certs_;
  ConnectionTracker connections_tracker_;
  std::unique_ptr<httplib::SSLServer> http_;
  ElasticTaskQueue* queue_ = nullptr;  // owned by cpp-httplib once created
  std::atomic<int> listen_fd_{-1};
  int port_ = 0;
  std::atomic<bool> serving_{false};
  std::atomic<bool> draining_{false};

  obs::Registry& registry_;
  obs::Family<obs::Counter>& reloads_;
  obs::Gauge& cert_expiry_;
  obs::Gauge& connections_;
  obs::Gauge& threads_;

  // Requests between routing and their answer being written (cpp-httplib's pre-routing
  // handler and logger run on the request's thread around the whole exchange).
  // Counted without a lock on the request path; the mutex only pairs the last decrement's
  // notify with Stop()'s wait so that the wake-up cannot be lost.
  std::atomic<int> busy_{0};
  std::mutex busy_mu_;
  std::condition_variable busy_cv_;

  std::mutex reload_mu_;  // guards stop_reload_ (with reload_cv_)
  std::condition_variable reload_cv_;
  bool stop_reload_ = false;
  std::thread reload_thread_;
};

}  // namespace backstop::webhook
