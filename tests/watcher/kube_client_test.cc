#include "watcher/kube_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tests/support/base64.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_certs.h"
#include "watcher/kubeconfig.h"

namespace backstop::watcher {
namespace {

using backstop::testing::FakeApiServer;
using backstop::testing::FakeApiServerOptions;
using backstop::testing::KeyType;
using backstop::testing::ReadFixture;
using backstop::testing::TempDir;
using ::testing::HasSubstr;

const char kNodes[] = "/api/v1/nodes";

std::string Kubeconfig(const std::string& server, const std::string& cluster_extra,
                       const std::string& user_body) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
         "contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"
         "- name: test\n  context:\n    cluster: c1\n    user: u1\n    namespace: default\n"
         "clusters:\n- name: c1\n  cluster:\n    server: " +
         server + "\n" + cluster_extra + "users:\n- name: u1\n  user:\n" + user_body;
}

StatusOr<HttpResult> GetNodes(KubeClient& client) { return client.Get(kNodes, 1 << 20); }

TEST(KubeClientTest, BearerTokenAndPinnedCa) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList(kNodes, {200, ReadFixture("nodes/miq-openshift3_nodelist_1node_18images.json")});
  KubeClient client(api.Connection("s3cret"), nullptr);
  ASSERT_TRUE(client.Validate().ok());
  auto res = GetNodes(client);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("\"NodeList\""));
  ASSERT_EQ(api.Requests().size(), 1u);
  EXPECT_EQ(api.Requests()[0].authorization, "Bearer s3cret");
}

TEST(KubeClientTest, UnknownCaIsRefused) {
  FakeApiServer api;
  api.SetList(kNodes, {200, "{}"});
  auto conn = api.Connection("t");
  backstop::testing::TestCa other;
  conn.ca_pem = other.cert_pem();
  KubeClient client(conn, nullptr);
  auto res = GetNodes(client);
  EXPECT_FALSE(res.ok());
  EXPECT_TRUE(api.Requests().empty());
}

TEST(KubeClientTest, BodyCapIsAnError) {
  FakeApiServer api;
  api.SetList(kNodes, {200, std::string(5000, ' ') + "{}"});
  KubeClient client(api.Connection(), nullptr);
  auto res = client.Get(kNodes, 1000);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().message(), HasSubstr("larger than 1000"));
}

TEST(KubeconfigTest, TokenAndCaData) {
  FakeApiServer api;
  api.SetList(kNodes, {200, "{}"});
  auto conn = ParseKubeconfig(
      Kubeconfig(api.url(),
                 "    certificate-authority-data: " + testing::EncodeBase64(api.ca_pem()) + "\n",
                 "    token: kc-token\n"),
      "/nonexistent", "kc", false);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  EXPECT_EQ(conn->host, "127.0.0.1");
  EXPECT_EQ(conn->port, api.port());
  EXPECT_EQ(conn->ca_pem, api.ca_pem());
  KubeClient client(*conn, nullptr);
  auto res = GetNodes(client);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(api.Requests().at(0).authorization, "Bearer kc-token");
}

TEST(KubeconfigTest, ClientCertificateFilesRelativeToTheKubeconfig) {
  FakeApiServerOptions opts;
  opts.require_client_cert = true;
  FakeApiServer api(opts);
  api.SetList(kNodes, {200, "{}"});
  auto leaf = api.client_ca().Issue("system:serviceaccount:backstop-system:backstop", {}, {},
                                    KeyType::kRsa2048, /*client=*/true);
  TempDir dir;
  dir.Write("ca.crt", api.ca_pem());
  dir.Write("client.crt", leaf.cert_pem);
  dir.Write("client.key", leaf.key_pem);
  const auto path = dir.Write(
      "config", Kubeconfig(api.url(), "    certificate-authority: ca.crt\n",
                           "    client-certificate: client.crt\n    client-key: client.key\n"));
  auto conn = LoadKubeconfig(path.string(), false);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  KubeClient client(*conn, nullptr);
  auto res = GetNodes(client);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(api.Requests().at(0).client_cn, "system:serviceaccount:backstop-system:backstop");
  EXPECT_EQ(api.Requests().at(0).authorization, "");

  // Without the client certificate the handshake fails.
  auto no_cert = *conn;
  no_cert.client_cert_pem.clear();
  no_cert.client_key_pem.clear();
  KubeClient anonymous(no_cert, nullptr);
  EXPECT_FALSE(GetNodes(anonymous).ok());
}

