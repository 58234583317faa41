#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"
#include "watcher/kubeconfig.h"

namespace httplib {
class ClientImpl;
}

namespace backstop::watcher {

using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

// The bearer token of a connection. A token file (service-account projected token) is
// re-read when the copy in memory is older than `refresh` or after Invalidate() (a 401),
// so rotated tokens are picked up. Thread-safe.
class TokenSource {
 public:
  TokenSource(std::string static_token, std::string token_file,
              std::chrono::seconds refresh = std::chrono::seconds(60), SteadyNow now = {});

  // The token to send ("" for none). Keeps the last good token when a re-read fails.
  std::string Get();
  // Forces a re-read on the next Get().
  void Invalidate();

 private:
  const std::string static_token_;
  const std::string token_file_;
  const std::chrono::seconds refresh_;
  SteadyNow now_;
  std::mutex mu_;  // guards the fields below
  std::string cached_;
  std::chrono::steady_clock::time_point read_at_{};
  bool stale_ = true;
};

struct KubeClientOptions {
  std::chrono::seconds connect_timeout{10};  // TCP + TLS handshake
  std::chrono::seconds request_timeout{60};  // idle read timeout of non-watch requests
  std::string user_agent = "backstop-watcher";
};

struct HttpResult {
  int status = 0;
  std::string body;  // whole body (Get) or the error body of a non-2xx (Stream), capped
};

// A minimal HTTPS client for the Kubernetes API: adds authentication, verifies the
// server, and supports streaming responses. Thread-safe; each request uses its own
// connection, so a watch never blocks a list of another resource.
class KubeClient {
 public:
  KubeClient(ClusterConnection conn, std::shared_ptr<TokenSource> token,
             KubeClientOptions options = {});
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // Checks that the PEM material parses (fail fast at start): InvalidArgument otherwise.
  Status Validate() const;

  // GET `path_and_query` (relative to the server, e.g. "/api/v1/pods?limit=500") and
  // collect the body, failing when it exceeds `max_body_bytes`. A non-OK status is a
  // transport failure: Unavailable (connect, TLS, reset, timeout), Cancelled, or
  // ResourceExhausted (too large); HTTP errors come back as the result's status code. A 401
  // invalidates the cached token.
  StatusOr<HttpResult> Get(const std::string& path_and_query, size_t max_body_bytes);

  // Streaming GET: a 2xx body is handed to `on_data` chunk by chunk as it arrives
  // (returning false closes the stream); a non-2xx body is collected (capped at 64 KiB)
  // into the result. `idle_timeout` bounds the wait for the next byte.
  StatusOr<HttpResult> Stream(const std::string& path_and_query, std::chrono::seconds idle_timeout,
                              const std::function<bool(std::string_view)>& on_data);

  // Sends a request with a JSON body (POST, PUT, PATCH); body of the answer capped.
  StatusOr<HttpResult> Send(const std::string& method, const std::string& path_and_query,
                            const std::string& json_body, size_t max_body_bytes = 1 << 20);

  // Interrupts requests in flight and makes later ones fail at once (shutdown).
  void Cancel();
  bool cancelled() const;

  const ClusterConnection& connection() const { return conn_; }

 private:
  StatusOr<std::unique_ptr<httplib::ClientImpl>> MakeClient(
      std::chrono::seconds read_timeout) const;
  // One GET whose body goes chunk by chunk to `on_chunk(status, data)`; returning false
  // stops the transfer. Result: true when the body was read to its end, false when
  // `on_chunk` stopped it, or the transport error (or "cancelled"). `out->status` is set
  // from the response line before the first chunk.
  StatusOr<bool> GetChunked(const std::string& path_and_query, std::chrono::seconds read_timeout,
                            const std::function<bool(int, std::string_view)>& on_chunk,
                            HttpResult* out);
  bool Register(httplib::ClientImpl* c);
  void Unregister(httplib::ClientImpl* c);

  const ClusterConnection conn_;
  std::shared_ptr<TokenSource> token_;
  const KubeClientOptions options_;
  mutable std::mutex mu_;  // guards in_flight_ and cancelled_
  std::set<httplib::ClientImpl*> in_flight_;
  bool cancelled_ = false;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace backstop::watcher
