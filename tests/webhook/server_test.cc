#include "webhook/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_client.h"

namespace backstop::webhook {
namespace {

using backstop::testing::BodyOf;
using backstop::testing::HttpPost;
using backstop::testing::KeyType;
using backstop::testing::StatusOf;
using backstop::testing::TempDir;
using backstop::testing::TestCa;
using backstop::testing::TlsConnection;
using nlohmann::json;

constexpr const char* kPodReview = R"({"apiVersion":"%V","kind":"AdmissionReview","request":{
  "uid":"%U","kind":{"group":"","version":"v1","kind":"Pod"},
  "resource":{"group":"","version":"v1","resource":"pods"},"namespace":"agents",
  "operation":"CREATE","userInfo":{"username":"optio"},
  "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"optio-node:latest"}]}}}})";

std::string Review(const std::string& uid, const std::string& version = "admission.k8s.io/v1") {
  std::string s = kPodReview;
  s.replace(s.find("%V"), 2, version);
  s.replace(s.find("%U"), 2, uid);
  return s;
}

// A served webhook on 127.0.0.1:0 with a throwaway CA, run on its own thread.
class ServerHarness {
 public:
  explicit ServerHarness(KeyType key_type = KeyType::kEcdsaP256, bool client_ca = false,
                         size_t min_threads = 2, size_t max_connections = 1024)
      : ca_(key_type) {
    auto leaf = ca_.Issue("backstop.test", {"localhost"}, {"127.0.0.1"}, key_type);
    cert_ = dir_.Write("tls.crt", leaf.cert_pem);
    key_ = dir_.Write("tls.key", leaf.key_pem);
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.tls_cert_file = cert_.string();
    options_.tls_key_file = key_.string();
    options_.min_threads = min_threads;
    options_.max_connections = max_connections;
    options_.read_timeout = std::chrono::seconds(2);
    options_.cert_reload_interval = std::chrono::hours(1);  // tests trigger checks directly
    if (client_ca)
      options_.client_ca_file = dir_.Write("client-ca.crt", client_ca_.cert_pem()).string();
    service_ = std::make_unique<AdmissionService>(
        [this](Endpoint e, const policy::AdmissionRequest& r) { return decide_(e, r); }, registry_);
  }

  ~ServerHarness() { Shutdown(); }

  void Start() {
    server_ = std::make_unique<Server>(options_, *service_, registry_, [this](std::string* why) {
      if (!extra_ready_) *why = "watcher not synced";
      return extra_ready_.load();
    });
    auto port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().message();
    port_ = *port;
    thread_ = std::thread([this] { server_->Run(); });
  }

  void Shutdown() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  TlsConnection::Options ClientOptions() const {
    TlsConnection::Options o;
    o.ca_pem = ca_.cert_pem();
    return o;
  }

  std::unique_ptr<TlsConnection> Connect() {
    auto c = std::make_unique<TlsConnection>();
    EXPECT_TRUE(c->Connect(port_, ClientOptions())) << c->error();
    return c;
  }

  std::string RoundTrip(const std::string& request) {
    auto c = Connect();
    EXPECT_TRUE(c->Write(request));
    return c->ReadResponse();
  }

