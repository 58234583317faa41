#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "app/commands.h"
#include "app/config_file.h"
#include "app/decider.h"
#include "app/knowledge_runtime.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "webhook/server.h"

namespace backstop::app {
namespace {

struct ServeFlags {
  std::string listen = "0.0.0.0:8443";
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  std::string config;
  size_t threads = 8;
  size_t max_connections = 1024;
  std::string log_level = "info";
  std::string log_format = "text";
  double shutdown_delay_s = 5;  // keep serving after readiness turns false
  double drain_timeout_s = 25;  // then at most this long for in-flight requests
  double cert_reload_interval_s = 10;
  KnowledgeFlags knowledge;
};

// "host:port", ":port" or "[v6]:port".
bool ParseListen(const std::string& s, std::string* host, int* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = s.substr(0, colon);
  std::string p = s.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int n = std::stoi(p);
  if (n > 65535) return false;
  *host = h;
  *port = n;
  return true;
}

int Serve(const ServeFlags& flags) {
  obs::LogLevel level;
  obs::LogFormat format;
  if (!obs::ParseLogLevel(flags.log_level, &level)) {
    std::cerr << "backstop serve: --log-level must be debug, info, warn, error or off\n";
    return 2;
  }
  if (!obs::ParseLogFormat(flags.log_format, &format)) {
    std::cerr << "backstop serve: --log-format must be text or json\n";
    return 2;
  }
  obs::ConfigureLogging(level, format);

  webhook::ServerOptions options;
  if (!ParseListen(flags.listen, &options.host, &options.port)) {
    std::cerr << "backstop serve: --listen \"" << flags.listen
              << "\": expected host:port, e.g. 0.0.0.0:8443\n";
    return 2;
  }
  options.tls_cert_file = flags.tls_cert;
  options.tls_key_file = flags.tls_key;
  options.client_ca_file = flags.client_ca;
  options.min_threads = flags.threads;
  options.max_connections = flags.max_connections;
  options.cert_reload_interval =
      std::chrono::milliseconds(static_cast<int64_t>(flags.cert_reload_interval_s * 1000));

  auto config = LoadConfig(flags.config);
  if (!config) {
    std::cerr << "backstop serve: " << config.status().message() << "\n";
    return ExitCodeFor(config.status());
  }

  // Signals are taken by one thread with sigwait; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);  // internal: wakes the signal thread when serving ends
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  obs::Registry registry;
  registry
      .AddGauge("backstop_build_info", "Always 1; the version label says which build runs.",
                {"version"})
      .With({BACKSTOP_VERSION})
      .Set(1);
  LogConfigWarnings(*config);
  auto knowledge =
      KnowledgeRuntime::Create(flags.knowledge, config->watcher, config->knowledge, &registry);
  if (!knowledge) {
    std::cerr << "backstop serve: " << knowledge.status().message() << "\n";
    return ExitCodeFor(knowledge.status());
  }
  KnowledgeRuntime& cluster = **knowledge;
  DecisionInputs base{config->policy, nullptr, {}, {}};
  webhook::AdmissionService service(
      [&](webhook::Endpoint endpoint, const policy::AdmissionRequest& request) {
        DecisionInputs inputs = base;
        inputs.facts = cluster.Facts();
        inputs.now = policy::Clock::now();
        inputs.facts_fresh_at = cluster.FreshAt(inputs.now);
        return Decide(endpoint, request, inputs);
      },
      registry);
  webhook::Server server(options, service, registry,
                         [&cluster](std::string* why) { return cluster.Ready(why); });
  auto port = server.Bind();
  if (!port) {
    std::cerr << "backstop serve: " << port.status().message() << "\n";
    return ExitCodeFor(port.status());
  }
  if (Status started = cluster.Start(); !started.ok()) {
    std::cerr << "backstop serve: " << started.message() << "\n";
    return ExitCodeFor(started);
  }

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) return;  // woken by our own exit path
    obs::Log(obs::LogLevel::kInfo, "signal received; draining",
             {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
              {"shutdownDelaySeconds", std::to_string(flags.shutdown_delay_s)}});
    server.BeginDrain();
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::duration<double>(flags.shutdown_delay_s),
                  [&] { return stopping; });
      stopping = true;
    }
    server.Stop();
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::duration<double>(flags.drain_timeout_s),
                     [&] { return !stopping; })) {
      obs::Log(obs::LogLevel::kError, "drain timeout; exiting with requests still in flight",
               {{"drainTimeoutSeconds", std::to_string(flags.drain_timeout_s)}});
      std::_Exit(0);
    }
  });

  server.Run();
  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = false;  // tells the signal thread the drain finished
  }
  cv.notify_all();
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  cluster.Stop();
  obs::Log(obs::LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand("serve", "Serve the admission webhook over HTTPS");
  cmd->add_option("--listen", flags->listen, "Address to listen on (host:port)")
      ->envname("BACKSTOP_LISTEN")
      ->capture_default_str();
  cmd->add_option("--tls-cert", flags->tls_cert, "Serving certificate chain (PEM; ECDSA or RSA)")
      ->envname("BACKSTOP_TLS_CERT")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", flags->tls_key, "Private key of the serving certificate (PEM)")
      ->envname("BACKSTOP_TLS_KEY")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--client-ca", flags->client_ca,
                  "Require client certificates signed by this CA (PEM)")
      ->envname("BACKSTOP_CLIENT_CA")
      ->check(CLI::ExistingFile);
  cmd->add_option("--config", flags->config, "Policy configuration file (YAML or JSON)")
      ->envname("BACKSTOP_CONFIG")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", flags->threads, "Worker threads kept warm")
      ->envname("BACKSTOP_THREADS")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-connections", flags->max_connections,
                  "Connections served at once (a thread each, grown on demand)")
      ->envname("BACKSTOP_MAX_CONNECTIONS")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn, error or off")
      ->envname("BACKSTOP_LOG_LEVEL")
      ->capture_default_str();
  cmd->add_option("--log-format", flags->log_format, "text or json")
      ->envname("BACKSTOP_LOG_FORMAT")
      ->capture_default_str();
  cmd->add_option("--shutdown-delay", flags->shutdown_delay_s,
                  "Seconds to keep serving after SIGTERM while readiness reports false")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 300.0));
  cmd->add_option("--drain-timeout", flags->drain_timeout_s,
                  "Seconds in-flight requests get to finish before exit")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 300.0));
  cmd->add_option("--cert-reload-interval", flags->cert_reload_interval_s,
                  "Seconds between checks of the certificate files")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  AddKnowledgeFlags(cmd, &flags->knowledge, /*with_cluster_state=*/true);
  cmd->callback([flags, exit_code] { *exit_code = Serve(*flags); });
}

}  // namespace backstop::app
