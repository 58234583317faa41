#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <string>

namespace backstop::testing {

// A raw TLS connection for tests that need byte-level control (partial requests, idle
// connections, certificate checks). Every read has a deadline so a test never hangs.
class TlsConnection {
 public:
  struct Options {
    std::string ca_pem;           // verify the server against this CA (empty: no verify)
    std::string client_cert_pem;  // optional client certificate
    std::string client_key_pem;
    std::string server_name = "localhost";
    std::chrono::milliseconds timeout{20000};
    int min_version = 0;  // e.g. TLS1_2_VERSION; 0: library default
    int max_version = 0;
    std::string tls12_ciphers;  // OpenSSL cipher list for TLS <= 1.2; empty: default
  };

  TlsConnection() = default;
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // TCP connect to 127.0.0.1:port and TLS handshake. False with error() on failure.
  bool Connect(int port, const Options& options);
  bool Write(const std::string& bytes);
  // Reads one HTTP/1.1 response (headers + Content-Length body). Empty on EOF/timeout.
  std::string ReadResponse();
  // True when the peer closes the connection before the deadline.
  bool WaitForClose();
  const std::string& error() const { return error_; }
  // Subject of the certificate the server presented.
  std::string PeerSubject() const;
  std::string Protocol() const;
  std::string Cipher() const;

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
  std::string pending_;
};

// "POST path" with a JSON body, keep-alive.
std::string HttpPost(const std::string& path, const std::string& body,
                     const std::string& content_type = "application/json");
// Status code of an HTTP/1.1 response, or -1.
int StatusOf(const std::string& response);
// Body of an HTTP/1.1 response.
std::string BodyOf(const std::string& response);

}  // namespace backstop::testing
