#include "app/knowledge_runtime.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "app/commands.h"
#include "app/documents.h"
#include "base/config_reader.h"
#include "obs/log.h"
#include "watcher/cluster_state.h"
#include "watcher/event_recorder.h"
#include "watcher/facts_store.h"
#include "watcher/knowledge.h"
#include "watcher/kube_client.h"
#include "watcher/kubeconfig.h"
#include "watcher/leader_election.h"
#include "watcher/watcher.h"

namespace backstop::app {

void AddKnowledgeFlags(CLI::App* cmd, KnowledgeFlags* flags, bool with_cluster_state) {
  cmd->add_option("--kubeconfig", flags->kubeconfig,
                  "kubeconfig file (current context); default: in-cluster service account, "
                  "else the watcher is off")
      ->envname("KUBECONFIG")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--allow-insecure-kubeconfig", flags->allow_insecure_kubeconfig,
                "Accept a kubeconfig cluster with insecure-skip-tls-verify: true");
  if (with_cluster_state) {
    cmd->add_option("--cluster-state", flags->cluster_state,
                    "Take cluster knowledge from `kubectl get nodes,pods -A -o json` output "
                    "instead of watching")
        ->check(CLI::ExistingFile);
  }
  cmd->add_flag("--record-events", flags->record_events,
                "Write a Kubernetes Event per classified pod (one replica, elected on a Lease)");
  cmd->add_option("--lease-namespace", flags->lease_namespace,
                  "Namespace of the Lease used with --record-events")
      ->envname("POD_NAMESPACE")
      ->capture_default_str();
  cmd->add_option("--identity", flags->identity,
                  "Leader-election identity (default: $POD_NAME, then $HOSTNAME)");
}

