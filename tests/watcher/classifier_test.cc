#include "watcher/classifier.h"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "tests/support/fixtures.h"

namespace backstop::watcher {
namespace {

using policy::TimePoint;
using rapidjson::Document;
using rapidjson::Value;

TimePoint At(std::string_view rfc3339) {
  auto t = ParseTimestamp(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(TimePoint{});
}

// A moment long after every fixture was captured.
const TimePoint kNow = At("2030-01-01T00:00:00Z");

// The pods of one document: the items of a (Pod)List, else the document itself.
std::vector<const Value*> PodsOf(const Value& doc) {
  std::vector<const Value*> out;
  const Value* items = doc.IsObject() ? Member(&doc, "items") : nullptr;
  if (items != nullptr && items->IsArray()) {
    for (const Value& item : items->GetArray()) out.push_back(&item);
  } else {
    out.push_back(&doc);
  }
  return out;
}

std::string Name(const Value& pod) {
  auto n = AsString(Find(&pod, {"metadata", "name"}));
  return n ? std::string(*n) : std::string();
}

std::vector<std::string> Reasons(const PodClassification& c) {
  std::vector<std::string> out;
  for (const Finding& f : c.findings) out.push_back(f.reason);
  return out;
}

// Expected reasons per pod name for every pod fixture; pods not named yield nothing.
struct FileExpectation {
  size_t pods;
  std::map<std::string, std::vector<std::string>> reasons;
};

const std::map<std::string, FileExpectation>& PodFixtureTable() {
  static const std::map<std::string, FileExpectation> kTable = {
      {"gitops-engine_pod-crashloop.yaml", {1, {{"my-pod", {"CrashLoopBackOff"}}}}},
      {"gitops-engine_pod-deletion.yaml", {1, {}}},  // PodInitializing: not a failure
      {"gitops-engine_pod-error.yaml", {1, {{"my-pod", {"NonZeroExit"}}}}},
      {"gitops-engine_pod-failed.yaml", {1, {{"my-pod", {"NonZeroExit"}}}}},
      {"gitops-engine_pod-imagepullbackoff.yaml",
       {1, {{"guestbook-ui-errimagepullbackoff-66cfffb669-45w2j", {"ImagePullBackOff"}}}}},
      {"gitops-engine_pod-pending.yaml", {1, {}}},
      {"gitops-engine_pod-running-not-ready.yaml", {1, {}}},
      {"gitops-engine_pod-running-restart-never.yaml", {1, {}}},
      {"gitops-engine_pod-succeeded.yaml", {1, {}}},
      {"insights_init-container-crashloop_vsystem.json",
       {1, {{"vsystem-867f4b77cc-pqcns", {"CrashLoopBackOff"}}}}},
      {"insights_job-pod-failed-error.json",
       {1, {{"auditlog-retention-28566720-t22qj", {"NonZeroExit"}}}}},
      {"insights_pending-podinitializing.json", {1, {}}},
      // Running now; the earlier Error is only in lastState.
      {"insights_static-etcd-pod-lastState-error.json", {1, {}}},
      {"insights_unschedulable_router.json",
       {1, {{"router-default-7bbdcfcf9b-7xdln", {"Unschedulable"}}}}},
      {"k9s_po.json", {1, {}}},
      {"k9s_po_init.json", {1, {}}},
      {"k9s_po_sidecar.json", {1, {}}},
      {"miq-openshift3_podlist_22pods_createcontainererror.json",
       {22,
        {{"my-pod-0", {"CreateContainerError"}},
         {"my-pod-1", {"CreateContainerError"}},
         {"my-pod-2", {"CreateContainerError"}}}}},
  };
  return kTable;
}

TEST(ClassifierFixtures, EveryPodFixtureYieldsItsReasons) {
  BACKSTOP_REQUIRE_FIXTURES();
  const auto files = testing::FixtureFiles("pods", {".json", ".yaml", ".yml"});
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    const std::string file = path.filename().string();
    SCOPED_TRACE(file);
    auto it = PodFixtureTable().find(file);
    ASSERT_NE(it, PodFixtureTable().end()) << "pod fixture without an expectation: " << file;
    auto doc = testing::LoadFixtureJson("pods/" + file);
    const auto pods = PodsOf(*doc);
    EXPECT_EQ(pods.size(), it->second.pods);
    for (const Value* pod : pods) {
      const std::string name = Name(*pod);
      SCOPED_TRACE(name);
      auto expected = it->second.reasons.find(name);
      const std::vector<std::string> want =
          expected == it->second.reasons.end() ? std::vector<std::string>{} : expected->second;
      EXPECT_EQ(Reasons(ClassifyPod(*pod, kNow)), want);
    }
  }
  EXPECT_EQ(files.size(), PodFixtureTable().size()) << "table names a fixture that is gone";
}

TEST(ClassifierFixtures, WatchFixturePodsHaveNoFailures) {
  BACKSTOP_REQUIRE_FIXTURES();
  for (const char* file :
       {"watch/kubeclient_podlist_page1_continue.json", "watch/kubeclient_podlist_page2.json"}) {
    auto doc = testing::LoadFixtureJson(file);
    const auto pods = PodsOf(*doc);
    ASSERT_EQ(pods.size(), 2u) << file;
    for (const Value* pod : pods) {
      // my-ruby-project-2-build is Failed but carries no container statuses: no reason known.
      EXPECT_TRUE(ClassifyPod(*pod, kNow).findings.empty()) << file << " " << Name(*pod);
    }
  }
  // The stream is NDJSON: parse line by line.
  std::string text = testing::ReadFixture("watch/kubeclient_watch_stream.ndjson");
  size_t start = 0, events = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    Document event;
    event.Parse(text.data() + start, end - start);
    start = end + 1;
    if (event.HasParseError() || !event.IsObject()) continue;
    const Value* object = Member(&event, "object");
    ASSERT_NE(object, nullptr);
    EXPECT_TRUE(ClassifyPod(*object, kNow).findings.empty());
    ++events;
  }
  EXPECT_EQ(events, 3u);
}

TEST(ClassifierFixtures, DetailsOfRealFailures) {
  BACKSTOP_REQUIRE_FIXTURES();
  {
    auto doc = testing::LoadFixtureJson("pods/gitops-engine_pod-imagepullbackoff.yaml");
    auto c = ClassifyPod(*doc, kNow);
    ASSERT_EQ(c.findings.size(), 1u);
    const Finding& f = c.findings[0];
    EXPECT_FALSE(f.terminal);
    EXPECT_EQ(f.container, "errimagepullbackoff");
    EXPECT_EQ(f.kind, ContainerKind::kRegular);
    EXPECT_EQ(f.image, "gcr.io/heptio-images/ks-guestbook-demo:0.3");
    EXPECT_EQ(f.node, "docker-for-desktop");
    EXPECT_EQ(f.message, "Back-off pulling image \"gcr.io/heptio-images/ks-guestbook-demo:0.3\"");
    EXPECT_FALSE(f.image_missing_from_registry);  // the pre-1.32 message says nothing more
    EXPECT_TRUE(f.previous_reason.empty());
    EXPECT_EQ(f.since, At("2019-04-04T16:06:56Z"));  // ContainersReady / Ready condition
  }
  {
    auto doc = testing::LoadFixtureJson("pods/insights_init-container-crashloop_vsystem.json");
    auto c = ClassifyPod(*doc, kNow);
    ASSERT_EQ(c.findings.size(), 1u);
    EXPECT_EQ(c.findings[0].kind, ContainerKind::kInit);
    EXPECT_EQ(c.findings[0].container, "vsystem-hana-init");
    EXPECT_FALSE(c.findings[0].terminal);
  }
  {
    auto doc = testing::LoadFixtureJson("pods/gitops-engine_pod-failed.yaml");
    auto c = ClassifyPod(*doc, kNow);
    ASSERT_EQ(c.findings.size(), 1u);
    EXPECT_TRUE(c.findings[0].terminal);  // phase Failed: the pod will not run again
    EXPECT_EQ(c.findings[0].message.rfind("exit code 1 (Error)", 0), 0u) << c.findings[0].message;
  }
  {
    auto doc = testing::LoadFixtureJson("pods/gitops-engine_pod-error.yaml");
    auto c = ClassifyPod(*doc, kNow);
    ASSERT_EQ(c.findings.size(), 1u);
    EXPECT_FALSE(c.findings[0].terminal);  // Running: kubelet restarts it
  }
  {
    auto doc = testing::LoadFixtureJson("pods/insights_job-pod-failed-error.json");
    auto c = ClassifyPod(*doc, kNow);
    ASSERT_EQ(c.findings.size(), 1u);
    EXPECT_EQ(c.findings[0].message.rfind("exit code 3", 0), 0u) << c.findings[0].message;
    EXPECT_TRUE(c.findings[0].terminal);
  }
  {
    auto doc = testing::LoadFixtureJson("pods/k9s_po_sidecar.json");
    auto c = ClassifyPod(*doc, kNow);
    EXPECT_EQ(c.node, "kind-control-plane");
    // The restartable init container (sidecar) and the main container run; images are named
    // as the spec writes them ("istio/base"), not as the runtime reports them.
    EXPECT_EQ(c.running_images, (std::vector<std::string>{"istio/base", "istio/base"}));
  }
}

TEST(ClassifierFixtures, UnschedulableWaitsForTheGrace) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto doc = testing::LoadFixtureJson("pods/insights_unschedulable_router.json");
  const TimePoint since = At("2021-07-07T16:14:55Z");  // PodScheduled lastTransitionTime

