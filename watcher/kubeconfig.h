#pragma once

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backstop::watcher {

// Where and how to reach the apiserver, resolved from a kubeconfig or the pod's
// service account. PEM material is held in memory; file references are read when the
// connection is resolved (the token file is re-read later, see TokenSource).
struct ClusterConnection {
  std::string scheme = "https";  // "https" ("http" only for loopback hosts, e.g. kubectl proxy)
  std::string host;              // name or IP (IPv6 without brackets)
  int port = 443;
  std::string base_path;                  // path prefix of the server URL ("" or "/k8s/clusters/x")
  std::string ca_pem;                     // empty: the system trust store
  bool insecure_skip_tls_verify = false;  // only when explicitly allowed
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;        // static bearer token
  std::string token_file;   // bearer token file, re-read as it rotates (wins over `token`)
  std::string description;  // for logs: "in-cluster 10.96.0.1:443", "kubeconfig F context C"
};

// Parses "https://host:port/prefix" into scheme/host/port/base_path.
Status ParseServerUrl(std::string_view url, ClusterConnection* out);

// Reads the current context of a kubeconfig file. Supported: server,
// certificate-authority(-data), insecure-skip-tls-verify (refused unless
// `allow_insecure`), client-certificate(-data), client-key(-data), token, tokenFile.
// exec and auth-provider plugins are reported as unsupported. Relative file paths are
// resolved against the kubeconfig's directory, as kubectl does.
StatusOr<ClusterConnection> LoadKubeconfig(const std::string& path, bool allow_insecure);
// The same on text already read; `base_dir` resolves relative paths.
StatusOr<ClusterConnection> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                            const std::string& source, bool allow_insecure);

// The service-account mount of a pod; injectable for tests.
struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
};

using EnvLookup = std::function<const char*(const char*)>;

// In-cluster configuration from KUBERNETES_SERVICE_HOST/PORT and the service-account
// mount. std::nullopt when not running in a cluster (no KUBERNETES_SERVICE_HOST); an
// Error when it looks like a cluster but the mount is unusable.
StatusOr<std::optional<ClusterConnection>> InClusterConnection(
    const InClusterPaths& paths = {}, const EnvLookup& getenv_fn = [](const char* n) {
      return static_cast<const char*>(std::getenv(n));
    });

// Decodes standard base64 (whitespace ignored); Error on invalid input.
StatusOr<std::string> DecodeBase64(std::string_view in);

}  // namespace backstop::watcher
