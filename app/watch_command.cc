#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/commands.h"
#include "app/config_file.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "policy/config_reader.h"
#include "watcher/event_recorder.h"
#include "watcher/facts_store.h"
#include "watcher/knowledge.h"
#include "watcher/kubeconfig.h"
#include "watcher/leader_election.h"
#include "watcher/watcher.h"

namespace backstop::app {
namespace {

struct WatchFlags {
  std::string kubeconfig;
  bool allow_insecure_kubeconfig = false;
  std::string config;
  std::string log_level = "info";
  std::string log_format = "text";
  bool record_events = false;
  std::string lease_namespace = "backstop-system";
  std::string identity;
};

std::string ObjectKey(const rapidjson::Value& object) {
  std::string ns;
  std::string name;
  auto md = object.FindMember("metadata");
  if (md != object.MemberEnd() && md->value.IsObject()) {
    auto n = md->value.FindMember("name");
    if (n != md->value.MemberEnd() && n->value.IsString()) name = n->value.GetString();
    auto s = md->value.FindMember("namespace");
    if (s != md->value.MemberEnd() && s->value.IsString()) ns = s->value.GetString();
  }
  return ns.empty() ? name : ns + "/" + name;
}

// Logs what the watcher delivers, then hands it to the knowledge builder.
class LoggingSink : public watcher::ObjectSink {
 public:
  explicit LoggingSink(watcher::ObjectSink* next) : next_(next) {}
  void Replace(std::string_view resource,
               const std::vector<const rapidjson::Value*>& items) override {
    obs::Log(obs::LogLevel::kInfo, "list delivered",
             {{"resource", std::string(resource)}, {"items", std::to_string(items.size())}});
    next_->Replace(resource, items);
  }
  void Apply(std::string_view resource, watcher::WatchEventType type,
             const rapidjson::Value& object) override {
    const char* t = type == watcher::WatchEventType::kAdded      ? "ADDED"
                    : type == watcher::WatchEventType::kModified ? "MODIFIED"
                                                                 : "DELETED";
    obs::Log(obs::LogLevel::kDebug, "watch event",
             {{"resource", std::string(resource)}, {"type", t}, {"object", ObjectKey(object)}});
    next_->Apply(resource, type, object);
  }
  void MarkSynced(std::string_view resource) override {
    obs::Log(obs::LogLevel::kInfo, "synced", {{"resource", std::string(resource)}});
    next_->MarkSynced(resource);
  }