  auto early = ClassifyPod(*doc, since + std::chrono::seconds(119));
  EXPECT_TRUE(early.findings.empty());
  ASSERT_TRUE(early.unschedulable_pending.has_value());
  EXPECT_EQ(early.unschedulable_pending->since, since);

  auto due = ClassifyPod(*doc, since + std::chrono::seconds(120));
  ASSERT_EQ(Reasons(due), std::vector<std::string>{"Unschedulable"});
  EXPECT_FALSE(due.findings[0].terminal);
  EXPECT_FALSE(due.unschedulable_pending.has_value());
  EXPECT_NE(due.findings[0].message.find("didn't have free ports"), std::string::npos);

  ClassifyOptions none;
  none.unschedulable_grace = std::chrono::seconds(0);
  EXPECT_EQ(Reasons(ClassifyPod(*doc, since, none)), std::vector<std::string>{"Unschedulable"});
}

TEST(ClassifierFixtures, JobConditions) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto failed = testing::LoadFixtureJson("jobs/gitops-engine_job-failed.yaml");
  auto f = ClassifyJob(*failed);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].reason, "BackoffLimitExceeded");
  EXPECT_TRUE(f[0].terminal);

  auto deadline =
      testing::LoadFixtureJson("jobs/k8s-issue90551_job_status_deadlineexceeded_fragment.yaml");
  auto d = ClassifyJob(*deadline);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].reason, "DeadlineExceeded");
  EXPECT_EQ(d[0].message, "Job was active longer than specified deadline");
  EXPECT_EQ(d[0].since, At("2020-04-28T09:34:40Z"));

  for (const char* ok :
       {"jobs/gitops-engine_job-running.yaml", "jobs/gitops-engine_job-succeeded.yaml",
        "jobs/gitops-engine_job-suspended.yaml", "jobs/k9s_job.json"}) {
    EXPECT_TRUE(ClassifyJob(*testing::LoadFixtureJson(ok)).empty()) << ok;
  }
}