StatusOr<std::unique_ptr<KnowledgeRuntime>> KnowledgeRuntime::Create(
    const KnowledgeFlags& flags, const watcher::WatcherOptions& options,
    const watcher::KnowledgeOptions& knowledge_options, obs::Registry* registry, SinkWrapper wrap) {
  std::unique_ptr<KnowledgeRuntime> rt(new KnowledgeRuntime());

  if (!flags.cluster_state.empty()) {
    auto docs = LoadDocuments(flags.cluster_state);
    if (!docs) return Status(docs.status().code(), "--cluster-state " + docs.status().message());
    std::vector<watcher::StateDocument> state;
    for (const auto& d : *docs) state.push_back({d.source, d.index, d.json.get()});
    auto facts = watcher::BuildClusterState(state, knowledge_options, policy::Clock::now());
    if (!facts) return Status(facts.status().code(), "--cluster-state " + facts.status().message());
    rt->mode_ = Mode::kStatic;
    rt->static_facts_ = *facts;
    obs::Log(obs::LogLevel::kInfo, "cluster knowledge from file",
             {{"file", flags.cluster_state}, {"nodes", std::to_string((*facts)->nodes.size())}});
    return rt;
  }

  watcher::ClusterConnection conn;
  if (!flags.kubeconfig.empty()) {
    auto loaded = watcher::LoadKubeconfig(flags.kubeconfig, flags.allow_insecure_kubeconfig);
    if (!loaded) return loaded.status();
    conn = std::move(*loaded);
  } else {
    auto in_cluster = watcher::InClusterConnection();
    if (!in_cluster) return in_cluster.status();
    if (!in_cluster->has_value()) {
      if (flags.watcher_required) {
        return FailedPreconditionError(
            "no --kubeconfig given and not running in a cluster "
            "(KUBERNETES_SERVICE_HOST unset)");
      }
      obs::Log(obs::LogLevel::kWarn,
               "watcher off: no --kubeconfig given and not running in a cluster "
               "(KUBERNETES_SERVICE_HOST unset); cluster knowledge stays empty, so image "
               "decisions treat it as unknown");
      rt->mode_ = Mode::kOff;
      rt->static_facts_ = std::make_shared<const policy::ClusterFacts>();
      return rt;
    }
    conn = std::move(**in_cluster);
  }

  rt->mode_ = Mode::kLive;
  rt->store_ = std::make_unique<watcher::FactsStore>();
  rt->knowledge_ = std::make_unique<watcher::Knowledge>(
      knowledge_options, rt->store_.get(), [] { return policy::Clock::now(); }, registry);
  if (flags.record_events) {
    std::string identity = flags.identity;
    if (identity.empty()) {
      const char* pod = std::getenv("POD_NAME");
      const char* host = std::getenv("HOSTNAME");
      identity = pod != nullptr ? pod : host != nullptr ? host : "backstop";
    }
    auto token = std::make_shared<watcher::TokenSource>(conn.token, conn.token_file);
    rt->lease_client_ = std::make_unique<watcher::KubeClient>(conn, token);
    rt->event_client_ = std::make_unique<watcher::KubeClient>(conn, token);
    watcher::LeaderElectionOptions lo;
    lo.lease_namespace = flags.lease_namespace;
    lo.identity = identity;
    rt->elector_ = std::make_unique<watcher::LeaderElector>(lo, rt->lease_client_.get());
    watcher::EventRecorderOptions eo;
    eo.instance = identity;
    watcher::LeaderElector* elector = rt->elector_.get();
    rt->events_ = std::make_unique<watcher::EventRecorder>(
        eo, rt->event_client_.get(), [elector] { return elector->is_leader(); });
  }
  watcher::EventRecorder* recorder = rt->events_.get();
  rt->knowledge_->SetOnClassified([recorder](std::string_view pod, const watcher::Finding& f) {
    const size_t slash = pod.find('/');
    if (recorder != nullptr && slash != std::string_view::npos) {
      recorder->Record({std::string(pod.substr(0, slash)), std::string(pod.substr(slash + 1)), "",
                        f.reason, f.message});
    }
    obs::Log(obs::LogLevel::kInfo, "pod classified",
             {{"pod", std::string(pod)},
              {"reason", f.reason},
              {"terminal", f.terminal ? "true" : "false"},
              {"container", f.container},
              {"image", f.image},
              {"message", f.message}});
  });
  watcher::ObjectSink* sink = rt->knowledge_.get();
  if (wrap) {
    rt->sink_ = wrap(sink);
    sink = rt->sink_.get();
  }
  rt->watcher_ = std::make_unique<watcher::Watcher>(conn, options, sink, registry);
  obs::Log(obs::LogLevel::kInfo, "watcher configured", {{"cluster", conn.description}});
  return rt;
}

KnowledgeRuntime::~KnowledgeRuntime() { Stop(); }

Status KnowledgeRuntime::Start() {
  if (mode_ != Mode::kLive) return OkStatus();
  if (elector_) {
    elector_->Start();
    events_->Start();
  }
  if (Status started = watcher_->Start(); !started.ok()) return started;
  publisher_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
      lock.unlock();
      knowledge_->Publish(policy::Clock::now());
      lock.lock();
    }
  });
  return OkStatus();
}

void KnowledgeRuntime::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  if (watcher_) watcher_->Stop();
  if (elector_) {
    events_->Stop();
    elector_->Stop();
  }
}

policy::ClusterFactsPtr KnowledgeRuntime::Facts() const {
  return mode_ == Mode::kLive ? store_->Current() : static_facts_;
}

policy::TimePoint KnowledgeRuntime::FreshAt(policy::TimePoint now) const {
  if (mode_ != Mode::kLive) return now;
  int64_t ms = watcher_->OldestContactUnixMs();
  return policy::TimePoint(std::chrono::milliseconds(ms));
}

bool KnowledgeRuntime::Ready(std::string* why) const {
  if (mode_ != Mode::kLive || watcher_->Synced()) return true;
  *why = "watcher has not synced its initial lists of nodes and pods";
  return false;
}

}  // namespace backstop::app
