#include "watcher/event_recorder.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "obs/log.h"
#include "watcher/leader_election.h"

namespace backstop::watcher {

std::string RemedyFor(const std::string& reason) {
  if (reason == "ErrImageNeverPull") {
    return "Load the image onto the node or use imagePullPolicy IfNotPresent; new pods with "
           "this image on such nodes are refused until then.";
  }
  if (reason == "InvalidImageName") return "Fix the image reference; it can never be pulled.";
  if (reason == "ErrImagePull" || reason == "ImagePullBackOff") {
    return "Check that the image name and tag exist in the registry and that pull credentials "
           "are set.";
  }
  if (reason == "CrashLoopBackOff") return "Check the container's logs and exit code.";
  if (reason == "Unschedulable") {
    return "Check node selectors, affinity, taints and resource requests.";
  }
  if (reason == "OOMKilled") return "Raise the memory limit or reduce the workload's memory use.";
  if (reason == "DeadlineExceeded") return "Raise activeDeadlineSeconds or shorten the job.";
  return "Retrying will not help until the cause is fixed.";
}

EventRecorder::EventRecorder(EventRecorderOptions options, KubeClient* client,
                             std::function<bool()> is_leader, WallNow now, SteadyNow steady)
    : options_(std::move(options)),
      client_(client),
      is_leader_(std::move(is_leader)),
      now_(std::move(now)),
      steady_(std::move(steady)) {
  if (!now_) now_ = [] { return std::chrono::system_clock::now(); };
  if (!steady_) steady_ = [] { return std::chrono::steady_clock::now(); };
  tokens_ = options_.burst;
  refilled_at_ = steady_();
}

EventRecorder::~EventRecorder() { Stop(); }

void EventRecorder::Record(const PodEventRequest& request) {
  std::string message = request.reason + ": " + request.message;
  if (!message.empty() && message.back() != '.') message += ".";
  message += " " + RemedyFor(request.reason);
  RecordObject(ObjectEventRequest{"v1", "Pod", request.namespace_name, request.pod, request.uid,
                                  request.reason, std::move(message), ""});
}

void EventRecorder::RecordObject(const ObjectEventRequest& request) {
  const std::string key = request.dedup_key.empty() ? request.kind + "/" + request.namespace_name +
                                                          "/" + request.name + "/" + request.reason
                                                    : request.dedup_key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (seen_.count(key) > 0) return;
    if (queue_.size() >= options_.max_queue) return;
    if (seen_.size() >= options_.max_remembered) seen_.clear();
    seen_.insert(key);
    queue_.push_back(request);
  }
  cv_.notify_all();
}

size_t EventRecorder::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool EventRecorder::Post(const ObjectEventRequest& r) {
  rapidjson::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  auto str = [&](const std::string& s) { return rapidjson::Value(s.c_str(), a); };
  const std::string now = FormatMicroTime(now_());
  const std::string ts = now.substr(0, 19) + "Z";  // metav1.Time has second precision
  d.AddMember("apiVersion", "v1", a);
  d.AddMember("kind", "Event", a);
  rapidjson::Value md(rapidjson::kObjectType);
  md.AddMember("generateName", str(r.name + "."), a);
  md.AddMember("namespace", str(r.namespace_name), a);
  d.AddMember("metadata", md, a);
  rapidjson::Value involved(rapidjson::kObjectType);
  involved.AddMember("apiVersion", str(r.api_version), a);
  involved.AddMember("kind", str(r.kind), a);
  involved.AddMember("namespace", str(r.namespace_name), a);
  involved.AddMember("name", str(r.name), a);
  if (!r.uid.empty()) involved.AddMember("uid", str(r.uid), a);
  d.AddMember("involvedObject", involved, a);
  d.AddMember("reason", str(r.reason), a);
  std::string message = r.message;
  if (message.size() > 1024) message.resize(1024);  // the apiserver's limit
  d.AddMember("message", str(message), a);
  d.AddMember("type", "Warning", a);
  rapidjson::Value source(rapidjson::kObjectType);
  source.AddMember("component", str(options_.component), a);
  d.AddMember("source", source, a);
  d.AddMember("firstTimestamp", str(ts), a);
  d.AddMember("lastTimestamp", str(ts), a);
  d.AddMember("count", 1, a);
  d.AddMember("reportingComponent", str(options_.component), a);
  d.AddMember("reportingInstance", str(options_.instance), a);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  d.Accept(w);
  auto res = client_->Send("POST", "/api/v1/namespaces/" + UrlEncode(r.namespace_name) + "/events",
                           sb.GetString());
  if (!res) {
    obs::Log(obs::LogLevel::kWarn, "event not written",
             {{"object", r.kind + " " + r.namespace_name + "/" + r.name},
              {"error", res.status().message()}});
    return false;
  }
  if (res->status != 201 && res->status != 200) {
    obs::Log(obs::LogLevel::kWarn, "event not written",
             {{"object", r.kind + " " + r.namespace_name + "/" + r.name},
              {"status", std::to_string(res->status)}});
    return false;
  }
  return true;
}

int EventRecorder::Flush() {
  int written = 0;
  for (;;) {
    ObjectEventRequest next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return written;
      const auto now = steady_();
      const double elapsed = std::chrono::duration<double>(now - refilled_at_).count();
      tokens_ = std::min<double>(options_.burst, tokens_ + elapsed * options_.events_per_second);
      refilled_at_ = now;
      if (tokens_ < 1.0) return written;
      if (!is_leader_()) {
        // Another replica writes events; drop ours (they stay marked as seen).
        queue_.clear();
        return written;
      }
      tokens_ -= 1.0;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    // A failed write is not retried: events are best effort.
    if (Post(next)) ++written;
  }
}

void EventRecorder::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    for (;;) {
      Flush();
      std::unique_lock<std::mutex> lock(mu_);
      const auto wait = std::chrono::milliseconds(
          static_cast<int64_t>(1000.0 / std::max(0.01, options_.events_per_second)));
      cv_.wait_for(lock, wait, [this] { return stopping_ || (!queue_.empty() && tokens_ >= 1); });
      if (stopping_) return;
    }
  });
}

void EventRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    client_->Cancel();
    thread_.join();
  }
}

}  // namespace backstop::watcher
