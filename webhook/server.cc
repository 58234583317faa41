#include "webhook/server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "obs/log.h"
#include "webhook/codec.h"
#include "webhook/keep_alive.h"
#include "webhook/task_queue.h"

namespace backstop::webhook {
namespace {

// TLS 1.2: forward-secret AEAD suites only. TLS 1.3 suites are all forward-secret AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

}  // namespace

std::string ServerOptions::Validate() const {
  if (tls_cert_file.empty() || tls_key_file.empty()) {
    return "--tls-cert and --tls-key are required (PEM files)";
  }
  if (port < 0 || port > 65535) return "--listen port must be 0..65535";
  if (min_threads < 1) return "--threads must be at least 1";
  if (max_connections < min_threads) return "--max-connections must be at least --threads";
  if (max_body_bytes < 1024) return "body limit must be at least 1024 bytes";
  return "";
}

Server::Server(ServerOptions options, AdmissionService& service, obs::Registry& registry,
               std::function<bool(std::string*)> ready)
    : options_(std::move(options)),
      service_(service),
      ready_(std::move(ready)),
      certs_(options_.tls_cert_file, options_.tls_key_file),
      registry_(registry),
      reloads_(registry.AddCounter("backstop_tls_certificate_reloads_total",
                                   "Serving certificate reload attempts, by result "
                                   "(success, failure).",
                                   {"result"})),
      cert_expiry_(registry
                       .AddGauge("backstop_tls_certificate_expiry_timestamp_seconds",
                                 "notAfter of the serving certificate in use (Unix time).")
                       .With({})),
      connections_(registry
                       .AddGauge("backstop_http_connections",
                                 "Client connections being served or waiting for a worker.")
                       .With({})),
      threads_(registry
                   .AddGauge("backstop_http_worker_threads",
                             "Worker threads (one per served connection, grown on demand).")
                   .With({})) {}

Server::~Server() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(reload_mu_);
    stop_reload_ = true;
  }
  reload_cv_.notify_all();
  if (reload_thread_.joinable()) reload_thread_.join();
}

StatusOr<int> Server::Bind() {
  if (std::string why = options_.Validate(); !why.empty()) return InvalidArgumentError(why);
  std::string error;
  if (certs_.Reload(&error) == CertStore::Outcome::kFailed) return InvalidArgumentError(error);
  if (auto pair = certs_.Current()) cert_expiry_.Set(static_cast<double>(pair->not_after()));

  std::string ctx_error;
  http_ = std::make_unique<httplib::SSLServer>([this, &ctx_error](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(
        &ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) != 1 ||
        SSL_CTX_set_ciphersuites(&ctx, kTls13Suites) != 1) {
      ctx_error = "TLS cipher setup failed: " + OpenSslError();
      return false;
    }
    SSL_CTX_set_cert_cb(&ctx, &CertStore::CertCallback, &certs_);
    connections_tracker_.Attach(&ctx);
    if (!options_.client_ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(&ctx, options_.client_ca_file.c_str(), nullptr) != 1) {
        ctx_error = options_.client_ca_file + ": cannot load client CA: " + OpenSslError();
        return false;
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options_.client_ca_file.c_str());
      if (names == nullptr) {
        ctx_error = options_.client_ca_file + ": no CA certificate found: " + OpenSslError();
        return false;
      }
      SSL_CTX_set_client_CA_list(&ctx, names);
      SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    return true;
  });
  if (!http_->is_valid())
    return InvalidArgumentError(ctx_error.empty() ? "TLS setup failed" : ctx_error);

  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(options_.keep_alive_max_requests);
  http_->set_keep_alive_timeout(options_.idle_timeout.count());
  http_->set_read_timeout(options_.read_timeout);
  http_->set_write_timeout(options_.write_timeout);
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_socket_options([this](int fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    listen_fd_.store(fd);
  });
  const size_t min_threads = options_.min_threads;
  const size_t max_threads = options_.max_connections;
  http_->new_task_queue = [this, min_threads, max_threads] {
    auto* q = new ElasticTaskQueue(min_threads, max_threads);
    queue_ = q;
    return q;
  };
  InstallRoutes();

  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port <= 0) return InvalidArgumentError("cannot bind " + options_.host + ":0");
  } else if (!http_->bind_to_port(options_.host, port)) {
    return InvalidArgumentError("cannot bind " + options_.host + ":" + std::to_string(port) +
                                " (in use, or not an address of this host)");
  }
  // cpp-httplib listens with a backlog of 5; a second listen() raises it.
  if (int fd = listen_fd_.load(); fd >= 0) ::listen(fd, options_.listen_backlog);
  port_ = port;

  reload_thread_ = std::thread([this] { ReloadLoop(); });
  return port;
}

