#include "watcher/kube_client.h"

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <condition_variable>
#include <fstream>
#include <sstream>
#include <thread>

namespace backstop::watcher {
namespace {

constexpr size_t kErrorBodyCap = 64 * 1024;

std::string Trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return s.substr(i);
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM bundle in a new store (caller owns it); null on failure.
X509_STORE* StoreFromPem(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  if (!bio) return nullptr;
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return nullptr;
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  if (added == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

X509* CertFromPem(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  return bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
}

EVP_PKEY* KeyFromPem(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  return bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
}

bool Is2xx(int status) { return status >= 200 && status < 300; }

}  // namespace

// ---------------------------------------------------------------- TokenSource

TokenSource::TokenSource(std::string static_token, std::string token_file,
                         std::chrono::seconds refresh, SteadyNow now)
    : static_token_(std::move(static_token)),
      token_file_(std::move(token_file)),
      refresh_(refresh),
      now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

std::string TokenSource::Get() {
  if (token_file_.empty()) return static_token_;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = now_();
  if (stale_ || now - read_at_ >= refresh_) {
    std::ifstream in(token_file_, std::ios::binary);
    std::ostringstream ss;
    if (in) ss << in.rdbuf();
    std::string token = Trim(ss.str());
    if (!token.empty()) {
      cached_ = std::move(token);
      read_at_ = now;
      stale_ = false;
    }
    // On failure the last good token stays; the next call tries the file again.
  }
  return cached_.empty() ? static_token_ : cached_;
}

void TokenSource::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  stale_ = true;
}

// ---------------------------------------------------------------- KubeClient

KubeClient::KubeClient(ClusterConnection conn, std::shared_ptr<TokenSource> token,
                       KubeClientOptions options)
    : conn_(std::move(conn)), token_(std::move(token)), options_(std::move(options)) {
  if (!token_) token_ = std::make_shared<TokenSource>(conn_.token, conn_.token_file);
}

KubeClient::~KubeClient() { Cancel(); }

Status KubeClient::Validate() const {
  if (conn_.host.empty()) return InvalidArgumentError("no apiserver host");
  if (!conn_.ca_pem.empty()) {
    X509_STORE* store = StoreFromPem(conn_.ca_pem);
    if (store == nullptr)
      return InvalidArgumentError("certificate authority: no PEM certificate found");
    X509_STORE_free(store);
  }
  if (!conn_.client_cert_pem.empty()) {
    X509* cert = CertFromPem(conn_.client_cert_pem);
    if (cert == nullptr) return InvalidArgumentError("client certificate: not a PEM certificate");
    X509_free(cert);
    EVP_PKEY* key = KeyFromPem(conn_.client_key_pem);
    if (key == nullptr) return InvalidArgumentError("client key: not a PEM private key");
    EVP_PKEY_free(key);
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<httplib::ClientImpl>> KubeClient::MakeClient(
    std::chrono::seconds read_timeout) const {
  std::unique_ptr<httplib::ClientImpl> client;
  if (conn_.scheme == "https") {
    std::unique_ptr<httplib::SSLClient> ssl;
    if (!conn_.client_cert_pem.empty()) {
      X509* cert = CertFromPem(conn_.client_cert_pem);
      EVP_PKEY* key = KeyFromPem(conn_.client_key_pem);
      if (cert == nullptr || key == nullptr) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return InvalidArgumentError("client certificate or key is not valid PEM");
      }
      // The SSL context takes its own references.
      ssl = std::make_unique<httplib::SSLClient>(conn_.host, conn_.port, cert, key);
      X509_free(cert);
      EVP_PKEY_free(key);
    } else {
      ssl = std::make_unique<httplib::SSLClient>(conn_.host, conn_.port);
    }
    if (!ssl->is_valid())
      return InvalidArgumentError("cannot set up TLS (client certificate and key mismatch?)");
    if (conn_.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else {
      ssl->enable_server_certificate_verification(true);
      if (!conn_.ca_pem.empty()) {
        X509_STORE* store = StoreFromPem(conn_.ca_pem);
        if (store == nullptr)
          return InvalidArgumentError("certificate authority: no PEM certificate found");
        ssl->set_ca_cert_store(store);  // takes ownership
      }
    }
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(conn_.host, conn_.port);
  }
  client->set_connection_timeout(options_.connect_timeout);
  client->set_read_timeout(read_timeout);
  client->set_write_timeout(options_.connect_timeout);
  client->set_keep_alive(false);
  client->set_follow_location(false);
  client->set_tcp_nodelay(true);
  return client;
}

bool KubeClient::Register(httplib::ClientImpl* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  in_flight_.insert(c);
  return true;
}

void KubeClient::Unregister(httplib::ClientImpl* c) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(c);
}

void KubeClient::Cancel() {
  // stop() interrupts a request only once its socket exists, so repeat it until every
  // request in flight has returned (each one ends within the connect timeout at worst).
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      if (in_flight_.empty()) return;
      for (auto* c : in_flight_) c->stop();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool KubeClient::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

namespace {

httplib::Headers MakeHeaders(const std::string& token, const std::string& user_agent) {
  httplib::Headers h{{"Accept", "application/json"}, {"User-Agent", user_agent}};
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return h;
}

}  // namespace

StatusOr<bool> KubeClient::GetChunked(const std::string& path_and_query,
                                      std::chrono::seconds read_timeout,
                                      const std::function<bool(int, std::string_view)>& on_chunk,
                                      HttpResult* out) {
  auto client = MakeClient(read_timeout);
  if (!client) return client.status();
  if (!Register(client->get())) return CancelledError("cancelled");
  bool stopped = false;
  auto res = (*client)->Get(
      conn_.base_path + path_and_query, MakeHeaders(token_->Get(), options_.user_agent),
      [&](const httplib::Response& r) {
        out->status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (on_chunk(out->status, std::string_view(data, len))) return true;
        stopped = true;
        return false;
      });
  Unregister(client->get());
  if (cancelled()) return CancelledError("cancelled");
  if (stopped) return false;  // the caller knows why it stopped
  if (!res) return UnavailableError(httplib::to_string(res.error()));
  out->status = res->status;
  if (out->status == 401) token_->Invalidate();
  return true;
}

StatusOr<HttpResult> KubeClient::Get(const std::string& path_and_query, size_t max_body_bytes) {
  HttpResult out;
  auto whole = GetChunked(
      path_and_query, options_.request_timeout,
      [&](int, std::string_view data) {
        if (out.body.size() + data.size() > max_body_bytes) return false;
        out.body.append(data);
        return true;
      },
      &out);
  if (!whole) return whole.status();
  if (!*whole) {  // stopped above: the body outgrew the cap
    return ResourceExhaustedError("response larger than " + std::to_string(max_body_bytes) +
                                  " bytes");
  }
  return out;
}

StatusOr<HttpResult> KubeClient::Stream(const std::string& path_and_query,
                                        std::chrono::seconds idle_timeout,
                                        const std::function<bool(std::string_view)>& on_data) {
  HttpResult out;
  auto done = GetChunked(
      path_and_query, idle_timeout,
      [&](int status, std::string_view data) {
        if (Is2xx(status)) return on_data(data);
        if (out.body.size() < kErrorBodyCap) {
          out.body.append(data.substr(0, kErrorBodyCap - out.body.size()));
        }
        return true;
      },
      &out);
  // A stream that was accepted and then broke reports the transport error; one the
  // consumer stopped returns what it had.
  if (!done) return done.status();
  return out;
}

StatusOr<HttpResult> KubeClient::Send(const std::string& method, const std::string& path_and_query,
                                      const std::string& json_body, size_t max_body_bytes) {
  auto client = MakeClient(options_.request_timeout);
  if (!client) return client.status();
  if (!Register(client->get())) return CancelledError("cancelled");
  const std::string path = conn_.base_path + path_and_query;
  const auto headers = MakeHeaders(token_->Get(), options_.user_agent);
  const std::string content_type =
      method == "PATCH" ? "application/merge-patch+json" : "application/json";
  httplib::Result res(nullptr, httplib::Error::Unknown);
  if (method == "POST") {
    res = (*client)->Post(path, headers, json_body, content_type);
  } else if (method == "PUT") {
    res = (*client)->Put(path, headers, json_body, content_type);
  } else if (method == "PATCH") {
    res = (*client)->Patch(path, headers, json_body, content_type);
  } else {
    Unregister(client->get());
    return InternalError("unsupported method " + method);
  }
  Unregister(client->get());
  if (cancelled()) return CancelledError("cancelled");
  if (!res) return UnavailableError(httplib::to_string(res.error()));
  HttpResult out;
  out.status = res->status;
  out.body = res->body.substr(0, max_body_bytes);
  if (out.status == 401) token_->Invalidate();
  return out;
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace backstop::watcher
