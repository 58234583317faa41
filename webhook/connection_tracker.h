#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace backstop::webhook {

// Knows every live TLS connection's socket so Stop() can end idle keep-alive connections:
// cpp-httplib notices a stopped server only when an idle connection's keep-alive wait
// ends, which is the whole idle timeout. A connection registers at its first handshake
// and leaves when OpenSSL frees its SSL object, which happens before its socket is
// closed, so a registered descriptor always still belongs to its connection.
class ConnectionTracker {
 public:
  // Hooks the tracker into a server SSL_CTX (info callback + ex_data). The tracker must
  // outlive the context.
  void Attach(SSL_CTX* ctx);

  // Half-closes (SHUT_RD) every live connection: an idle one sees EOF and closes; a busy
  // one still writes its answer, then closes. Returns how many were closed.
  size_t CloseAllReads();
  size_t open() const;

 private:
  static void InfoCallback(const SSL* ssl, int where, int ret);
  static void FreeCallback(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl,
                           void* argp);
  void Add(const SSL* ssl, int fd);
  void Remove(const SSL* ssl);

  mutable std::mutex mu_;  // guards fds_; held across shutdown() so fds cannot be reused
  std::unordered_map<const SSL*, int> fds_;
};

}  // namespace backstop::webhook
