#include "watcher/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace backstop::watcher {
namespace {

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgumentError("cannot read " + path);
  return ss.str();
}

std::string ResolvePath(const std::string& p, const std::string& base_dir) {
  std::filesystem::path path(p);
  if (path.is_absolute() || base_dir.empty()) return p;
  return (std::filesystem::path(base_dir) / path).string();
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string Scalar(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return {};
  YAML::Node v = map[key];
  if (!v || !v.IsScalar()) return {};
  return v.Scalar();
}

// Finds the entry named `name` in a kubeconfig list ("clusters", "users", "contexts")
// and returns its `field` mapping.
std::optional<YAML::Node> Named(const YAML::Node& root, const char* list, const std::string& name,
                                const char* field) {
  YAML::Node seq = root[list];
  if (!seq || !seq.IsSequence()) return std::nullopt;
  for (const auto& entry : seq) {
    if (entry.IsMap() && Scalar(entry, "name") == name) {
      YAML::Node f = entry[field];
      if (f && f.IsMap()) return f;
      return YAML::Node(YAML::NodeType::Map);
    }
  }
  return std::nullopt;
}

// Reads "<key>-data" (base64) or "<key>" (a file path) into *out; leaves it alone when
// neither is given.
Status DataOrFile(const YAML::Node& map, const std::string& key, const std::string& base_dir,
                  std::string* out) {
  std::string data = Scalar(map, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = DecodeBase64(data);
    if (!decoded) return decoded.status().WithContext(key + "-data");
    *out = std::move(*decoded);
    return OkStatus();
  }
  std::string file = Scalar(map, key.c_str());
  if (!file.empty()) {
    auto text = ReadWholeFile(ResolvePath(file, base_dir));
    if (!text) return text.status().WithContext(key);
    *out = std::move(*text);
    return OkStatus();
  }
  return OkStatus();  // neither given
}

}  // namespace

StatusOr<std::string> DecodeBase64(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  int pad = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      ++pad;
      continue;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return InvalidArgumentError("invalid base64");
    }
    if (pad > 0) return InvalidArgumentError("invalid base64 (data after padding)");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (pad > 2 || bits >= 6) return InvalidArgumentError("invalid base64 (truncated)");
  return out;
}

Status ParseServerUrl(std::string_view url, ClusterConnection* out) {
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    out->scheme = "https";
    rest.remove_prefix(8);
    out->port = 443;
  } else if (rest.rfind("http://", 0) == 0) {
    out->scheme = "http";
    rest.remove_prefix(7);
    out->port = 80;
  } else {
    return InvalidArgumentError("server URL must start with https:// (got \"" + std::string(url) +
                                "\")");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out->base_path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!out->base_path.empty() && out->base_path.back() == '/') out->base_path.pop_back();
  std::string_view port_part;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return InvalidArgumentError("bad IPv6 address in server URL");
    out->host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("bad server URL");
      port_part = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out->host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_part = authority.substr(colon + 1);
  }
  if (out->host.empty()) return InvalidArgumentError("server URL has no host");
  if (!port_part.empty()) {
    int port = 0;
    for (char c : port_part) {
      if (c < '0' || c > '9' || port > 65535) return InvalidArgumentError("bad port in server URL");
      port = port * 10 + (c - '0');
    }
    if (port <= 0 || port > 65535) return InvalidArgumentError("bad port in server URL");
    out->port = port;
  }
  if (out->scheme == "http" && !IsLoopback(out->host)) {
    return InvalidArgumentError(
        "plain http:// is accepted only for a loopback server (kubectl proxy)");
  }
  return OkStatus();
}

