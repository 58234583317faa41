// The real binary: command line errors, and SIGTERM drain of `backstop serve`.
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

#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_client.h"

namespace backstop::app {
namespace {

using namespace backstop::testing;  // NOLINT

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Cli, HelpAndVersion) {
  ProcessResult help = RunBackstop({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* sub : {"serve", "review", "classify", "watch", "version"}) {
    EXPECT_TRUE(Contains(help.out, sub)) << sub << "\n" << help.out;
  }
  ProcessResult version = RunBackstop({"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(Contains(version.out, "backstop " BACKSTOP_VERSION));
}

TEST(Cli, UnknownFlagFailsClearly) {
  ProcessResult r = RunBackstop(
      {"serve", "--tls-cert", BACKSTOP_BINARY, "--tls-key", BACKSTOP_BINARY, "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err + r.out, "--no-such-flag")) << r.err;
}

TEST(Cli, ServeNeedsReadableCertificates) {
  ProcessResult r = RunBackstop({"serve"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err + r.out, "--tls-cert is required")) << r.err;
  r = RunBackstop({"serve", "--tls-cert", "/nonexistent/tls.crt", "--tls-key", "/nonexistent/k"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err + r.out, "/nonexistent/tls.crt")) << r.err;
}

class ServeProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    auto leaf = ca_.Issue("backstop.test", {"localhost"}, {"127.0.0.1"});
    cert_ = dir_.Write("tls.crt", leaf.cert_pem).string();
    key_ = dir_.Write("tls.key", leaf.key_pem).string();
  }

  std::string Get(int port, const std::string& path) {
    TlsConnection c;
    TlsConnection::Options o;
    o.ca_pem = ca_.cert_pem();
    o.timeout = std::chrono::milliseconds(5000);
    if (!c.Connect(port, o)) return "";
    c.Write("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    return c.ReadResponse();
  }

  // Polls until `path` answers `status` (bounded): waits for a condition, not a time.
  bool WaitFor(int port, const std::string& path, int status) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (StatusOf(Get(port, path)) == status) return true;
      std::this_thread::yield();
    }
    return false;
  }

  std::string Log() {
    std::ifstream in(dir_.path() / "serve.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  TestCa ca_;
  TempDir dir_;
  std::string cert_;
  std::string key_;
};

TEST_F(ServeProcess, SigtermDrainsAndExitsZero) {
  int port = FreeLoopbackPort();
  ChildProcess child({BACKSTOP_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                      "--tls-cert", cert_, "--tls-key", key_, "--shutdown-delay", "2",
                      "--drain-timeout", "10", "--log-format", "json"},
                     (dir_.path() / "serve.log").string());
  ASSERT_TRUE(WaitFor(port, "/readyz", 200)) << Log();

  // An idle keep-alive connection, as the apiserver keeps them.
  TlsConnection idle;
  TlsConnection::Options o;
  o.ca_pem = ca_.cert_pem();
  ASSERT_TRUE(idle.Connect(port, o));
  ASSERT_TRUE(idle.Write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(StatusOf(idle.ReadResponse()), 200);

  child.Signal(SIGTERM);
  // Readiness turns false while admission is still answered during the delay.
  ASSERT_TRUE(WaitFor(port, "/readyz", 503)) << Log();
  TlsConnection during;
  ASSERT_TRUE(during.Connect(port, o));
  ASSERT_TRUE(during.Write(HttpPost(
      "/validate",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"drain",
      "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1",
      "resource":"pods"},"operation":"CREATE","object":{"kind":"Pod"}}})")));
  EXPECT_EQ(StatusOf(during.ReadResponse()), 200);

  bool timed_out = false;
  EXPECT_EQ(child.Wait(std::chrono::seconds(20), &timed_out), 0) << Log();
  EXPECT_FALSE(timed_out);
  std::string log = Log();
  EXPECT_TRUE(Contains(log, "\"msg\":\"signal received; draining\"")) << log;
  EXPECT_TRUE(Contains(log, "\"msg\":\"stopped\"")) << log;
  // Every log line is one JSON object.
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST_F(ServeProcess, BadConfigFailsAtStartNamingTheKey) {
  auto config = dir_.Write("config.yaml", "jobs: {}\nnoSuchSection:\n  x: 1\n");
  ProcessResult r = RunBackstop({"serve", "--listen", "127.0.0.1:0", "--tls-cert", cert_,
                                 "--tls-key", key_, "--config", config.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "invalid configuration")) << r.err;
  EXPECT_TRUE(Contains(r.err, "noSuchSection: unknown key")) << r.err;
}

TEST_F(ServeProcess, MismatchedKeyFailsAtStart) {
  auto other = ca_.Issue("other", {"localhost"}, {});
  auto wrong_key = dir_.Write("wrong.key", other.key_pem);
  ProcessResult r = RunBackstop(
      {"serve", "--listen", "127.0.0.1:0", "--tls-cert", cert_, "--tls-key", wrong_key.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "private key does not match the certificate")) << r.err;
}

TEST_F(ServeProcess, BadListenAddress) {
  ProcessResult r =
      RunBackstop({"serve", "--listen", "localhost", "--tls-cert", cert_, "--tls-key", key_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "expected host:port")) << r.err;
}

}  // namespace
}  // namespace backstop::app