TEST(KubeconfigTest, ClientCertificateData) {
  FakeApiServerOptions opts;
  opts.require_client_cert = true;
  FakeApiServer api(opts);
  api.SetList(kNodes, {200, "{}"});
  auto leaf = api.client_ca().Issue("admin", {}, {}, KeyType::kEcdsaP256, true);
  auto conn = ParseKubeconfig(
      Kubeconfig(api.url(),
                 "    certificate-authority-data: " + testing::EncodeBase64(api.ca_pem()) + "\n",
                 "    client-certificate-data: " + testing::EncodeBase64(leaf.cert_pem) +
                     "\n    client-key-data: " + testing::EncodeBase64(leaf.key_pem) + "\n"),
      "", "kc", false);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  KubeClient client(*conn, nullptr);
  auto res = GetNodes(client);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(api.Requests().at(0).client_cn, "admin");
}

TEST(KubeconfigTest, InsecureSkipVerifyIsRefusedUnlessAllowed) {
  FakeApiServer api;
  api.SetList(kNodes, {200, "{}"});
  const std::string text =
      Kubeconfig(api.url(), "    insecure-skip-tls-verify: true\n", "    token: t\n");
  auto refused = ParseKubeconfig(text, "", "kc", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--allow-insecure-kubeconfig"));
  auto allowed = ParseKubeconfig(text, "", "kc", true);
  ASSERT_TRUE(allowed.ok()) << allowed.status().message();
  EXPECT_TRUE(allowed->insecure_skip_tls_verify);
  KubeClient client(*allowed, nullptr);
  auto res = GetNodes(client);  // no CA given, yet it connects
  ASSERT_TRUE(res.ok()) << res.status().message();
}

TEST(KubeconfigTest, ProblemsAreNamed) {
  const std::string ok_cluster = "    certificate-authority-data: eA==\n";
  auto exec = ParseKubeconfig(
      Kubeconfig("https://k:6443", ok_cluster, "    exec:\n      command: aws\n"), "", "kc", false);
  ASSERT_FALSE(exec.ok());
  EXPECT_THAT(exec.status().message(), HasSubstr("not supported"));
  auto no_ctx = ParseKubeconfig("apiVersion: v1\ncurrent-context: x\n", "", "kc", false);
  ASSERT_FALSE(no_ctx.ok());
  EXPECT_THAT(no_ctx.status().message(), HasSubstr("context \"x\" not found"));
  auto missing_file = ParseKubeconfig(
      Kubeconfig("https://k", "    certificate-authority: missing.crt\n", "    token: t\n"),
      "/nonexistent-dir", "kc", false);
  ASSERT_FALSE(missing_file.ok());
  EXPECT_THAT(missing_file.status().message(), HasSubstr("/nonexistent-dir/missing.crt"));
  auto http_token =
      ParseKubeconfig(Kubeconfig("http://127.0.0.1:8001", "", "    token: t\n"), "", "kc", false);
  EXPECT_FALSE(http_token.ok());
  EXPECT_FALSE(ParseKubeconfig(": : :", "", "kc", false).ok());
}

TEST(KubeconfigTest, ServerUrls) {
  ClusterConnection c;
  ASSERT_TRUE(ParseServerUrl("https://10.0.0.1:6443", &c).ok());
  EXPECT_EQ(c.host, "10.0.0.1");
  EXPECT_EQ(c.port, 6443);
  ASSERT_TRUE(ParseServerUrl("https://k8s.example.com/k8s/clusters/c-1/", &c).ok());
  EXPECT_EQ(c.host, "k8s.example.com");
  EXPECT_EQ(c.port, 443);
  EXPECT_EQ(c.base_path, "/k8s/clusters/c-1");
  ASSERT_TRUE(ParseServerUrl("https://[fd00::1]:443", &c).ok());
  EXPECT_EQ(c.host, "fd00::1");
  EXPECT_TRUE(ParseServerUrl("http://127.0.0.1:8001", &c).ok());
  EXPECT_FALSE(ParseServerUrl("http://10.0.0.1", &c).ok());
  EXPECT_FALSE(ParseServerUrl("ftp://x", &c).ok());
  EXPECT_FALSE(ParseServerUrl("https://x:99999", &c).ok());
}

TEST(KubeconfigTest, Base64) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_FALSE(DecodeBase64("a$b=").ok());
  EXPECT_FALSE(DecodeBase64("aGVsbG8=x").ok());
}

