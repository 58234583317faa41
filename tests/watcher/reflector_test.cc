#include "watcher/reflector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "obs/log.h"
#include "obs/metrics.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/fixtures.h"
#include "watcher/watcher.h"

namespace backstop::watcher {
namespace {

using backstop::testing::FakeApiServer;
using backstop::testing::ReadFixture;
using backstop::testing::RecordedRequest;
using backstop::testing::RecordingSink;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char kPods[] = "/api/v1/pods";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line + "\n");
  }
  return out;
}

double CounterValue(obs::Family<obs::Counter>& f, const std::vector<std::string>& labels) {
  return f.With(labels).Value();
}

// A reflector on its own thread against the fake apiserver, with tiny backoff delays.
class ReflectorHarness {
 public:
  ReflectorHarness(FakeApiServer& api, ReflectorOptions options, const std::string& token = "t")
      : client_(api.Connection(token), nullptr), metrics_(registry_) {
    options.backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(20), 2.0, 0.5};
    reflector_ = std::make_unique<Reflector>(std::move(options), &client_, &sink_, &metrics_,
                                             [] { return 0.5; });
    thread_ = std::thread([this] { reflector_->Run(); });
  }
  ~ReflectorHarness() {
    reflector_->Stop();
    thread_.join();
  }
  RecordingSink& sink() { return sink_; }
  Reflector& reflector() { return *reflector_; }
  WatchMetrics& metrics() { return metrics_; }
  obs::Registry& registry() { return registry_; }

 private:
  KubeClient client_;
  obs::Registry registry_;
  WatchMetrics metrics_;
  RecordingSink sink_;
  std::unique_ptr<Reflector> reflector_;
  std::thread thread_;
};

ReflectorOptions PodOptions() {
  ReflectorOptions o;
  o.resource = "pods";
  return o;
}

bool WatchCount(FakeApiServer& api, const std::string& path, size_t n) {
  return api.WaitForRequests([&](const std::vector<RecordedRequest>& rs) {
    size_t c = 0;
    for (const auto& r : rs) c += (r.path == path && r.watch) ? 1 : 0;
    return c >= n;
  });
}

TEST(ReflectorTest, FollowsContinueThenWatchesFromTheFirstPagesVersion) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.EnqueueList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page1_continue.json")});
  api.EnqueueList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  ReflectorOptions o = PodOptions();
  o.label_selector = "app in (a,b)";
  ReflectorHarness h(api, o);
  ASSERT_TRUE(h.sink().WaitForCount("synced", 1));
  ASSERT_TRUE(WatchCount(api, kPods, 1));

  auto entries = h.sink().Entries();
  ASSERT_EQ(RecordingSink::Count(entries, "replace"), 1u);
  EXPECT_THAT(entries[0].names, ElementsAre("my-ruby-project-2-build", "redis-1-94zxb",
                                            "topological-inventory-persister-9-hznds",
                                            "topological-inventory-persister-9-vzr6h"));
  EXPECT_EQ(entries[1].op, "synced");

  auto lists = api.Requests(kPods, false);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].Param("limit"), "500");
  EXPECT_EQ(lists[0].Param("continue"), "");
  EXPECT_EQ(lists[0].Param("labelSelector"), "app in (a,b)");
  EXPECT_EQ(lists[1].Param("continue"), "eyJ2IjoibWV0YS5rOHMua");
  EXPECT_EQ(lists[1].authorization, "Bearer t");

  auto watch = api.Requests(kPods, true).at(0);
  EXPECT_EQ(watch.Param("resourceVersion"), "53225946");
  EXPECT_EQ(watch.Param("allowWatchBookmarks"), "true");
  EXPECT_EQ(watch.Param("labelSelector"), "app in (a,b)");
  const int timeout = std::stoi(watch.Param("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
  EXPECT_TRUE(h.reflector().synced());
  EXPECT_GT(h.reflector().last_contact_unix_ms(), 0);
}

TEST(ReflectorTest, AppliesEventsAndBookmarksOnlyAdvanceTheVersion) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  auto chunks = Lines(ReadFixture("watch/kubeclient_watch_stream.ndjson"));
  // No BOOKMARK event exists in the fixtures; this one has the apiserver's shape
  // (an object of the watched kind carrying only metadata.resourceVersion).
  chunks.push_back(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"1500"}}})"
      "\n");
  api.EnqueueWatchChunks(kPods, chunks);
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(WatchCount(api, kPods, 2));

  auto entries = h.sink().Entries();
  std::vector<std::string> ops;
  for (const auto& e : entries) ops.push_back(e.op + ":" + e.resource_version);
  EXPECT_THAT(ops,
              ElementsAre("replace:", "synced:", "ADDED:1389", "MODIFIED:1390", "DELETED:1398"));
  EXPECT_EQ(api.Requests(kPods, true)[1].Param("resourceVersion"), "1500");
  EXPECT_EQ(api.Requests(kPods, false).size(), 1u);  // no relist
  EXPECT_EQ(CounterValue(h.metrics().events, {"pods", "BOOKMARK"}), 1.0);
  EXPECT_EQ(CounterValue(h.metrics().events, {"pods", "ADDED"}), 1.0);
}

