#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace backstop::webhook {

// The oldest queued OpenSSL error as text ("no details" when none); clears the queue.
std::string OpenSslError();

// One loaded certificate chain and its private key. Immutable once built.
class CertPair {
 public:
  ~CertPair();
  CertPair(const CertPair&) = delete;
  CertPair& operator=(const CertPair&) = delete;

  // Parses PEM: the first certificate is the leaf, the rest its chain. Checks that the
  // key matches the leaf. Errors say which file and what is wrong.
  static StatusOr<std::shared_ptr<const CertPair>> FromPem(const std::string& cert_pem,
                                                           const std::string& key_pem,
                                                           const std::string& cert_name,
                                                           const std::string& key_name);

  // Installs this pair on one connection (during the handshake).
  bool ApplyTo(SSL* ssl) const;

  time_t not_after() const { return not_after_; }
  const std::string& subject() const { return subject_; }

 private:
  CertPair() = default;
  X509* leaf_ = nullptr;
  STACK_OF(X509) * chain_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  time_t not_after_ = 0;
  std::string subject_;
};

// The serving certificate, reloaded from its files when their content changes (Secret
// volumes swap files through symlinks). Handshakes read the current pair through a
// certificate callback, so a reload never touches an SSL_CTX in use and never drops a
// connection. A broken new pair keeps the old one.
class CertStore {
 public:
  CertStore(std::string cert_file, std::string key_file);

  // Loads the pair if the files' content differs from the last attempt: kUnchanged, or
  // kReloaded (new pair installed), or kFailed with *error set (the old pair is kept).
  enum class Outcome { kUnchanged, kReloaded, kFailed };
  Outcome Reload(std::string* error);

  std::shared_ptr<const CertPair> Current() const;

  // For SSL_CTX_set_cert_cb: `arg` is the CertStore.
  static int CertCallback(SSL* ssl, void* arg);

 private:
  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;  // guards current_ and last_seen_
  std::shared_ptr<const CertPair> current_;
  std::string last_seen_;  // cert bytes + key bytes of the last attempt
};

}  // namespace backstop::webhook