  std::string Metrics(const TlsConnection::Options* options = nullptr) {
    TlsConnection c;
    EXPECT_TRUE(c.Connect(port_, options != nullptr ? *options : ClientOptions())) << c.error();
    EXPECT_TRUE(c.Write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    return BodyOf(c.ReadResponse());
  }

  TestCa ca_;
  TestCa client_ca_{KeyType::kEcdsaP256, "backstop test client CA"};
  TempDir dir_;
  std::filesystem::path cert_;
  std::filesystem::path key_;
  ServerOptions options_;
  obs::Registry registry_;
  std::function<policy::Decision(Endpoint, const policy::AdmissionRequest&)> decide_ =
      [](Endpoint, const policy::AdmissionRequest&) { return policy::Decision::Allowed(); };
  std::atomic<bool> extra_ready_{true};
  std::unique_ptr<AdmissionService> service_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(Server, AllowedAnswerEchoesUidForV1AndV1beta1) {
  ServerHarness h;
  h.Start();
  for (std::string version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    std::string res = h.RoundTrip(HttpPost("/validate", Review("uid-" + version, version)));
    ASSERT_EQ(StatusOf(res), 200) << res;
    json j = json::parse(BodyOf(res));
    EXPECT_EQ(j["apiVersion"], version);
    EXPECT_EQ(j["response"]["uid"], "uid-" + version);
    EXPECT_EQ(j["response"]["allowed"], true);
  }
}

TEST(Server, RoutesOnPathOnlyIgnoringTimeoutQuery) {
  ServerHarness h;
  std::vector<Endpoint> seen;
  h.decide_ = [&](Endpoint e, const policy::AdmissionRequest&) {
    seen.push_back(e);
    return policy::Decision::Allowed();
  };
  h.Start();
  EXPECT_EQ(StatusOf(h.RoundTrip(HttpPost("/validate?timeout=10s", Review("a")))), 200);
  EXPECT_EQ(StatusOf(h.RoundTrip(HttpPost("/mutate?timeout=5s", Review("b")))), 200);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], Endpoint::kValidate);
  EXPECT_EQ(seen[1], Endpoint::kMutate);
  EXPECT_EQ(StatusOf(h.RoundTrip(HttpPost("/other", Review("c")))), 404);
}

TEST(Server, MutatePatchesAndValidateNever) {
  ServerHarness h;
  h.decide_ = [](Endpoint, const policy::AdmissionRequest&) {
    return policy::Decision::Patched({{"add", "/spec/activeDeadlineSeconds", "1800"}});
  };
  h.Start();
  json m = json::parse(BodyOf(h.RoundTrip(HttpPost("/mutate", Review("m")))));
  EXPECT_EQ(m["response"]["patchType"], "JSONPatch");
  json v = json::parse(BodyOf(h.RoundTrip(HttpPost("/validate", Review("v")))));
  EXPECT_FALSE(v["response"].contains("patch"));
}

TEST(Server, BadInputGets400WithPreciseMessage) {
  ServerHarness h;
  h.Start();
  std::string res = h.RoundTrip(HttpPost("/validate", "{not json"));
  EXPECT_EQ(StatusOf(res), 400);
  json j = json::parse(BodyOf(res));
  EXPECT_EQ(j["kind"], "Status");
  EXPECT_EQ(j["message"], "invalid JSON at byte 1: Missing a name for object member.");

  // With a uid known the answer is AdmissionReview-shaped.
  std::string body = Review("known-uid");
  body.replace(body.find("\"CREATE\""), 8, "\"EXPLODE\"");
  res = h.RoundTrip(HttpPost("/validate", body));
  EXPECT_EQ(StatusOf(res), 400);
  j = json::parse(BodyOf(res));
  EXPECT_EQ(j["response"]["uid"], "known-uid");
  EXPECT_EQ(j["response"]["allowed"], false);
  EXPECT_EQ(j["response"]["status"]["code"], 400);
  EXPECT_NE(j["response"]["status"]["message"].get<std::string>().find("request.operation"),
            std::string::npos);

  res = h.RoundTrip(HttpPost("/validate", Review("x"), "text/plain"));
  EXPECT_EQ(StatusOf(res), 400);
  EXPECT_EQ(json::parse(BodyOf(res))["message"],
            "Content-Type must be application/json, got \"text/plain\"");

  res = h.RoundTrip(HttpPost("/validate", ""));
  EXPECT_EQ(StatusOf(res), 400);
}

TEST(Server, OversizeBodyGets413) {
  ServerHarness h;
  h.Start();
  std::string big(8 * 1024 * 1024, ' ');
  std::string res = h.RoundTrip(HttpPost("/validate", big));
  EXPECT_EQ(StatusOf(res), 413);
  EXPECT_EQ(json::parse(BodyOf(res))["reason"], "RequestEntityTooLarge");
  // A body just under the limit is read and answered (here: 400, it is not JSON).
  h.options_.max_body_bytes = 7 * 1024 * 1024;
  std::string under(7 * 1024 * 1024 - 10, ' ');
  EXPECT_EQ(StatusOf(h.RoundTrip(HttpPost("/validate", under))), 400);
  EXPECT_NE(
      h.Metrics().find("backstop_admission_requests_total{path=\"/validate\",kind=\"unknown\","
                       "operation=\"unknown\",outcome=\"error\"} 2"),
      std::string::npos);
}

TEST(Server, ExceptionInDecisionGives500WithUid) {
  ServerHarness h;
  h.decide_ = [](Endpoint, const policy::AdmissionRequest&) -> policy::Decision {
    throw std::runtime_error("boom");
  };
  h.Start();
  std::string res = h.RoundTrip(HttpPost("/validate", Review("crash-uid")));
  EXPECT_EQ(StatusOf(res), 500);
  json j = json::parse(BodyOf(res));
  EXPECT_EQ(j["response"]["uid"], "crash-uid");
  EXPECT_EQ(j["response"]["allowed"], false);
  EXPECT_EQ(j["response"]["status"]["message"], "internal error: boom");
  // The server is still healthy afterwards.
  EXPECT_EQ(StatusOf(h.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST(Server, HealthReadinessAndDrain) {
  ServerHarness h;
  h.Start();
  auto get = [&](const std::string& path) {
    return h.RoundTrip("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
  };
  EXPECT_EQ(StatusOf(get("/healthz")), 200);
  EXPECT_EQ(StatusOf(get("/readyz")), 200);
  h.extra_ready_ = false;
  std::string not_ready = get("/readyz");
  EXPECT_EQ(StatusOf(not_ready), 503);
  EXPECT_NE(BodyOf(not_ready).find("watcher not synced"), std::string::npos);
  h.extra_ready_ = true;
  h.server_->BeginDrain();
  std::string draining = get("/readyz");
  EXPECT_EQ(StatusOf(draining), 503);
  EXPECT_NE(BodyOf(draining).find("shutting down"), std::string::npos);
  // Still serving admission while draining.
  EXPECT_EQ(StatusOf(h.RoundTrip(HttpPost("/validate", Review("d")))), 200);
}

TEST(Server, MetricsCountRequestsByOutcome) {
  ServerHarness h;
  h.decide_ = [](Endpoint, const policy::AdmissionRequest& r) {
    return r.uid == "deny" ? policy::Decision::Denied("test.rule", "no")
                           : policy::Decision::Allowed();
  };
  h.Start();
  h.RoundTrip(HttpPost("/validate", Review("deny")));
  h.RoundTrip(HttpPost("/validate", Review("ok1")));
  h.RoundTrip(HttpPost("/validate", Review("ok2")));
  std::string m = h.Metrics();
  EXPECT_NE(m.find("backstop_admission_requests_total{path=\"/validate\",kind=\"Pod\","
                   "operation=\"CREATE\",outcome=\"denied\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("backstop_admission_requests_total{path=\"/validate\",kind=\"Pod\","
                   "operation=\"CREATE\",outcome=\"allowed\"} 2"),
            std::string::npos);
  EXPECT_NE(m.find("backstop_policy_decisions_total{rule=\"test.rule\",outcome=\"denied\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("backstop_admission_duration_seconds_bucket{path=\"/validate\",le=\"0.0001\"}"),
            std::string::npos);
  EXPECT_NE(m.find("backstop_admission_duration_seconds_count{path=\"/validate\"} 3"),
            std::string::npos);
  EXPECT_NE(m.find("backstop_admission_in_flight_requests 0"), std::string::npos);
}

TEST(Server, TlsIsModernAndForwardSecret) {
  ServerHarness h;
  h.Start();
  EXPECT_EQ(h.Connect()->Protocol(), "TLSv1.3");

  TlsConnection::Options tls12 = h.ClientOptions();
  tls12.min_version = tls12.max_version = TLS1_2_VERSION;
  TlsConnection c12;
  ASSERT_TRUE(c12.Connect(h.port_, tls12)) << c12.error();
  EXPECT_EQ(c12.Protocol(), "TLSv1.2");
  EXPECT_EQ(c12.Cipher().rfind("ECDHE-", 0), 0u) << c12.Cipher();

  // Static-RSA and CBC suites are not offered even to a client that wants nothing else.
  TlsConnection::Options weak = tls12;
  weak.tls12_ciphers = "AES128-GCM-SHA256:AES128-SHA:ECDHE-ECDSA-AES128-SHA";
  TlsConnection cw;
  EXPECT_FALSE(cw.Connect(h.port_, weak));

  TlsConnection::Options tls11 = h.ClientOptions();
  tls11.min_version = tls11.max_version = TLS1_1_VERSION;
  TlsConnection c11;
  EXPECT_FALSE(c11.Connect(h.port_, tls11));
}

TEST(Server, RsaCertificateServes) {
  ServerHarness h(KeyType::kRsa2048);
  h.Start();
  auto c = h.Connect();
  EXPECT_NE(c->PeerSubject().find("backstop.test"), std::string::npos);
  ASSERT_TRUE(c->Write(HttpPost("/validate", Review("rsa"))));
  EXPECT_EQ(StatusOf(c->ReadResponse()), 200);
}

TEST(Server, CertificateReloadKeepsConnectionsAndBrokenPairKeepsOld) {
  ServerHarness h;
  h.Start();
  auto old_conn = h.Connect();
  ASSERT_TRUE(old_conn->Write(HttpPost("/validate", Review("before"))));
  ASSERT_EQ(StatusOf(old_conn->ReadResponse()), 200);

  // Swap in a pair from a new CA, as a Secret volume update would.
  TestCa next_ca;
  auto next = next_ca.Issue("backstop.rotated", {"localhost"}, {"127.0.0.1"});
  h.dir_.Write("tls.key", next.key_pem);
  h.dir_.Write("tls.crt", next.cert_pem);
  h.server_->CheckCertificate();

  TlsConnection::Options trust_next;
  trust_next.ca_pem = next_ca.cert_pem();
  TlsConnection fresh;
  ASSERT_TRUE(fresh.Connect(h.port_, trust_next)) << fresh.error();
  EXPECT_NE(fresh.PeerSubject().find("backstop.rotated"), std::string::npos);
  // New handshakes no longer present the old certificate.
  TlsConnection stale;
  EXPECT_FALSE(stale.Connect(h.port_, h.ClientOptions()));
  // The connection made before the reload still works.
  ASSERT_TRUE(old_conn->Write(HttpPost("/validate", Review("after"))));
  EXPECT_EQ(StatusOf(old_conn->ReadResponse()), 200);

  // A broken pair (key of another certificate) is refused; the rotated one stays.
  auto other = next_ca.Issue("other", {"localhost"}, {});
  h.dir_.Write("tls.key", other.key_pem);
  h.server_->CheckCertificate();
  TlsConnection still;
  ASSERT_TRUE(still.Connect(h.port_, trust_next)) << still.error();
  EXPECT_NE(still.PeerSubject().find("backstop.rotated"), std::string::npos);
  std::string m = h.Metrics(&trust_next);
  EXPECT_NE(m.find("backstop_tls_certificate_reloads_total{result=\"success\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("backstop_tls_certificate_reloads_total{result=\"failure\"} 1"),
            std::string::npos);
}

TEST(Server, ReloadLoopPicksUpChangedFiles) {
  ServerHarness h;
  h.options_.cert_reload_interval = std::chrono::milliseconds(50);
  h.Start();
  TestCa next_ca;
  auto next = next_ca.Issue("backstop.looped", {"localhost"}, {"127.0.0.1"});
  h.dir_.Write("tls.key", next.key_pem);
  h.dir_.Write("tls.crt", next.cert_pem);
  TlsConnection::Options trust_next;
  trust_next.ca_pem = next_ca.cert_pem();
  // Wait for the observable effect (bounded), not for a fixed time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool rotated = false;
  while (!rotated && std::chrono::steady_clock::now() < deadline) {
    TlsConnection c;
    rotated = c.Connect(h.port_, trust_next);
    if (!rotated) std::this_thread::yield();
  }
  EXPECT_TRUE(rotated);
}

TEST(Server, ClientCertificateRequiredWithClientCa) {
  ServerHarness h(KeyType::kEcdsaP256, /*client_ca=*/true);
  h.Start();
  TlsConnection anonymous;
  bool ok = anonymous.Connect(h.port_, h.ClientOptions()) &&
            anonymous.Write(HttpPost("/validate", Review("anon"))) &&
            !anonymous.ReadResponse().empty();
  EXPECT_FALSE(ok) << "a client without a certificate was served";

  auto apiserver = h.client_ca_.Issue("kube-apiserver", {}, {}, KeyType::kEcdsaP256, true);
  TlsConnection::Options o = h.ClientOptions();
  o.client_cert_pem = apiserver.cert_pem;
  o.client_key_pem = apiserver.key_pem;
  TlsConnection trusted;
  ASSERT_TRUE(trusted.Connect(h.port_, o)) << trusted.error();
  ASSERT_TRUE(trusted.Write(HttpPost("/validate", Review("mtls"))));
  EXPECT_EQ(StatusOf(trusted.ReadResponse()), 200);

  TestCa rogue_ca;
  auto rogue = rogue_ca.Issue("rogue", {}, {}, KeyType::kEcdsaP256, true);
  o.client_cert_pem = rogue.cert_pem;
  o.client_key_pem = rogue.key_pem;
  TlsConnection untrusted;
  ok = untrusted.Connect(h.port_, o) && untrusted.Write(HttpPost("/validate", Review("rogue"))) &&
       !untrusted.ReadResponse().empty();
  EXPECT_FALSE(ok) << "a client with an unknown CA was served";
}

// Hundreds of idle keep-alive connections (the apiserver keeps up to 25 per instance
// for 90 s) must not starve a new connection.
TEST(Server, IdleKeepAliveConnectionsDoNotStarveNewOnes) {
  ServerHarness h(KeyType::kEcdsaP256, false, /*min_threads=*/2, /*max_connections=*/1024);
  h.Start();
  std::vector<std::unique_ptr<TlsConnection>> idle;
  for (int i = 0; i < 300; ++i) {
    auto c = h.Connect();
    ASSERT_TRUE(c->Write(HttpPost("/validate", Review("idle-" + std::to_string(i)))));
    ASSERT_EQ(StatusOf(c->ReadResponse()), 200);
    idle.push_back(std::move(c));
  }
  // All 300 stay open and idle; a new connection is answered at once.
  TlsConnection::Options o = h.ClientOptions();
  o.timeout = std::chrono::milliseconds(5000);
  TlsConnection fresh;
  ASSERT_TRUE(fresh.Connect(h.port_, o)) << fresh.error();
  ASSERT_TRUE(fresh.Write(HttpPost("/validate", Review("fresh"))));
  EXPECT_EQ(StatusOf(fresh.ReadResponse()), 200);
  // And the idle ones are still usable (keep-alive survived).
  ASSERT_TRUE(idle.front()->Write(HttpPost("/validate", Review("reuse"))));
  EXPECT_EQ(StatusOf(idle.front()->ReadResponse()), 200);
  EXPECT_NE(h.Metrics().find("backstop_http_connections 30"), std::string::npos);
}

// A client that sends half a request and stalls is cut off by the read timeout.
TEST(Server, StalledClientIsDisconnected) {
  ServerHarness h;
  h.options_.read_timeout = std::chrono::seconds(1);
  h.Start();
  auto stalled = h.Connect();
  ASSERT_TRUE(stalled->Write("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  // The body never completes: after the read timeout the server gives up on it with 400
  // (the worker is free again) instead of waiting for the missing 99 bytes.
  std::string res = stalled->ReadResponse();
  EXPECT_EQ(StatusOf(res), 400) << stalled->error();
  EXPECT_EQ(StatusOf(h.RoundTrip(HttpPost("/validate", Review("ok")))), 200);
}

// Stop() while a decision is running: the answer still goes out, then Run() returns.
TEST(Server, StopFinishesInFlightRequest) {
  ServerHarness h;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  h.decide_ = [&](Endpoint, const policy::AdmissionRequest&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return policy::Decision::Allowed();
  };
  h.Start();
  auto c = h.Connect();
  ASSERT_TRUE(c->Write(HttpPost("/validate", Review("inflight"))));
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  std::thread stopper([&] { h.Shutdown(); });  // Stop() and wait for Run() to return
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  std::string res = c->ReadResponse();
  stopper.join();
  EXPECT_EQ(StatusOf(res), 200) << c->error();
  EXPECT_EQ(json::parse(BodyOf(res))["response"]["uid"], "inflight");
  // New connections are refused once stopped.
  TlsConnection late;
  EXPECT_FALSE(late.Connect(h.port_, h.ClientOptions()));
}

TEST(Server, BindFailsClearly) {
  ServerHarness h;
  h.options_.tls_key_file = (h.dir_.path() / "missing.key").string();
  Server s(h.options_, *h.service_, h.registry_);
  auto r = s.Bind();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.key: cannot open"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace backstop::webhook