TEST(ReflectorTest, ExpiredErrorEventMidStreamRelists) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  auto chunks = Lines(ReadFixture("watch/kubeclient_watch_stream.ndjson"));
  chunks.resize(1);
  chunks.push_back(ReadFixture("watch/wso2-apk-issue571_watch_error_410_expired.json"));
  chunks.push_back(Lines(ReadFixture("watch/kubeclient_watch_stream.ndjson"))[1]);  // not read
  api.EnqueueWatchChunks(kPods, chunks);
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(h.sink().WaitForCount("replace", 2));
  ASSERT_TRUE(WatchCount(api, kPods, 2));
  auto entries = h.sink().Entries();
  EXPECT_EQ(RecordingSink::Count(entries, "ADDED"), 1u);
  EXPECT_EQ(RecordingSink::Count(entries, "MODIFIED"), 0u);  // after the ERROR: dropped
  EXPECT_EQ(RecordingSink::Count(entries, "synced"), 1u);    // only the initial list
  EXPECT_EQ(CounterValue(h.metrics().relists, {"pods", "expired"}), 1.0);
  // The second watch starts from the relist's version, not the stale one.
  EXPECT_EQ(api.Requests(kPods, true)[1].Param("resourceVersion"), "53226147");
}

TEST(ReflectorTest, ExpiredHttpStatusOnWatchRelists) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  api.EnqueueWatchStatus(kPods,
                         {410, ReadFixture("watch/kubeclient_pods_410_expired_status.json")});
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(h.sink().WaitForCount("replace", 2));
  EXPECT_EQ(CounterValue(h.metrics().relists, {"pods", "expired"}), 1.0);
  EXPECT_EQ(api.Requests(kPods, false).size(), 2u);
}

TEST(ReflectorTest, ExpiredContinueTokenRestartsTheList) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  const std::string page1 = ReadFixture("watch/kubeclient_podlist_page1_continue.json");
  api.EnqueueList(kPods, {200, page1});
  api.EnqueueList(kPods, {410, ReadFixture("watch/kubeclient_pods_410_expired_status.json")});
  api.EnqueueList(kPods, {200, page1});
  api.EnqueueList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(h.sink().WaitForCount("synced", 1));
  auto lists = api.Requests(kPods, false);
  ASSERT_EQ(lists.size(), 4u);
  EXPECT_EQ(lists[1].Param("continue"), "eyJ2IjoibWV0YS5rOHMua");
  EXPECT_EQ(lists[2].Param("continue"), "");  // restarted without the token
  EXPECT_EQ(lists[3].Param("continue"), "eyJ2IjoibWV0YS5rOHMua");
  auto entries = h.sink().Entries();
  ASSERT_EQ(RecordingSink::Count(entries, "replace"), 1u);
  EXPECT_EQ(entries[0].names.size(), 4u);  // no duplicates from the abandoned first pass
  EXPECT_EQ(CounterValue(h.metrics().relists, {"pods", "continue_expired"}), 1.0);
}

TEST(ReflectorTest, DroppedConnectionResumesFromTheLastVersion) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  auto lines = Lines(ReadFixture("watch/kubeclient_watch_stream.ndjson"));
  // Two events, then half of the third, then the connection breaks.
  api.EnqueueWatchChunks(kPods, {lines[0], lines[1], lines[2].substr(0, 100)},
                         /*drop_at_end=*/true);
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(WatchCount(api, kPods, 2));
  EXPECT_EQ(api.Requests(kPods, true)[1].Param("resourceVersion"), "1390");
  EXPECT_EQ(api.Requests(kPods, false).size(), 1u);  // resumed, not relisted
  auto entries = h.sink().Entries();
  EXPECT_EQ(RecordingSink::Count(entries, "DELETED"), 0u);  // the partial event is discarded
  EXPECT_GE(CounterValue(h.metrics().errors, {"pods", "transport"}), 1.0);
}

