// End to end: `backstop serve` watches a fake apiserver serving real node documents and a
// pod in ErrImageNeverPull, syncs, and then answers AdmissionReviews over HTTPS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "app/documents.h"
#include "base/json_util.h"
#include "tests/support/base64.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/fixtures.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_client.h"

namespace backstop::app {
namespace {

using namespace backstop::testing;  // NOLINT
using nlohmann::json;

constexpr const char* kNodes = "nodes/miq-openshift_nodelist_9nodes_images.json";

json FixtureJson(const std::string& relative) {
  return json::parse(ToJson(*LoadFixtureJson(relative)));
}

// A pod in ErrImageNeverPull, built from a real ImagePullBackOff pod by setting kubelet's
// exact reason and message for a never-pull image that the node lacks.
json NeverPullPod(const std::string& node) {
  json pod = FixtureJson("pods/gitops-engine_pod-imagepullbackoff.yaml");
  pod["metadata"]["namespace"] = "agents";
  pod["metadata"]["name"] = "task-1-abcde";
  pod["spec"]["nodeName"] = node;
  pod["spec"]["containers"][0]["image"] = "optio-node:latest";
  pod["spec"]["containers"][0]["imagePullPolicy"] = "Never";
  auto& status = pod["status"]["containerStatuses"][0];
  status["image"] = "optio-node:latest";
  status["state"]["waiting"]["reason"] = "ErrImageNeverPull";
  status["state"]["waiting"]["message"] =
      "Container image \"optio-node:latest\" is not present with pull policy of Never";
  return pod;
}

std::string PodReview(const std::string& uid, const std::string& image, const std::string& policy) {
  json review = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", uid},
        {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
        {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
        {"namespace", "agents"},
        {"operation", "CREATE"},
        {"userInfo", {{"username", "system:serviceaccount:agents:optio"}}},
        {"object",
         {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "task-2-" + uid}, {"namespace", "agents"}}},
          {"spec",
           {{"containers",
             {{{"name", "agent"}, {"image", image}, {"imagePullPolicy", policy}}}}}}}}}}};
  return review.dump();
}

class PodAdmissionE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FixturesAvailable()) GTEST_SKIP() << "fixtures not found at " << FixturesDir();
    nodes_ = FixtureJson(kNodes);
    node_ = nodes_["items"][0]["metadata"]["name"].get<std::string>();
    present_image_ = nodes_["items"][1]["status"]["images"][0]["names"][1].get<std::string>();
    json pods = {{"apiVersion", "v1"},
                 {"kind", "PodList"},
                 {"metadata", {{"resourceVersion", "2000"}}},
                 {"items", json::array({NeverPullPod(node_)})}};
    api_.SetList("/api/v1/nodes", {200, nodes_.dump()});
    api_.SetList("/api/v1/pods", {200, pods.dump()});

    std::string kubeconfig =
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
        "    server: " +
        api_.url() + "\n    certificate-authority-data: " + EncodeBase64(api_.ca_pem()) +
        "\nusers:\n- name: u\n  user:\n    token: e2e-token\ncontexts:\n"
        "- name: c\n  context:\n    cluster: fake\n    user: u\n"
        "current-context: c\n";
    kubeconfig_ = dir_.Write("kubeconfig", kubeconfig).string();
    auto leaf = ca_.Issue("backstop.test", {"localhost"}, {"127.0.0.1"});
    cert_ = dir_.Write("tls.crt", leaf.cert_pem).string();
    key_ = dir_.Write("tls.key", leaf.key_pem).string();
    port_ = FreeLoopbackPort();
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BACKSTOP_BINARY, "serve", "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--tls-cert", cert_,
                                 "--tls-key", key_, "--kubeconfig", kubeconfig_, "--shutdown-delay",
                                 "0"},
        (dir_.path() / "serve.log").string());
  }

  std::string Send(const std::string& request) {
    TlsConnection c;
    TlsConnection::Options o;
    o.ca_pem = ca_.cert_pem();
    o.timeout = std::chrono::milliseconds(5000);
    if (!c.Connect(port_, o)) return "";
    c.Write(request);
    return c.ReadResponse();
  }

  bool WaitReady() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (StatusOf(Send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")) == 200) return true;
      std::this_thread::yield();
    }
    return false;
  }

  json Validate(const std::string& uid, const std::string& image, const std::string& policy) {
    std::string res = Send(HttpPost("/validate?timeout=10s", PodReview(uid, image, policy)));
    EXPECT_EQ(StatusOf(res), 200) << res;
    json j = json::parse(BodyOf(res), nullptr, false);
    EXPECT_EQ(j["response"]["uid"], uid);
    return j["response"];
  }

  std::string Log() {
    std::ifstream in(dir_.path() / "serve.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  FakeApiServer api_;
  TestCa ca_;
  TempDir dir_;
  json nodes_;
  std::string node_;
  std::string present_image_;
  std::string kubeconfig_;
  std::string cert_;
  std::string key_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

TEST_F(PodAdmissionE2E, DeniesNeverPullImageTheClusterLacks) {
  ASSERT_TRUE(WaitReady()) << Log();
  // The watcher listed both resources with the kubeconfig's token.
  auto lists = api_.Requests("/api/v1/pods", false);
  ASSERT_FALSE(lists.empty());
  EXPECT_EQ(lists[0].authorization, "Bearer e2e-token");

  // Readiness means synced, and the snapshot is published within a second of it: wait
  // for the observable decision rather than a fixed time.
  json denied;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int n = 0;
  do {
    denied = Validate("deny-" + std::to_string(n++), "optio-node:latest", "Never");
  } while (denied["allowed"] == true && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(denied["allowed"], false) << denied.dump() << Log();
  const std::string message = denied["status"]["message"].get<std::string>();
  EXPECT_NE(message.find(
                "Container image \"optio-node:latest\" is not present with pull policy of Never"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("ErrImageNeverPull"), std::string::npos) << message;
  EXPECT_NE(message.find(node_), std::string::npos) << message;

  // An image a node reports, with Never: allowed.
  json present = Validate("present", present_image_, "Never");
  EXPECT_EQ(present["allowed"], true) << present.dump();
  // The same missing image with IfNotPresent: no never-pull denial.
  json if_not_present = Validate("ifnotpresent", "optio-node:latest", "IfNotPresent");
  EXPECT_EQ(if_not_present["allowed"], true) << if_not_present.dump();
  // An image nobody has seen fail: allowed (at most a warning).
  json unknown = Validate("unknown", "registry.example/never-seen:1.0", "IfNotPresent");
  EXPECT_EQ(unknown["allowed"], true) << unknown.dump();
  // An image reference that can never resolve: denied as InvalidImageName.
  json invalid = Validate("invalid", "Optio-Node:latest", "IfNotPresent");
  EXPECT_EQ(invalid["allowed"], false) << invalid.dump();
  EXPECT_NE(invalid["status"]["message"].get<std::string>().find("InvalidImageName"),
            std::string::npos);

  child_->Signal(SIGTERM);
  EXPECT_EQ(child_->Wait(std::chrono::seconds(20)), 0) << Log();
}

}  // namespace
}  // namespace backstop::app
