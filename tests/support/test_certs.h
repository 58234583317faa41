#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace backstop::testing {

enum class KeyType { kEcdsaP256, kRsa2048 };

// PEM material of one certificate and its key.
struct PemPair {
  std::string cert_pem;
  std::string key_pem;
};

// A throwaway certificate authority made in the test process (OpenSSL API, no files
// needed). Issue() signs leaf certificates for servers or clients.
class TestCa {
 public:
  explicit TestCa(KeyType type = KeyType::kEcdsaP256,
                  const std::string& common_name = "backstop test CA");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return ca_.cert_pem; }
  // A leaf certificate. `dns_names` and `ips` become subjectAltNames; `client` sets the
  // clientAuth extended key usage instead of serverAuth.
  PemPair Issue(const std::string& common_name, const std::vector<std::string>& dns_names,
                const std::vector<std::string>& ips, KeyType type = KeyType::kEcdsaP256,
                bool client = false) const;

 private:
  PemPair ca_;
  void* key_ = nullptr;   // EVP_PKEY*
  void* cert_ = nullptr;  // X509*
};

// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/name (atomically: temp file + rename) and returns the path.
  std::filesystem::path Write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace backstop::testing
