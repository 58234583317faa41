#include "watcher/leader_election.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

#include "obs/log.h"

namespace backstop::watcher {
namespace {

std::string Str(const rapidjson::Value& obj, const char* a, const char* b) {
  auto x = obj.FindMember(a);
  if (x == obj.MemberEnd() || !x->value.IsObject()) return {};
  auto y = x->value.FindMember(b);
  if (y == x->value.MemberEnd()) return {};
  if (y->value.IsString()) return y->value.GetString();
  if (y->value.IsInt64()) return std::to_string(y->value.GetInt64());
  return {};
}

}  // namespace

LeaderElector::LeaderElector(LeaderElectionOptions options, KubeClient* client, WallNow now)
    : options_(std::move(options)), client_(client), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::system_clock::now(); };
}

LeaderElector::~LeaderElector() { Stop(); }

std::string LeaderElector::LeasePath() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + UrlEncode(options_.lease_namespace) +
         "/leases";
}

bool LeaderElector::Write(bool create, const std::string& resource_version, int transitions,
                          const std::string& acquire_time) {
  rapidjson::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("apiVersion", "coordination.k8s.io/v1", a);
  d.AddMember("kind", "Lease", a);
  rapidjson::Value md(rapidjson::kObjectType);
  md.AddMember("name", rapidjson::Value(options_.lease_name.c_str(), a), a);
  md.AddMember("namespace", rapidjson::Value(options_.lease_namespace.c_str(), a), a);
  if (!resource_version.empty()) {
    md.AddMember("resourceVersion", rapidjson::Value(resource_version.c_str(), a), a);
  }
  d.AddMember("metadata", md, a);
  rapidjson::Value spec(rapidjson::kObjectType);
  const std::string now = FormatMicroTime(now_());
  spec.AddMember("holderIdentity", rapidjson::Value(options_.identity.c_str(), a), a);
  spec.AddMember("leaseDurationSeconds", static_cast<int64_t>(options_.lease_duration.count()), a);
  spec.AddMember("acquireTime", rapidjson::Value(acquire_time.c_str(), a), a);
  spec.AddMember("renewTime", rapidjson::Value(now.c_str(), a), a);
  spec.AddMember("leaseTransitions", transitions, a);
  d.AddMember("spec", spec, a);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  d.Accept(w);
  auto res = create ? client_->Send("POST", LeasePath(), sb.GetString())
                    : client_->Send("PUT", LeasePath() + "/" + UrlEncode(options_.lease_name),
                                    sb.GetString());
  if (!res) return false;
  return res->status == 200 || res->status == 201;
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto now = now_();
  auto fail = [&] {
    // A leader that could not renew within the deadline steps down.
    if (leader_ && now - last_renew_ > options_.renew_deadline) {
      leader_ = false;
      obs::Log(obs::LogLevel::kWarn, "leader election: lost the lease",
               {{"lease", options_.lease_namespace + "/" + options_.lease_name}});
    }
    return leader_.load();
  };
  auto res = client_->Get(LeasePath() + "/" + UrlEncode(options_.lease_name), 1 << 20);
  if (!res) return fail();
  if (res->status == 404) {
    if (!Write(true, "", 0, FormatMicroTime(now))) return fail();
    leader_ = true;
    last_renew_ = now;
    obs::Log(obs::LogLevel::kInfo, "leader election: acquired a new lease",
             {{"identity", options_.identity}});
    return true;
  }
  if (res->status != 200) return fail();
  rapidjson::Document d;
  d.Parse(res->body.data(), res->body.size());
  if (d.HasParseError() || !d.IsObject()) return fail();
  const std::string holder = Str(d, "spec", "holderIdentity");
  const std::string renew = Str(d, "spec", "renewTime");
  const std::string rv = Str(d, "metadata", "resourceVersion");
  std::string acquire = Str(d, "spec", "acquireTime");
  int transitions = 0;
  if (auto t = Str(d, "spec", "leaseTransitions"); !t.empty()) transitions = std::stoi(t);
  int64_t duration_s = options_.lease_duration.count();
  if (auto ds = Str(d, "spec", "leaseDurationSeconds"); !ds.empty()) duration_s = std::stoll(ds);

  const std::string record = holder + "|" + renew;
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = now;
  }
  const bool mine = holder == options_.identity;
  const bool expired = holder.empty() || observed_at_ + std::chrono::seconds(duration_s) <= now;
  if (!mine && !expired) {
    if (leader_) {
      leader_ = false;
      obs::Log(obs::LogLevel::kWarn, "leader election: another replica holds the lease",
               {{"holder", holder}});
    }
    return false;
  }
  if (!mine) {
    ++transitions;
    acquire = FormatMicroTime(now);
  }
  if (!Write(false, rv, transitions, acquire)) return fail();
  if (!leader_) {
    obs::Log(obs::LogLevel::kInfo, "leader election: became the leader",
             {{"identity", options_.identity}, {"previous", holder}});
  }
  leader_ = true;
  last_renew_ = now;
  return true;
}

void LeaderElector::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    for (;;) {
      TryAcquireOrRenew();
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, options_.retry_period, [this] { return stopping_; })) break;
    }
    leader_ = false;
  });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  client_->Cancel();
  if (thread_.joinable()) thread_.join();
}

}  // namespace backstop::watcher