TEST(ReflectorTest, ServerErrorsBackOffThenSucceed) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  const std::string unavailable =
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: leader changed","code":500})";
  for (int i = 0; i < 3; ++i) api.EnqueueList(kPods, {500, unavailable});
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  api.EnqueueWatchStatus(kPods, {503, unavailable});
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(h.sink().WaitForCount("synced", 1));
  ASSERT_TRUE(WatchCount(api, kPods, 2));  // the 503 watch is retried
  EXPECT_EQ(api.Requests(kPods, false).size(), 4u);
  EXPECT_EQ(CounterValue(h.metrics().errors, {"pods", "http_5xx"}), 4.0);
  // A failed watch is retried from the same version, without a relist.
  EXPECT_EQ(api.Requests(kPods, true)[1].Param("resourceVersion"), "53226147");
}

TEST(ReflectorTest, SlowStreamWithEventsSplitAcrossChunks) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  auto stream = api.EnqueueWatch(kPods);
  auto lines = Lines(ReadFixture("watch/kubeclient_watch_stream.ndjson"));
  ReflectorHarness h(api, PodOptions());
  ASSERT_TRUE(WatchCount(api, kPods, 1));
  stream->Send(lines[0].substr(0, 300));
  stream->Send(lines[0].substr(300) + lines[1].substr(0, 10));
  ASSERT_TRUE(h.sink().WaitForCount("ADDED", 1));
  stream->Send(lines[1].substr(10, 500));
  stream->Send(lines[1].substr(510));
  ASSERT_TRUE(h.sink().WaitForCount("MODIFIED", 1));
  EXPECT_EQ(h.reflector().resource_version(), "1390");
  stream->Send(lines[2]);
  ASSERT_TRUE(h.sink().WaitForCount("DELETED", 1));
  EXPECT_EQ(h.reflector().resource_version(), "1398");
  EXPECT_EQ(api.Requests(kPods, true).size(), 1u);  // all on one connection
}

TEST(ReflectorTest, OversizeEventRelists) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  api.SetList("/api/v1/nodes",
              {200, ReadFixture("nodes/miq-openshift3_nodelist_1node_18images.json")});
  // The real node event spans many lines; put it on one line as the apiserver sends it.
  std::string event = ReadFixture("watch/kubeclient_node_notice_watch_event.json");
  std::string one_line;
  for (char c : event) {
    if (c != '\n') one_line += c;
  }
  ASSERT_GT(one_line.size(), 4096u);
  api.EnqueueWatchChunks("/api/v1/nodes", {one_line + "\n"});
  ReflectorOptions o;
  o.resource = "nodes";
  o.max_event_bytes = 4096;
  ReflectorHarness h(api, o);
  ASSERT_TRUE(h.sink().WaitForCount("replace", 2));
  EXPECT_EQ(RecordingSink::Count(h.sink().Entries(), "ADDED"), 0u);
  EXPECT_EQ(CounterValue(h.metrics().relists, {"nodes", "oversize"}), 1.0);
  EXPECT_EQ(CounterValue(h.metrics().errors, {"nodes", "oversize"}), 1.0);
}

