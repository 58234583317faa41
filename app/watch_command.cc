#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/config_file.h"
#include "app/knowledge_runtime.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "watcher/knowledge.h"

namespace backstop::app {
namespace {

struct WatchFlags {
  KnowledgeFlags knowledge;
  std::string config;
  std::string log_level = "info";
  std::string log_format = "text";
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
    std::cerr << "backstop watch: " << config.status().message() << "\n";
    return ExitCodeFor(config.status());
  }
  LogConfigWarnings(*config);
  KnowledgeFlags knowledge_flags = flags.knowledge;
  knowledge_flags.watcher_required = true;
  obs::Registry registry;
  auto runtime = KnowledgeRuntime::Create(
      knowledge_flags, config->watcher, config->knowledge, &registry,
      [](watcher::ObjectSink* next) { return std::make_unique<LoggingSink>(next); });
  if (!runtime) {
    std::cerr << "backstop watch: " << runtime.status().message() << "\n";
    return ExitCodeFor(runtime.status());
  }

  // Signals are taken with sigwait; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (Status started = (*runtime)->Start(); !started.ok()) {
    std::cerr << "backstop watch: " << started.message() << "\n";
    return ExitCodeFor(started);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  obs::Log(obs::LogLevel::kInfo, "signal received; stopping",
           {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*runtime)->Stop();
  watcher::Knowledge* knowledge = (*runtime)->knowledge();
  obs::Log(obs::LogLevel::kInfo, "watcher stopped",
           {{"pods", std::to_string(knowledge->PodCount())},
            {"nodes", std::to_string(knowledge->NodeCount())}});
  return 0;
}

}  // namespace

void AddWatchCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<WatchFlags>();
  auto* cmd = app.add_subcommand(
      "watch", "List and watch nodes and pods and log what the watcher learns (until SIGTERM)");
  AddKnowledgeFlags(cmd, &flags->knowledge, /*with_cluster_state=*/false);
  cmd->add_option("--config", flags->config, "configuration file (YAML or JSON), section watcher");
  cmd->add_option("--log-level", flags->log_level, "debug|info|warn|error|off")
      ->capture_default_str();
  cmd->add_option("--log-format", flags->log_format, "text|json")->capture_default_str();
  cmd->callback([flags, exit_code] { *exit_code = Watch(*flags); });
}

}  // namespace backstop::app
