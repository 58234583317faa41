#include "tests/support/test_certs.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <stdexcept>

namespace backstop::testing {
namespace {

EVP_PKEY* NewKey(KeyType type) {
  EVP_PKEY* key = type == KeyType::kEcdsaP256 ? EVP_EC_gen("P-256")
                                              : EVP_RSA_gen(static_cast<unsigned int>(2048));
  if (key == nullptr) throw std::runtime_error("key generation failed");
  return key;
}

std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key) {
  static std::atomic<long> serial{1000};
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 30);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return cert;
}

}  // namespace

TestCa::TestCa(KeyType type, const std::string& common_name) {
  EVP_PKEY* key = NewKey(type);
  X509* cert = NewCert(key, common_name, nullptr, nullptr);
  AddExt(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(cert, cert, NID_subject_key_identifier, "hash");
  X509_sign(cert, key, EVP_sha256());
  ca_ = {Pem(cert), Pem(key)};
  key_ = key;
  cert_ = cert;
}

TestCa::~TestCa() {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
  X509_free(static_cast<X509*>(cert_));
}

PemPair TestCa::Issue(const std::string& common_name, const std::vector<std::string>& dns_names,
                      const std::vector<std::string>& ips, KeyType type, bool client) const {
  auto* ca_cert = static_cast<X509*>(cert_);
  auto* ca_key = static_cast<EVP_PKEY*>(key_);
  EVP_PKEY* key = NewKey(type);
  X509* cert = NewCert(key, common_name, ca_cert, ca_key);
  AddExt(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert, ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  AddExt(cert, ca_cert, NID_ext_key_usage, client ? "clientAuth" : "serverAuth");
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!san.empty()) AddExt(cert, ca_cert, NID_subject_alt_name, san);
  X509_sign(cert, ca_key, EVP_sha256());
  PemPair out{Pem(cert), Pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "backstop-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::Write(const std::string& name, const std::string& content) const {
  auto target = path_ / name;
  auto tmp = path_ / (name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, target);
  return target;
}

}  // namespace backstop::testing