namespace {
thread_local bool t_counted_request = false;
}  // namespace

void Server::InstallRoutes() {
  http_->set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    busy_.fetch_add(1, std::memory_order_relaxed);
    t_counted_request = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Called after the answer is written.
  http_->set_logger([this](const httplib::Request&, const httplib::Response&) {
    if (!t_counted_request) return;
    t_counted_request = false;
    if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(busy_mu_);
      busy_cv_.notify_all();
    }
  });
  auto admission = [this](Endpoint endpoint) {
    return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      HttpAnswer a = service_.Handle(endpoint, req.get_header_value("Content-Type"), req.body);
      res.status = a.status;
      res.set_content(a.body, a.content_type.c_str());
    };
  };
  http_->Post("/validate", admission(Endpoint::kValidate));
  http_->Post("/mutate", admission(Endpoint::kMutate));
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string why;
    bool ready = serving_.load() && !draining_.load();
    if (!serving_.load()) why = "not serving yet";
    if (draining_.load()) why = "shutting down";
    if (ready && ready_ && !ready_(&why)) ready = false;
    res.status = ready ? 200 : 503;
    res.set_content(ready ? std::string("ok\n") : "not ready: " + why + "\n", "text/plain");
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (queue_ != nullptr) {
      auto s = queue_->stats();
      connections_.Set(static_cast<double>(connections_tracker_.open() + s.queued));
      threads_.Set(static_cast<double>(s.threads));
    }
    res.set_content(registry_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message;
        std::string reason;
        switch (res.status) {
          case 413:
            reason = "RequestEntityTooLarge";
            message = "request body exceeds " + std::to_string(options_.max_body_bytes) +
                      " bytes; AdmissionReview bodies above this limit are refused";
            if (req.path == "/validate") service_.CountRejected(Endpoint::kValidate, 413);
            if (req.path == "/mutate") service_.CountRejected(Endpoint::kMutate, 413);
            break;
          case 404:
            reason = "NotFound";
            message = "no route for " + req.method + " " + req.path.substr(0, 200) +
                      "; backstop serves POST /validate, POST /mutate, GET /healthz, GET /readyz, "
                      "GET /metrics";
            break;
          default:
            reason = res.status >= 500 ? "InternalError" : "BadRequest";
            message = "HTTP " + std::to_string(res.status);
        }
        res.set_content(EncodeStatus(res.status, reason, message), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(EncodeStatus(500, "InternalError", "internal error"), "application/json");
      });
}

void Server::Run() {
  serving_.store(true);
  obs::Log(obs::LogLevel::kInfo, "serving",
           {{"address", options_.host + ":" + std::to_string(port_)},
            {"clientCA", options_.client_ca_file.empty() ? "off" : options_.client_ca_file},
            {"keepAliveWait", KeepAliveWaitReplaced() ? "poll" : "cpp-httplib"}});
  http_->listen_after_bind();
  serving_.store(false);
  queue_ = nullptr;
}

void Server::BeginDrain() { draining_.store(true); }

void Server::Stop() {
  draining_.store(true);
  if (!http_) return;
  http_->stop();
  {
    std::unique_lock<std::mutex> lock(busy_mu_);
    busy_cv_.wait(lock, [this] { return busy_.load(std::memory_order_acquire) == 0; });
  }
  size_t closed = connections_tracker_.CloseAllReads();
  if (closed > 0) {
    obs::Log(obs::LogLevel::kInfo, "closing connections",
             {{"connections", std::to_string(closed)}});
  }
}

void Server::CheckCertificate() {
  std::string error;
  switch (certs_.Reload(&error)) {
    case CertStore::Outcome::kUnchanged:
      return;
    case CertStore::Outcome::kReloaded: {
      auto pair = certs_.Current();
      cert_expiry_.Set(static_cast<double>(pair->not_after()));
      reloads_.With({"success"}).Inc();
      obs::Log(obs::LogLevel::kInfo, "serving certificate reloaded",
               {{"subject", pair->subject()}});
      return;
    }
    case CertStore::Outcome::kFailed:
      reloads_.With({"failure"}).Inc();
      obs::Log(obs::LogLevel::kError, "serving certificate reload failed; keeping the previous one",
               {{"error", error}});
      return;
  }
}

void Server::ReloadLoop() {
  std::unique_lock<std::mutex> lock(reload_mu_);
  while (!stop_reload_) {
    if (reload_cv_.wait_for(lock, options_.cert_reload_interval, [this] { return stop_reload_; })) {
      break;
    }
    lock.unlock();
    CheckCertificate();
    lock.lock();
  }
}

}  // namespace backstop::webhook