// ---- Pods in states absent from public data, built by editing a real fixture pod's
// status with kubelet's exact reason and message strings. ----

using testing::SetString;
using testing::SetWaiting;

// gitops-engine_pod-imagepullbackoff.yaml with its one container's waiting state replaced.
std::unique_ptr<Document> PullPod(std::string_view why, std::string_view message) {
  auto doc = testing::LoadFixtureJson("pods/gitops-engine_pod-imagepullbackoff.yaml");
  SetWaiting(*doc, "/status/containerStatuses/0", why, message);
  return doc;
}

constexpr std::string_view kImage = "gcr.io/heptio-images/ks-guestbook-demo:0.3";

struct EditedCase {
  std::string name;
  std::string reason;   // waiting reason set
  std::string message;  // waiting message set
  bool terminal;
  bool missing;
  std::string previous;
};

TEST(ClassifierEdited, ImageReasonsFromKubeletStrings) {
  BACKSTOP_REQUIRE_FIXTURES();
  const std::string img(kImage);
  const std::string not_found =
      "rpc error: code = NotFound desc = failed to pull and unpack image \"" + img +
      "\": failed to resolve reference \"" + img + "\": " + img + ": not found";
  const std::string denied =
      "rpc error: code = Unknown desc = failed to pull and unpack image \"" + img +
      "\": failed to resolve reference \"" + img +
      "\": pull access denied, repository does not exist or may require authorization: server "
      "message: insufficient_scope: authorization failed";
  const std::vector<EditedCase> cases = {
      {"never pull", "ErrImageNeverPull",
       "Container image \"" + img + "\" is not present with pull policy of Never", true, false, ""},
      {"invalid name", "InvalidImageName",
       "Failed to apply default image tag \"" + img + "\": couldn't parse image name \"" + img +
           "\": invalid reference format",
       true, false, ""},
      {"signature", "SignatureValidationFailed",
       "Source image rejected: A signature was required, but no signature exists", true, false, ""},
      {"pull not found", "ErrImagePull", not_found, false, true, ""},
      {"pull manifest unknown (docker)", "ErrImagePull",
       "Error response from daemon: manifest for " + img +
           " not found: manifest unknown: manifest "
           "unknown",
       false, true, ""},
      {"pull denied", "ErrImagePull", denied, false, false, ""},
      {"back-off 1.32 not found", "ImagePullBackOff",
       "Back-off pulling image \"" + img + "\": ErrImagePull: " + not_found, false, true,
       "ErrImagePull"},
      {"back-off 1.32 denied", "ImagePullBackOff",
       "Back-off pulling image \"" + img + "\": ErrImagePull: " + denied, false, false,
       "ErrImagePull"},
      {"registry unavailable", "RegistryUnavailable",
       "Get \"https://gcr.io/v2/\": dial tcp: lookup gcr.io: i/o timeout", false, false, ""},
      {"inspect", "ImageInspectError",
       "Failed to inspect image \"" + img + "\": rpc error: code = Unknown desc = unexpected EOF",
       false, false, ""},
      {"config", "CreateContainerConfigError", "configmap \"app-config\" not found", false, false,
       ""},
  };
  for (const EditedCase& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto doc = PullPod(tc.reason, tc.message);
    auto c = ClassifyPod(*doc, kNow);
    ASSERT_EQ(c.findings.size(), 1u);
    const Finding& f = c.findings[0];
    EXPECT_EQ(f.reason, tc.reason);
    EXPECT_EQ(f.terminal, tc.terminal);
    EXPECT_EQ(f.image_missing_from_registry, tc.missing);
    EXPECT_EQ(f.previous_reason, tc.previous);
    EXPECT_EQ(f.message, tc.message);
    EXPECT_EQ(f.image, img);
    EXPECT_EQ(f.node, "docker-for-desktop");
    EXPECT_TRUE(c.running_images.empty());
  }
}