TEST(ReflectorTest, ForbiddenIsLoggedWithTheMissingGrantAndRetried) {
  BACKSTOP_REQUIRE_FIXTURES();
  obs::ConfigureLogging(obs::LogLevel::kInfo, obs::LogFormat::kText);
  FakeApiServer api;
  api.EnqueueList(
      kPods,
      {403,
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:backstop-system:backstop\" cannot list resource \"pods\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"pods"},"code":403})"});
  api.EnqueueList(
      kPods,
      {401,
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})"});
  api.SetList(kPods, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  ::testing::internal::CaptureStderr();
  std::string log;
  {
    ReflectorHarness h(api, PodOptions());
    const bool synced = h.sink().WaitForCount("synced", 1);
    log = ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(synced);
    EXPECT_EQ(CounterValue(h.metrics().errors, {"pods", "forbidden"}), 1.0);
    EXPECT_EQ(CounterValue(h.metrics().errors, {"pods", "unauthorized"}), 1.0);
  }
  EXPECT_THAT(log, HasSubstr("forbidden: cannot list pods at the cluster scope: grant \"list\" on "
                             "\"pods\" to system:serviceaccount:backstop-system:backstop"));
  EXPECT_THAT(log, HasSubstr("unauthorized"));
  EXPECT_EQ(api.Requests(kPods, false).size(), 3u);
}

TEST(ReflectorTest, NamespacedPathAndMetricsExposition) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  const std::string path = "/api/v1/namespaces/my-project/pods";
  api.SetList(path, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  ReflectorOptions o = PodOptions();
  o.namespace_name = "my-project";
  ReflectorHarness h(api, o);
  ASSERT_TRUE(h.sink().WaitForCount("synced", 1));
  ASSERT_TRUE(WatchCount(api, path, 1));
  const std::string text = h.registry().Render();
  EXPECT_THAT(text, HasSubstr("backstop_watch_last_sync_timestamp_seconds{resource=\"pods\"}"));
  EXPECT_THAT(text, HasSubstr("# TYPE backstop_watch_events_total counter"));
}

// Several namespaces: one reflector each, merged so one namespace's relist never
// removes another's pods.
TEST(WatcherTest, SeveralNamespacesAreMergedPerNamespace) {
  BACKSTOP_REQUIRE_FIXTURES();
  FakeApiServer api;
  const std::string a = "/api/v1/namespaces/a/pods";
  const std::string b = "/api/v1/namespaces/b/pods";
  // a's relist finds the namespace empty.
  api.SetList(
      a,
      {200,
       R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"53226200"},"items":[]})"});
  api.EnqueueList(a, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  api.SetList(b, {200, ReadFixture("watch/kubeclient_podlist_page2.json")});
  // Namespace a: after its first list the watch expires and the relist comes back empty.
  api.EnqueueWatchStatus(a, {410, ReadFixture("watch/kubeclient_pods_410_expired_status.json")});
  api.SetList("/api/v1/nodes",
              {200, ReadFixture("nodes/miq-openshift_nodelist_9nodes_images.json")});

  RecordingSink sink;
  obs::Registry registry;
  WatcherOptions wo;
  wo.namespaces = {"a", "b"};
  wo.backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(20), 2.0, 0.5};
  Watcher w(api.Connection("t"), wo, &sink, &registry);
  ASSERT_TRUE(w.Start().ok());
  ASSERT_TRUE(sink.WaitFor([](const auto& es) {
    size_t deleted = RecordingSink::Count(es, "DELETED");
    size_t synced = RecordingSink::Count(es, "synced");
    return deleted >= 2 && synced >= 2;
  }));
  ASSERT_TRUE(api.WaitForRequests([&](const auto& rs) {
    int lists_a = 0;
    for (const auto& r : rs) lists_a += (r.path == a && !r.watch) ? 1 : 0;
    return lists_a >= 2;
  }));
  EXPECT_TRUE(w.Synced());
  EXPECT_TRUE(w.LastContact().has_value());
  w.Stop();
  auto es = sink.Entries();
  // Pods never arrive as a Replace (which would wipe the other namespace); nodes do.
  for (const auto& e : es) {
    if (e.op == "replace") {
      EXPECT_EQ(e.resource, "nodes");
    }
  }
  EXPECT_EQ(RecordingSink::Count(es, "synced"), 2u);  // nodes once, pods once
  // a's relist removed a's two pods, and only those (b has pods of the same names).
  std::vector<std::string> deleted;
  for (const auto& e : es) {
    if (e.op == "DELETED") deleted.push_back(e.names[0]);
  }
  EXPECT_THAT(deleted, ::testing::UnorderedElementsAre("topological-inventory-persister-9-hznds",
                                                       "topological-inventory-persister-9-vzr6h"));
}

TEST(WatcherOptionsTest, ParsesThePodsSection) {
  rapidjson::Document d;
  d.Parse(
      R"({"pods":{"namespaces":["team-a","team-b"],"labelSelector":"agent=true"},"pageSize":200})");
  ConfigProblems problems;
  ConfigReader r(&d, "watcher", &problems);
  WatcherOptions o;
  ParseWatcherClientOptions(r, &o);
  EXPECT_TRUE(problems.errors.empty());
  EXPECT_THAT(o.namespaces, ElementsAre("team-a", "team-b"));
  EXPECT_EQ(o.label_selector, "agent=true");
  EXPECT_EQ(o.page_size, 200);

  rapidjson::Document bad;
  bad.Parse(R"({"pods":{"namespace":["x"]},"pageSize":0})");
  ConfigProblems problems2;
  ConfigReader r2(&bad, "watcher", &problems2);
  WatcherOptions o2;
  ParseWatcherClientOptions(r2, &o2);
  EXPECT_EQ(problems2.errors.size(), 2u);  // pageSize out of range, unknown key "namespace"
  EXPECT_EQ(o2.page_size, 500);
}

}  // namespace
}  // namespace backstop::watcher