 private:
  watcher::ObjectSink* next_;
};

int Watch(const WatchFlags& flags) {
  obs::LogLevel level;
  obs::LogFormat format;
  if (!obs::ParseLogLevel(flags.log_level, &level)) {
    std::cerr << "backstop watch: --log-level must be debug, info, warn, error or off\n";
    return 2;
  }
  if (!obs::ParseLogFormat(flags.log_format, &format)) {
    std::cerr << "backstop watch: --log-format must be text or json\n";
    return 2;
  }
  obs::ConfigureLogging(level, format);

  auto config = LoadConfig(flags.config);
  if (!config) {
    std::cerr << "backstop watch: " << config.error().message << "\n";
    return 2;
  }
  watcher::WatcherOptions options;
  watcher::KnowledgeOptions knowledge_options;
  if (config->document && config->document->IsObject()) {
    auto section = config->document->FindMember("watcher");
    if (section != config->document->MemberEnd()) {
      std::vector<std::string> errors;
      policy::ConfigReader reader(&section->value, "watcher", &errors);
      watcher::ParseWatcherClientOptions(reader, &options);
      watcher::ReadKnowledgeOptions(reader, &knowledge_options);
      if (!errors.empty()) {
        for (const auto& e : errors)
          std::cerr << "backstop watch: " << flags.config << ": " << e << "\n";
        return 2;
      }
    }
  }

  watcher::ClusterConnection conn;
  if (!flags.kubeconfig.empty()) {
    auto loaded = watcher::LoadKubeconfig(flags.kubeconfig, flags.allow_insecure_kubeconfig);
    if (!loaded) {
      std::cerr << "backstop watch: " << loaded.error().message << "\n";
      return 2;
    }
    conn = std::move(*loaded);
  } else {
    auto in_cluster = watcher::InClusterConnection();
    if (!in_cluster) {
      std::cerr << "backstop watch: " << in_cluster.error().message << "\n";
      return 2;
    }
    if (!in_cluster->has_value()) {
      obs::Log(obs::LogLevel::kWarn,
               "watcher off: no --kubeconfig given and not running in a cluster "
               "(KUBERNETES_SERVICE_HOST unset); cluster knowledge stays empty");
      return 1;
    }
    conn = std::move(**in_cluster);
  }

  // Signals are taken with sigwait; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  obs::Registry registry;
  watcher::FactsStore facts;
  watcher::Knowledge knowledge(
      knowledge_options, &facts, [] { return policy::Clock::now(); }, &registry);
  // Optional: a Kubernetes Event per classified pod, written by the lease holder only.
  std::unique_ptr<watcher::KubeClient> lease_client;
  std::unique_ptr<watcher::KubeClient> event_client;
  std::unique_ptr<watcher::LeaderElector> elector;
  std::unique_ptr<watcher::EventRecorder> events;
  if (flags.record_events) {
    std::string identity = flags.identity;
    if (identity.empty()) {
      const char* pod = std::getenv("POD_NAME");
      const char* host = std::getenv("HOSTNAME");
      identity = pod != nullptr ? pod : host != nullptr ? host : "backstop";
    }
    auto token = std::make_shared<watcher::TokenSource>(conn.token, conn.token_file);
    lease_client = std::make_unique<watcher::KubeClient>(conn, token);
    event_client = std::make_unique<watcher::KubeClient>(conn, token);
    watcher::LeaderElectionOptions lo;
    lo.lease_namespace = flags.lease_namespace;
    lo.identity = identity;
    elector = std::make_unique<watcher::LeaderElector>(lo, lease_client.get());
    watcher::EventRecorderOptions eo;
    eo.instance = identity;
    watcher::LeaderElector* e = elector.get();
    events = std::make_unique<watcher::EventRecorder>(eo, event_client.get(),
                                                      [e] { return e->is_leader(); });
  }
  watcher::EventRecorder* recorder = events.get();
  knowledge.SetOnClassified([recorder](std::string_view pod, const watcher::Finding& f) {
    if (recorder != nullptr) {
      const size_t slash = pod.find('/');
      if (slash != std::string_view::npos) {
        recorder->Record({std::string(pod.substr(0, slash)), std::string(pod.substr(slash + 1)), "",
                          f.reason, f.message});
      }
    }
    obs::Log(obs::LogLevel::kInfo, "pod classified",
             {{"pod", std::string(pod)},
              {"reason", f.reason},
              {"terminal", f.terminal ? "true" : "false"},
              {"container", f.container},
              {"image", f.image},
              {"message", f.message}});
  });
  LoggingSink sink(&knowledge);
  if (elector) {
    elector->Start();
    events->Start();
  }
  watcher::Watcher w(conn, options, &sink, &registry);
  auto started = w.Start();
  if (!started) {
    std::cerr << "backstop watch: " << started.error().message << "\n";
    return 2;
  }

  // Publishes knowledge snapshots once a second until a signal arrives.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread publisher([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      lock.unlock();
      knowledge.Publish(policy::Clock::now());
      lock.lock();
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  obs::Log(obs::LogLevel::kInfo, "signal received; stopping",
           {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
  }
  cv.notify_all();
  publisher.join();
  w.Stop();
  if (elector) {
    events->Stop();
    elector->Stop();
  }
  obs::Log(obs::LogLevel::kInfo, "watcher stopped",
           {{"pods", std::to_string(knowledge.PodCount())},
            {"nodes", std::to_string(knowledge.NodeCount())}});
  return 0;
}

}  // namespace

void AddWatchCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<WatchFlags>();
  auto* cmd = app.add_subcommand(
      "watch", "List and watch nodes and pods and log what the watcher learns (until SIGTERM)");
  cmd->add_option("--kubeconfig", flags->kubeconfig,
                  "kubeconfig file (current context); default: in-cluster service account");
  cmd->add_flag("--allow-insecure-kubeconfig", flags->allow_insecure_kubeconfig,
                "accept a kubeconfig cluster with insecure-skip-tls-verify: true");
  cmd->add_option("--config", flags->config, "configuration file (YAML or JSON), section watcher");
  cmd->add_option("--log-level", flags->log_level, "debug|info|warn|error|off")
      ->capture_default_str();
  cmd->add_option("--log-format", flags->log_format, "text|json")->capture_default_str();
  cmd->add_flag("--record-events", flags->record_events,
                "write a Kubernetes Event per classified pod (leader-elected on a Lease)");
  cmd->add_option("--lease-namespace", flags->lease_namespace,
                  "namespace of the Lease used with --record-events")
      ->capture_default_str();
  cmd->add_option("--identity", flags->identity,
                  "leader-election identity (default: $POD_NAME, then $HOSTNAME)");
  cmd->callback([flags, exit_code] { *exit_code = Watch(*flags); });
}

}  // namespace backstop::app