TEST(ClassifierEdited, OOMKilledTerminatedAndInCrashLoop) {
  BACKSTOP_REQUIRE_FIXTURES();
  // pod-failed.yaml with its terminated container changed to kubelet's OOMKilled (exit 137).
  auto failed = testing::LoadFixtureJson("pods/gitops-engine_pod-failed.yaml");
  SetString(*failed, "/status/containerStatuses/0/state/terminated/reason", "OOMKilled");
  rapidjson::Pointer("/status/containerStatuses/0/state/terminated/exitCode").Set(*failed, 137);
  auto c = ClassifyPod(*failed, kNow);
  ASSERT_EQ(Reasons(c), std::vector<std::string>{"OOMKilled"});
  EXPECT_TRUE(c.findings[0].terminal);

  // pod-crashloop.yaml whose last termination was OOMKilled: both the loop and its cause.
  auto loop = testing::LoadFixtureJson("pods/gitops-engine_pod-crashloop.yaml");
  SetString(*loop, "/status/containerStatuses/0/lastState/terminated/reason", "OOMKilled");
  rapidjson::Pointer("/status/containerStatuses/0/lastState/terminated/exitCode").Set(*loop, 137);
  auto l = ClassifyPod(*loop, kNow);
  EXPECT_EQ(Reasons(l), (std::vector<std::string>{"CrashLoopBackOff", "OOMKilled"}));
  for (const Finding& f : l.findings) EXPECT_FALSE(f.terminal);
}