StatusOr<ClusterConnection> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                            const std::string& source, bool allow_insecure) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap())
    return InvalidArgumentError(source + ": not a kubeconfig (expected a mapping)");
  try {
    const std::string context_name = Scalar(root, "current-context");
    if (context_name.empty()) return InvalidArgumentError(source + ": no current-context");
    auto context_entry = Named(root, "contexts", context_name, "context");
    if (!context_entry)
      return InvalidArgumentError(source + ": context \"" + context_name + "\" not found");
    const YAML::Node context = *context_entry;
    const std::string cluster_name = Scalar(context, "cluster");
    const std::string user_name = Scalar(context, "user");
    auto cluster_entry = Named(root, "clusters", cluster_name, "cluster");
    if (!cluster_entry)
      return InvalidArgumentError(source + ": cluster \"" + cluster_name + "\" not found");

    const YAML::Node cluster = *cluster_entry;
    ClusterConnection conn;
    conn.description = "kubeconfig " + source + " context " + context_name;
    const std::string server = Scalar(cluster, "server");
    if (server.empty())
      return InvalidArgumentError(source + ": cluster \"" + cluster_name + "\" has no server");
    if (Status url = ParseServerUrl(server, &conn); !url.ok()) return url.WithContext(source);

    Status ca = DataOrFile(cluster, "certificate-authority", base_dir, &conn.ca_pem);
    if (!ca.ok()) return ca.WithContext(source + ": cluster \"" + cluster_name + "\"");
    const std::string insecure = Scalar(cluster, "insecure-skip-tls-verify");
    if (insecure == "true") {
      if (!allow_insecure) {
        return InvalidArgumentError(
            source + ": cluster \"" + cluster_name +
            "\" sets insecure-skip-tls-verify; refusing to talk to an unverified "
            "apiserver (pass --allow-insecure-kubeconfig to accept it)");
      }
      conn.insecure_skip_tls_verify = true;
    }

    if (!user_name.empty()) {
      auto user_entry = Named(root, "users", user_name, "user");
      if (!user_entry)
        return InvalidArgumentError(source + ": user \"" + user_name + "\" not found");
      const YAML::Node user = *user_entry;
      const std::string user_context = source + ": user \"" + user_name + "\"";
      const std::string who = user_context + ": ";
      if (user["exec"] || user["auth-provider"]) {
        return InvalidArgumentError(
            who +
            "exec and auth-provider credential plugins are not supported; use a "
            "token, tokenFile or client certificate");
      }
      if (!Scalar(user, "username").empty() || !Scalar(user, "password").empty()) {
        return InvalidArgumentError(who + "basic authentication is not supported");
      }
      Status cert = DataOrFile(user, "client-certificate", base_dir, &conn.client_cert_pem);
      if (!cert.ok()) return cert.WithContext(user_context);
      Status key = DataOrFile(user, "client-key", base_dir, &conn.client_key_pem);
      if (!key.ok()) return key.WithContext(user_context);
      if (conn.client_cert_pem.empty() != conn.client_key_pem.empty()) {
        return InvalidArgumentError(who +
                                    "client-certificate and client-key must be given together");
      }
      conn.token = Scalar(user, "token");
      const std::string token_file = Scalar(user, "tokenFile");
      if (!token_file.empty()) conn.token_file = ResolvePath(token_file, base_dir);
    }
    if (!conn.token.empty() || !conn.token_file.empty()) {
      if (conn.scheme != "https") {
        return InvalidArgumentError(source + ": refusing to send a bearer token over plain http");
      }
    }
    return conn;
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source + ": malformed kubeconfig: " + e.what());
  }
}

StatusOr<ClusterConnection> LoadKubeconfig(const std::string& path, bool allow_insecure) {
  auto text = ReadWholeFile(path);
  if (!text) return text.status().WithContext("kubeconfig");
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseKubeconfig(*text, base_dir, path, allow_insecure);
}

StatusOr<std::optional<ClusterConnection>> InClusterConnection(const InClusterPaths& paths,
                                                               const EnvLookup& getenv_fn) {
  const char* host = getenv_fn("KUBERNETES_SERVICE_HOST");
  if (host == nullptr || *host == '\0') return std::optional<ClusterConnection>();
  const char* port = getenv_fn("KUBERNETES_SERVICE_PORT");
  ClusterConnection conn;
  std::string h = host;
  const bool ipv6 = h.find(':') != std::string::npos;
  std::string url = "https://" + (ipv6 ? "[" + h + "]" : h);
  if (port != nullptr && *port != '\0') url += ":" + std::string(port);
  if (Status parsed = ParseServerUrl(url, &conn); !parsed.ok()) {
    return parsed.WithContext("in-cluster");
  }
  auto ca = ReadWholeFile(paths.ca_file);
  if (!ca) return ca.status().WithContext("in-cluster: service-account CA");
  conn.ca_pem = std::move(*ca);
  // Checked now so a missing mount fails at start; re-read on every refresh later.
  auto token = ReadWholeFile(paths.token_file);
  if (!token) return token.status().WithContext("in-cluster: service-account token");
  conn.token_file = paths.token_file;
  conn.description = "in-cluster " + url;
  return std::optional<ClusterConnection>(std::move(conn));
}

}  // namespace backstop::watcher
