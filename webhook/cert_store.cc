#include "webhook/cert_store.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace backstop::webhook {
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no details";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

namespace {

StatusOr<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError(path + ": cannot open: " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

}  // namespace

CertPair::~CertPair() {
  X509_free(leaf_);
  sk_X509_pop_free(chain_, X509_free);
  EVP_PKEY_free(key_);
}

StatusOr<std::shared_ptr<const CertPair>> CertPair::FromPem(const std::string& cert_pem,
                                                            const std::string& key_pem,
                                                            const std::string& cert_name,
                                                            const std::string& key_name) {
  std::shared_ptr<CertPair> pair(new CertPair());
  std::unique_ptr<BIO, BioDeleter> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  pair->leaf_ = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  if (pair->leaf_ == nullptr) {
    return InvalidArgumentError(cert_name + ": no PEM certificate found (" + OpenSslError() + ")");
  }
  pair->chain_ = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(pair->chain_, extra);
  }
  ERR_clear_error();  // the loop ends on an expected "no start line"
  std::unique_ptr<BIO, BioDeleter> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  pair->key_ = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (pair->key_ == nullptr) {
    return InvalidArgumentError(key_name + ": no PEM private key found (" + OpenSslError() + ")");
  }
  if (X509_check_private_key(pair->leaf_, pair->key_) != 1) {
    ERR_clear_error();
    return InvalidArgumentError(key_name + ": private key does not match the certificate in " +
                                cert_name);
  }
  const ASN1_TIME* na = X509_get0_notAfter(pair->leaf_);
  struct tm tm_after {};
  if (ASN1_TIME_to_tm(na, &tm_after) == 1) pair->not_after_ = timegm(&tm_after);
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(pair->leaf_), subject, sizeof subject);
  pair->subject_ = subject;
  return std::shared_ptr<const CertPair>(std::move(pair));
}

bool CertPair::ApplyTo(SSL* ssl) const {
  return SSL_use_certificate(ssl, leaf_) == 1 && SSL_use_PrivateKey(ssl, key_) == 1 &&
         SSL_set1_chain(ssl, chain_) == 1;
}

CertStore::CertStore(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

CertStore::Outcome CertStore::Reload(std::string* error) {
  auto cert = Slurp(cert_file_);
  auto key = Slurp(key_file_);
  std::string seen =
      (cert ? *cert : cert.status().message()) + '\0' + (key ? *key : key.status().message());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (seen == last_seen_) return Outcome::kUnchanged;
    last_seen_ = seen;
  }
  if (!cert) {
    *error = cert.status().message();
    return Outcome::kFailed;
  }
  if (!key) {
    *error = key.status().message();
    return Outcome::kFailed;
  }
  auto pair = CertPair::FromPem(*cert, *key, cert_file_, key_file_);
  if (!pair) {
    *error = pair.status().message();
    return Outcome::kFailed;
  }
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(*pair);
  return Outcome::kReloaded;
}

std::shared_ptr<const CertPair> CertStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

int CertStore::CertCallback(SSL* ssl, void* arg) {
  auto pair = static_cast<CertStore*>(arg)->Current();
  if (!pair) return 0;
  return pair->ApplyTo(ssl) ? 1 : 0;
}

}  // namespace backstop::webhook