TEST(ClassifierEdited, EvictedAndDeadlineExceededArePodLevel) {
  BACKSTOP_REQUIRE_FIXTURES();
  // pod-failed.yaml with kubelet's eviction reason and message in status.
  auto evicted = testing::LoadFixtureJson("pods/gitops-engine_pod-failed.yaml");
  SetString(*evicted, "/status/reason", "Evicted");
  const std::string eviction =
      "The node was low on resource: memory. Threshold quantity: 100Mi, available: 64Mi. "
      "Container main was using 900Mi, request is 0, has larger consumption of memory. ";
  SetString(*evicted, "/status/message", eviction);
  auto e = ClassifyPod(*evicted, kNow);
  // The container's exit is a consequence of the eviction and not reported.
  ASSERT_EQ(Reasons(e), std::vector<std::string>{"Evicted"});
  EXPECT_TRUE(e.findings[0].terminal);
  EXPECT_EQ(e.findings[0].message, eviction);
  EXPECT_TRUE(e.findings[0].container.empty());
  EXPECT_EQ(e.findings[0].kind, ContainerKind::kNone);
  EXPECT_EQ(e.findings[0].node, "minikube");

  // pod-failed.yaml with kubelet's activeDeadlineSeconds reason and message.
  auto deadline = testing::LoadFixtureJson("pods/gitops-engine_pod-failed.yaml");
  SetString(*deadline, "/status/reason", "DeadlineExceeded");
  SetString(*deadline, "/status/message",
            "Pod was active on the node longer than the specified deadline");
  auto d = ClassifyPod(*deadline, kNow);
  ASSERT_EQ(Reasons(d), std::vector<std::string>{"DeadlineExceeded"});
  EXPECT_TRUE(d.findings[0].terminal);
}

TEST(ClassifierEdited, EphemeralContainerStatuses) {
  BACKSTOP_REQUIRE_FIXTURES();
  // k9s_po.json (running nginx) with a debug container whose image cannot be pulled.
  auto doc = testing::LoadFixtureJson("pods/k9s_po.json");
  SetString(*doc, "/spec/ephemeralContainers/0/name", "debugger");
  SetString(*doc, "/spec/ephemeralContainers/0/image", "busybox:1.36-typo");
  SetString(*doc, "/status/ephemeralContainerStatuses/0/name", "debugger");
  SetString(*doc, "/status/ephemeralContainerStatuses/0/image", "busybox:1.36-typo");
  SetWaiting(*doc, "/status/ephemeralContainerStatuses/0", "ErrImagePull",
             "rpc error: code = NotFound desc = failed to pull and unpack image "
             "\"docker.io/library/busybox:1.36-typo\": failed to resolve reference "
             "\"docker.io/library/busybox:1.36-typo\": docker.io/library/busybox:1.36-typo: not "
             "found");
  auto c = ClassifyPod(*doc, kNow);
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].kind, ContainerKind::kEphemeral);
  EXPECT_EQ(c.findings[0].container, "debugger");
  EXPECT_EQ(c.findings[0].image, "busybox:1.36-typo");
  EXPECT_TRUE(c.findings[0].image_missing_from_registry);
  EXPECT_EQ(c.running_images, std::vector<std::string>{"nginx:alpine"});
}