TEST(InClusterTest, NotInAClusterIsNotAnError) {
  auto r = InClusterConnection({}, [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(InClusterTest, MissingMountIsAnError) {
  TempDir dir;
  InClusterPaths paths{(dir.path() / "token").string(), (dir.path() / "ca.crt").string()};
  auto r = InClusterConnection(paths, [](const char* n) -> const char* {
    return std::string(n) == "KUBERNETES_SERVICE_HOST" ? "10.96.0.1" : "443";
  });
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("ca.crt"));
}

TEST(InClusterTest, RotatedTokenIsPickedUp) {
  FakeApiServer api;
  api.SetList(kNodes, {200, "{}"});
  TempDir dir;
  dir.Write("ca.crt", api.ca_pem());
  dir.Write("token", "token-1\n");
  InClusterPaths paths{(dir.path() / "token").string(), (dir.path() / "ca.crt").string()};
  const std::string port = std::to_string(api.port());
  auto r = InClusterConnection(paths, [&](const char* n) -> const char* {
    return std::string(n) == "KUBERNETES_SERVICE_HOST" ? "127.0.0.1" : port.c_str();
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->token_file, paths.token_file);

  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  auto token = std::make_shared<TokenSource>("", (*r)->token_file, std::chrono::seconds(60),
                                             [&] { return now; });
  KubeClient client(**r, token);
  ASSERT_TRUE(GetNodes(client).ok());
  dir.Write("token", "token-2\n");  // kubelet rotates the projected token
  now += std::chrono::seconds(30);
  ASSERT_TRUE(GetNodes(client).ok());  // still the cached copy
  now += std::chrono::seconds(31);
  ASSERT_TRUE(GetNodes(client).ok());  // older than a minute: re-read
  // A 401 forces a re-read at once.
  dir.Write("token", "token-3\n");
  api.EnqueueList(kNodes, {401, R"({"kind":"Status","code":401,"reason":"Unauthorized"})"});
  auto unauthorized = GetNodes(client);
  ASSERT_TRUE(unauthorized.ok());
  EXPECT_EQ(unauthorized->status, 401);
  ASSERT_TRUE(GetNodes(client).ok());

  auto reqs = api.Requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].authorization, "Bearer token-1");
  EXPECT_EQ(reqs[1].authorization, "Bearer token-1");
  EXPECT_EQ(reqs[2].authorization, "Bearer token-2");
  EXPECT_EQ(reqs[3].authorization, "Bearer token-2");
  EXPECT_EQ(reqs[4].authorization, "Bearer token-3");
}

TEST(KubeClientTest, CancelInterruptsAnIdleWatch) {
  FakeApiServer api;
  KubeClient client(api.Connection("t"), nullptr);
  std::thread t([&] {
    auto r = client.Stream("/api/v1/pods?watch=1", std::chrono::seconds(300),
                           [](std::string_view) { return true; });
    EXPECT_FALSE(r.ok());
  });
  ASSERT_TRUE(api.WaitForRequests([](const auto& rs) { return !rs.empty(); }));
  client.Cancel();  // returns only once the request is gone
  t.join();
  EXPECT_TRUE(client.cancelled());
  EXPECT_FALSE(GetNodes(client).ok());
}

}  // namespace
}  // namespace backstop::watcher
