#include "watcher/reflector.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "obs/log.h"
#include "watcher/watch_decoder.h"

namespace backstop::watcher {
namespace {

std::string ListContinue(const rapidjson::Value& list) {
  auto md = list.FindMember("metadata");
  if (md == list.MemberEnd() || !md->value.IsObject()) return {};
  auto c = md->value.FindMember("continue");
  if (c == md->value.MemberEnd() || !c->value.IsString()) return {};
  return c->value.GetString();
}

// The user an authorization error names: `User "system:serviceaccount:ns:sa" cannot ...`.
std::string ForbiddenSubject(const std::string& message) {
  const std::string marker = "User \"";
  const size_t at = message.find(marker);
  if (at == std::string::npos) return {};
  const size_t start = at + marker.size();
  const size_t end = message.find('"', start);
  if (end == std::string::npos) return {};
  return message.substr(start, end - start);
}

bool IsExpired(const ApiStatus& s) {
  return s.code == 410 || s.reason == "Expired" || s.reason == "Gone";
}

}  // namespace

WatchMetrics::WatchMetrics(obs::Registry& registry)
    : events(registry.AddCounter("backstop_watch_events_total",
                                 "Watch events received, by resource and event type.",
                                 {"resource", "type"})),
      relists(registry.AddCounter("backstop_watch_relists_total",
                                  "Full relists after the initial list, by resource and reason.",
                                  {"resource", "reason"})),
      errors(registry.AddCounter("backstop_watch_errors_total",
                                 "List/watch failures, by resource and kind.",
                                 {"resource", "kind"})),
      last_sync(registry.AddGauge(
          "backstop_watch_last_sync_timestamp_seconds",
          "Unix time of the last contact with the apiserver for this resource (list page, "
          "watch event or bookmark).",
          {"resource"})) {}

std::string ReflectorOptions::CollectionPath() const {
  if (namespace_name.empty()) return "/api/v1/" + resource;
  return "/api/v1/namespaces/" + UrlEncode(namespace_name) + "/" + resource;
}

Reflector::Reflector(ReflectorOptions options, KubeClient* client, ObjectSink* sink,
                     WatchMetrics* metrics, std::function<double()> random, WallNow now)
    : options_(std::move(options)),
      client_(client),
      sink_(sink),
      metrics_(metrics),
      random_(std::move(random)),
      now_(std::move(now)) {
  if (!random_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
  if (!now_) now_ = [] { return std::chrono::system_clock::now(); };
}

std::string Reflector::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

void Reflector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  client_->Cancel();
}

bool Reflector::Wait(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
  return !stopping_;
}

void Reflector::Contact() {
  const auto now = now_();
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  last_contact_ms_ = ms;
  metrics_->last_sync.With({options_.resource}).Set(static_cast<double>(ms) / 1000.0);
}

std::string Reflector::Scope() const {
  return options_.namespace_name.empty() ? "at the cluster scope"
                                         : "in namespace " + options_.namespace_name;
}

std::string Reflector::WithSelectors(std::string query) const {
  if (!options_.label_selector.empty()) {
    query += "&labelSelector=" + UrlEncode(options_.label_selector);
  }
  if (!options_.field_selector.empty()) {
    query += "&fieldSelector=" + UrlEncode(options_.field_selector);
  }
  return query;
}

void Reflector::Relist(const char* reason) {
  metrics_->relists.With({options_.resource, reason}).Inc();
}

void Reflector::HandleHttpError(const char* verb, int status, const std::string& body) {
  ApiStatus st;
  const bool has_status = ParseApiStatusBody(body, &st);
  const std::string& resource = options_.resource;
  const std::string detail = has_status ? st.message : body.substr(0, 512);
  if (status == 401) {
    metrics_->errors.With({resource, "unauthorized"}).Inc();
    obs::Log(obs::LogLevel::kError,
             "unauthorized: the apiserver rejected the watcher's credentials (HTTP 401); "
             "re-reading the token and retrying",
             {{"resource", resource}, {"verb", verb}, {"detail", detail}});
  } else if (status == 403) {
    metrics_->errors.With({resource, "forbidden"}).Inc();
    std::string subject = has_status ? ForbiddenSubject(st.message) : "";
    if (subject.empty()) subject = "the watcher's service account";
    obs::Log(obs::LogLevel::kError,
             std::string("forbidden: cannot ") + verb + " " + resource + " " + Scope() +
                 ": grant \"" + verb + "\" on \"" + resource + "\" to " + subject,
             {{"resource", resource}, {"verb", verb}, {"detail", detail}});
  } else if (status >= 500) {
    metrics_->errors.With({resource, "http_5xx"}).Inc();
    obs::Log(obs::LogLevel::kWarn, std::string("apiserver error on ") + verb + "; retrying",
             {{"resource", resource}, {"status", std::to_string(status)}, {"detail", detail}});
  } else if (status == 429) {
    metrics_->errors.With({resource, "throttled"}).Inc();
    obs::Log(obs::LogLevel::kWarn, std::string("apiserver throttled ") + verb + "; retrying",
             {{"resource", resource}, {"detail", detail}});
  } else {
    metrics_->errors.With({resource, "http_error"}).Inc();
    obs::Log(obs::LogLevel::kError, std::string("unexpected apiserver answer to ") + verb,
             {{"resource", resource}, {"status", std::to_string(status)}, {"detail", detail}});
  }
}

Reflector::Outcome Reflector::ListAll() {
  const std::string& resource = options_.resource;
  std::vector<std::unique_ptr<rapidjson::Document>> pages;
  std::vector<const rapidjson::Value*> items;
  std::string continue_token;
  std::string list_rv;
  bool restarted = false;
  for (;;) {
    if (stopping()) return Outcome::kStopped;
    std::string url = options_.CollectionPath() + "?" +
                      WithSelectors("limit=" + std::to_string(options_.page_size));
    if (!continue_token.empty()) url += "&continue=" + UrlEncode(continue_token);
    auto res = client_->Get(url, options_.max_list_page_bytes);
    if (!res) {
      if (stopping()) return Outcome::kStopped;
      metrics_->errors.With({resource, "transport"}).Inc();
      obs::Log(obs::LogLevel::kWarn, "list failed; retrying",
               {{"resource", resource}, {"error", res.status().message()}});
      return Outcome::kError;
    }
    if (res->status == 410 && !continue_token.empty() && !restarted) {
      // The snapshot behind the continue token was compacted: start the list again.
      Relist("continue_expired");
      obs::Log(obs::LogLevel::kInfo, "list continue token expired; restarting the list",
               {{"resource", resource}});
      restarted = true;
      pages.clear();
      items.clear();
      continue_token.clear();
      list_rv.clear();
      continue;
    }
    if (res->status != 200) {
      if (res->status == 410) {
        metrics_->errors.With({resource, "expired"}).Inc();
        obs::Log(obs::LogLevel::kWarn, "list expired again; retrying after a pause",
                 {{"resource", resource}});
      } else {
        HandleHttpError("list", res->status, res->body);
      }
      return Outcome::kError;
    }
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse(res->body.data(), res->body.size());
    res->body.clear();
    res->body.shrink_to_fit();
    if (doc->HasParseError() || !doc->IsObject()) {
      metrics_->errors.With({resource, "decode"}).Inc();
      obs::Log(obs::LogLevel::kError, "list response is not a JSON object; retrying",
               {{"resource", resource}});
      return Outcome::kError;
    }
    auto it = doc->FindMember("items");
    if (it != doc->MemberEnd() && it->value.IsArray()) {
      for (const auto& item : it->value.GetArray()) {
        if (item.IsObject()) items.push_back(&item);
      }
    } else if (it != doc->MemberEnd() && !it->value.IsNull()) {
      metrics_->errors.With({resource, "decode"}).Inc();
      obs::Log(obs::LogLevel::kError, "list response has no items array; retrying",
               {{"resource", resource}});
      return Outcome::kError;
    }
    // Every page of one list is served from the snapshot of the first page.
    if (pages.empty()) list_rv = ResourceVersionOf(*doc);
    continue_token = ListContinue(*doc);
    pages.push_back(std::move(doc));
    Contact();
    if (continue_token.empty()) break;
  }
  if (stopping()) return Outcome::kStopped;
  sink_->Replace(resource, items);
  {
    std::lock_guard<std::mutex> lock(mu_);
    resource_version_ = list_rv;
  }
  ++lists_completed_;
  obs::Log(obs::LogLevel::kInfo, "listed",
           {{"resource", resource},
            {"items", std::to_string(items.size())},
            {"pages", std::to_string(pages.size())},
            {"resourceVersion", list_rv}});
  if (!synced_.exchange(true)) sink_->MarkSynced(resource);
  return Outcome::kOk;
}

Reflector::Outcome Reflector::HandleLine(std::string_view line, int* events) {
  const std::string& resource = options_.resource;
  auto ev = ParseWatchEvent(line);
  if (!ev) {
    metrics_->errors.With({resource, "decode"}).Inc();
    obs::Log(obs::LogLevel::kError, "undecodable watch event; relisting",
             {{"resource", resource}, {"error", ev.status().message()}});
    return Outcome::kDecodeError;
  }
  metrics_->events.With({resource, ev->type_name}).Inc();
  switch (ev->type) {
    case RawEventType::kAdded:
    case RawEventType::kModified:
    case RawEventType::kDeleted: {
      const WatchEventType type = ev->type == RawEventType::kAdded      ? WatchEventType::kAdded
                                  : ev->type == RawEventType::kModified ? WatchEventType::kModified
                                                                        : WatchEventType::kDeleted;
      std::string rv = ResourceVersionOf(*ev->object);
      if (!rv.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        resource_version_ = std::move(rv);
      }
      sink_->Apply(resource, type, *ev->object);
      ++*events;
      Contact();
      return Outcome::kOk;
    }
    case RawEventType::kBookmark: {
      std::string rv = ResourceVersionOf(*ev->object);
      if (!rv.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        resource_version_ = std::move(rv);
      }
      ++*events;
      Contact();
      return Outcome::kOk;
    }
    case RawEventType::kError: {
      ApiStatus st;
      if (ParseApiStatus(*ev->object, &st) && IsExpired(st)) {
        obs::Log(obs::LogLevel::kInfo, "watch expired; relisting",
                 {{"resource", resource}, {"detail", st.message}});
        return Outcome::kExpired;
      }
      metrics_->errors.With({resource, "watch_error_event"}).Inc();
      obs::Log(obs::LogLevel::kWarn, "watch ERROR event; watching again",
               {{"resource", resource},
                {"code", std::to_string(st.code)},
                {"reason", st.reason},
                {"detail", st.message}});
      return Outcome::kError;
    }
    case RawEventType::kUnknown:
      metrics_->errors.With({resource, "unknown_event"}).Inc();
      obs::Log(obs::LogLevel::kWarn, "ignoring watch event of unknown type",
               {{"resource", resource}, {"type", ev->type_name}});
      return Outcome::kOk;
  }
  return Outcome::kOk;
}

Reflector::Outcome Reflector::WatchOnce(int* events) {
  const std::string& resource = options_.resource;
  const auto min_t = options_.min_watch_timeout.count();
  const auto max_t = std::max(options_.max_watch_timeout.count(), min_t);
  const int64_t timeout = min_t + static_cast<int64_t>(std::clamp(random_(), 0.0, 0.999999) *
                                                       static_cast<double>(max_t - min_t + 1));
  const std::string rv = resource_version();
  std::string url =
      options_.CollectionPath() + "?" +
      WithSelectors("watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout));
  if (!rv.empty()) url += "&resourceVersion=" + UrlEncode(rv);

  LineDecoder decoder(options_.max_event_bytes);
  Outcome outcome = Outcome::kOk;
  auto on_data = [&](std::string_view chunk) {
    if (stopping()) {
      outcome = Outcome::kStopped;
      return false;
    }
    auto status = decoder.Feed(chunk, [&](std::string_view line) {
      outcome = HandleLine(line, events);
      return outcome == Outcome::kOk;
    });
    if (status == LineDecoder::Status::kTooLarge) {
      outcome = Outcome::kTooLarge;
      metrics_->errors.With({resource, "oversize"}).Inc();
      obs::Log(obs::LogLevel::kError, "watch event larger than the limit; relisting",
               {{"resource", resource}, {"limit_bytes", std::to_string(options_.max_event_bytes)}});
      return false;
    }
    return status == LineDecoder::Status::kOk;
  };
  // Idle limit: the server ends the watch after timeoutSeconds; allow a margin.
  auto res = client_->Stream(url, std::chrono::seconds(timeout + 30), on_data);
  if (stopping()) return Outcome::kStopped;
  if (outcome != Outcome::kOk) return outcome;
  if (!res) {
    metrics_->errors.With({resource, "transport"}).Inc();
    obs::Log(obs::LogLevel::kWarn, "watch connection lost; watching again from the last version",
             {{"resource", resource}, {"resourceVersion", rv}, {"error", res.status().message()}});
    return Outcome::kError;
  }
  if (res->status == 410) {
    obs::Log(obs::LogLevel::kInfo, "watch resourceVersion expired (HTTP 410); relisting",
             {{"resource", resource}});
    return Outcome::kExpired;
  }
  if (res->status != 200) {
    ApiStatus st;
    if (ParseApiStatusBody(res->body, &st) && st.code == 410) return Outcome::kExpired;
    HandleHttpError("watch", res->status, res->body);
    return Outcome::kError;
  }
  if (decoder.buffered() > 0) {
    metrics_->errors.With({resource, "transport"}).Inc();
    obs::Log(obs::LogLevel::kWarn, "watch stream ended inside an event; watching again",
             {{"resource", resource}});
    return Outcome::kError;
  }
  return Outcome::kOk;
}

void Reflector::Run() {
  Backoff backoff(options_.backoff, random_);
  bool need_list = true;
  while (!stopping()) {
    if (need_list) {
      const Outcome listed = ListAll();
      if (listed == Outcome::kStopped) break;
      if (listed != Outcome::kOk) {
        if (!Wait(backoff.Next())) break;
        continue;
      }
      need_list = false;
      backoff.Reset();
    }
    int events = 0;
    const Outcome watched = WatchOnce(&events);
    if (watched == Outcome::kStopped) break;
    if (events > 0) backoff.Reset();
    switch (watched) {
      case Outcome::kOk:
        // The server ended the watch (timeoutSeconds). Watch again at once, unless it
        // ended without a single event, which could spin: pause then.
        if (events == 0 && !Wait(backoff.Next())) return;
        continue;
      case Outcome::kExpired:
        Relist("expired");
        need_list = true;
        break;
      case Outcome::kTooLarge:
        Relist("oversize");
        need_list = true;
        break;
      case Outcome::kDecodeError:
        Relist("decode_error");
        need_list = true;
        break;
      default:
        break;
    }
    if (!Wait(backoff.Next())) break;
  }
}

}  // namespace backstop::watcher