TEST(ClassifierEdited, InitContainerImageFailure) {
  BACKSTOP_REQUIRE_FIXTURES();
  // k9s_po_init.json with its init container unable to start: image never pulled.
  auto doc = testing::LoadFixtureJson("pods/k9s_po_init.json");
  SetWaiting(*doc, "/status/initContainerStatuses/0", "ErrImageNeverPull",
             "Container image \"nginx:alpine\" is not present with pull policy of Never");
  auto c = ClassifyPod(*doc, kNow);
  ASSERT_EQ(Reasons(c), std::vector<std::string>{"ErrImageNeverPull"});
  EXPECT_EQ(c.findings[0].kind, ContainerKind::kInit);
  EXPECT_EQ(c.findings[0].container, "ic1");
  EXPECT_TRUE(c.findings[0].terminal);
  EXPECT_EQ(c.findings[0].node, "minikube");
}

// ---- helpers ----

TEST(ClassifierHelpers, BackOffMessage) {
  EXPECT_FALSE(ParseBackOffMessage("Back-off pulling image \"nginx:1\"").has_value());
  auto c = ParseBackOffMessage("Back-off pulling image \"nginx:1\": ErrImagePull: boom: here");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->reason, "ErrImagePull");
  EXPECT_EQ(c->detail, "boom: here");
  EXPECT_FALSE(ParseBackOffMessage("Back-off 40s restarting failed container=main").has_value());
  EXPECT_FALSE(ParseBackOffMessage("Back-off pulling image \"x\": not a reason: y").has_value());
}

TEST(ClassifierHelpers, RegistryNotFound) {
  EXPECT_TRUE(IsRegistryNotFoundMessage("reading manifest v9 in quay.io/a/b: manifest unknown"));
  EXPECT_TRUE(IsRegistryNotFoundMessage("rpc error: code = NotFound desc = x"));
  EXPECT_FALSE(IsRegistryNotFoundMessage("unauthorized: authentication required"));
  EXPECT_FALSE(IsRegistryNotFoundMessage("dial tcp 10.0.0.1:443: i/o timeout"));
  EXPECT_FALSE(IsRegistryNotFoundMessage(""));
}

TEST(ClassifierHelpers, Timestamps) {
  EXPECT_EQ(At("1970-01-01T00:00:10Z").time_since_epoch(), std::chrono::seconds(10));
  EXPECT_EQ(At("1970-01-01T01:00:10+01:00").time_since_epoch(), std::chrono::seconds(10));
  EXPECT_EQ(At("1970-01-01T00:00:10.5Z").time_since_epoch(), std::chrono::milliseconds(10500));
  EXPECT_FALSE(ParseTimestamp("2019-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseTimestamp("2019-01-01T00:00:00").has_value());
  EXPECT_FALSE(ParseTimestamp("yesterday").has_value());
}

TEST(ClassifierHelpers, ToleratesMalformedPods) {
  Document doc;
  doc.Parse(R"({"metadata":{"name":7},"spec":[],"status":{"containerStatuses":[1,{"state":null},
              {"name":"a","state":{"waiting":{"reason":5}}}],"conditions":"x"}})");
  ASSERT_FALSE(doc.HasParseError());
  auto c = ClassifyPod(doc, kNow);
  EXPECT_TRUE(c.findings.empty());
  Document empty;
  empty.Parse("[]");
  EXPECT_TRUE(ClassifyPod(empty, kNow).findings.empty());
  EXPECT_TRUE(ClassifyJob(empty).empty());
}

}  // namespace
}  // namespace backstop::watcher
