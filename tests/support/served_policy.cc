#include "tests/support/served_policy.h"

#include <gtest/gtest.h>

#include "tests/support/tls_client.h"

namespace backstop::testing {

ServedPolicy::ServedPolicy(app::DecisionInputs inputs) : inputs_(std::move(inputs)) {
  auto leaf = ca_.Issue("backstop.test", {"localhost"}, {"127.0.0.1"});
  webhook::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.tls_cert_file = dir_.Write("tls.crt", leaf.cert_pem).string();
  options.tls_key_file = dir_.Write("tls.key", leaf.key_pem).string();
  options.min_threads = 2;
  options.cert_reload_interval = std::chrono::hours(1);
  service_ = std::make_unique<webhook::AdmissionService>(
      [this](webhook::Endpoint endpoint, const policy::AdmissionRequest& request) {
        return app::Decide(endpoint, request, inputs_);
      },
      registry_);
  server_ = std::make_unique<webhook::Server>(options, *service_, registry_);
  auto port = server_->Bind();
  EXPECT_TRUE(port.ok()) << port.status().message();
  port_ = port.ok() ? *port : 0;
  thread_ = std::thread([this] { server_->Run(); });
}

ServedPolicy::~ServedPolicy() {
  server_->Stop();
  thread_.join();
}

nlohmann::json ServedPolicy::Post(const std::string& path, const std::string& body) {
  TlsConnection c;
  TlsConnection::Options o;
  o.ca_pem = ca_.cert_pem();
  EXPECT_TRUE(c.Connect(port_, o)) << c.error();
  EXPECT_TRUE(c.Write(HttpPost(path, body)));
  std::string res = c.ReadResponse();
  EXPECT_EQ(StatusOf(res), 200) << res;
  return nlohmann::json::parse(BodyOf(res), nullptr, false);
}

}  // namespace backstop::testing
