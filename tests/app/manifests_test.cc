// Renders every kustomize overlay under manifests/overlays with `kubectl kustomize` and
// checks the invariants that keep backstop safe to install: webhooks never reach the
// control plane or backstop itself, never have side effects, answer quickly, reach the
// server's real port and paths; the pods are locked down; RBAC is exactly what the
// watcher needs. Also checks the Dockerfile statically (no container engine needed).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/documents.h"
#include "base/json_util.h"
#include "policy/config.h"
#include "tests/support/base64.h"
#include "tests/support/fixtures.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace backstop {
namespace {

namespace fs = std::filesystem;
using rapidjson::Value;
using testing::OnPath;
using testing::ProcessResult;
using testing::ReadFileToString;
using testing::RunShell;
using testing::ShellQuote;
using testing::SourceDir;
using testing::TempDir;

// ---------------------------------------------------------------------------------------
// Small helpers: commands, JSON access.

std::string Str(const Value* v) { return StringOrEmpty(v); }

int64_t Int(const Value* v, int64_t fallback = -1) {
  return v != nullptr && v->IsInt64() ? v->GetInt64() : fallback;
}

bool IsTrue(const Value* v) { return v != nullptr && v->IsBool() && v->GetBool(); }

std::vector<const Value*> Items(const Value* v) {
  std::vector<const Value*> out;
  if (v == nullptr || !v->IsArray()) return out;
  for (const auto& item : v->GetArray()) out.push_back(&item);
  return out;
}

std::vector<std::string> Strings(const Value* v) {
  std::vector<std::string> out;
  for (const Value* item : Items(v)) out.push_back(Str(item));
  return out;
}

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string Kind(const Value& doc) { return Str(Member(&doc, "kind")); }
std::string Name(const Value& doc) { return Str(Find(&doc, {"metadata", "name"})); }
std::string Namespace(const Value& doc) { return Str(Find(&doc, {"metadata", "namespace"})); }

// ---------------------------------------------------------------------------------------
// Rendering every overlay once per test program.

struct Rendered {
  std::string overlay;
  std::vector<app::SourceDocument> docs;
  std::string error;   // empty when rendering and parsing worked
  std::string ca_pem;  // self-signed: the ca.crt the overlay was rendered with

  std::vector<const Value*> OfKind(const std::string& kind) const {
    std::vector<const Value*> out;
    for (const auto& d : docs) {
      if (Kind(*d.json) == kind) out.push_back(d.json.get());
    }
    return out;
  }
  const Value* Find(const std::string& kind, const std::string& name,
                    const std::string& ns = "") const {
    for (const Value* d : OfKind(kind)) {
      if (Name(*d) == name && (ns.empty() || Namespace(*d) == ns)) return d;
    }
    return nullptr;
  }
  const Value* Deployment() const {
    auto all = OfKind("Deployment");
    return all.size() == 1 ? all[0] : nullptr;
  }
  // Every webhook of both configurations, with the configuration's kind.
  std::vector<std::pair<std::string, const Value*>> Webhooks() const {
    std::vector<std::pair<std::string, const Value*>> out;
    for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
      for (const Value* config : OfKind(kind)) {
        for (const Value* hook : Items(Member(config, "webhooks"))) out.emplace_back(kind, hook);
      }
    }
    return out;
  }
};

class ManifestsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!OnPath("kubectl")) return;
    scratch_ = new TempDir();
    // Render copies, so generating certificates never touches the source tree.
    const fs::path copy = scratch_->path() / "manifests";
    fs::copy(SourceDir() / "manifests", copy, fs::copy_options::recursive);
    const fs::path overlays = copy / "overlays";
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(overlays)) {
      if (entry.is_directory()) dirs.push_back(entry.path());
    }
    std::sort(dirs.begin(), dirs.end());
    rendered_ = new std::vector<Rendered>();
    for (const auto& dir : dirs) {
      Rendered r;
      r.overlay = dir.filename().string();
      if (r.overlay == "self-signed") {
        const fs::path tls = dir / "tls";
        ProcessResult gen =
            RunShell("bash " + ShellQuote((SourceDir() / "certs" / "gen-certs.sh").string()) +
                     " --force --out " + ShellQuote(tls.string()));
        if (gen.exit_code != 0) {
          r.error = "gen-certs.sh failed: " + gen.err;
          rendered_->push_back(std::move(r));
          continue;
        }
        r.ca_pem = ReadFileToString((tls / "ca.crt").string());
      }
      ProcessResult out = RunShell("kubectl kustomize " + ShellQuote(dir.string()));
      if (out.exit_code != 0) {
        r.error = "kubectl kustomize " + r.overlay + " failed: " + out.err;
      } else {
        auto docs = app::ParseDocuments(out.out, r.overlay);
        if (!docs.ok()) {
          r.error = docs.status().message();
        } else {
          r.docs = std::move(*docs);
        }
      }
      rendered_->push_back(std::move(r));
    }
  }

  static void TearDownTestSuite() {
    delete rendered_;
    rendered_ = nullptr;
    delete scratch_;
    scratch_ = nullptr;
  }

  void SetUp() override {
    if (!OnPath("kubectl")) GTEST_SKIP() << "kubectl not on PATH";
    ASSERT_NE(rendered_, nullptr);
    ASSERT_FALSE(rendered_->empty()) << "no overlays under manifests/overlays";
    for (const auto& r : *rendered_) ASSERT_TRUE(r.error.empty()) << r.overlay << ": " << r.error;
  }

  static const std::vector<Rendered>& Overlays() { return *rendered_; }

  static TempDir* scratch_;
  static std::vector<Rendered>* rendered_;
};

TempDir* ManifestsTest::scratch_ = nullptr;
std::vector<Rendered>* ManifestsTest::rendered_ = nullptr;

constexpr int kServerPort = 8443;
const char* const kTlsDir = "/etc/backstop/tls";
const char* const kConfigDir = "/etc/backstop/config";

const Value* Container(const Value* deployment) {
  auto containers = Items(Find(deployment, {"spec", "template", "spec", "containers"}));
  return containers.size() == 1 ? containers[0] : nullptr;
}

// Resolves a port reference (number or name) against the container's ports.
int ResolveContainerPort(const Value* container, const Value* ref) {
  if (ref == nullptr) return -1;
  if (ref->IsInt64()) return static_cast<int>(ref->GetInt64());
  for (const Value* p : Items(Member(container, "ports"))) {
    if (Str(Member(p, "name")) == Str(ref))
      return static_cast<int>(Int(Member(p, "containerPort")));
  }
  return -1;
}

bool SelectorMatches(const Value* match_labels, const Value* labels) {
  if (match_labels == nullptr || !match_labels->IsObject() || match_labels->MemberCount() == 0)
    return false;
  for (const auto& m : match_labels->GetObject()) {
    const Value* have = Member(labels, m.name.GetString());
    if (Str(have) != Str(&m.value)) return false;
  }
  return true;
}

// `backstop serve --help` of the binary built with these tests.
std::string ServeHelp() {
  TempDir scratch;
  return RunShell(ShellQuote(BACKSTOP_BINARY) + " serve --help").out;
}

// The seconds a duration flag takes: from `args` when given there, else the default that
// the help text prints ("--flag FLOAT:... =5").
bool FlagSeconds(const std::vector<std::string>& args, const std::string& help,
                 const std::string& flag, double* out) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) {
      *out = std::stod(args[i + 1]);
      return true;
    }
    if (args[i].rfind(flag + "=", 0) == 0) {
      *out = std::stod(args[i].substr(flag.size() + 1));
      return true;
    }
  }
  std::smatch m;
  if (!std::regex_search(help, m, std::regex(flag + R"( [^\n]*?=([0-9.]+))"))) return false;
  *out = std::stod(m[1].str());
  return true;
}

// ---------------------------------------------------------------------------------------

TEST_F(ManifestsTest, BothOverlaysRenderEveryPiece) {
  std::set<std::string> names;
  for (const auto& r : Overlays()) names.insert(r.overlay);
  EXPECT_TRUE(names.count("self-signed"));
  EXPECT_TRUE(names.count("cert-manager"));
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    for (const char* kind :
         {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
          "Deployment", "PodDisruptionBudget", "Service", "NetworkPolicy", "ConfigMap",
          "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
      EXPECT_EQ(r.OfKind(kind).size(), 1u) << kind;
    }
    const Value* deployment = r.Deployment();
    ASSERT_NE(deployment, nullptr);
    EXPECT_NE(r.Find("Namespace", Namespace(*deployment)), nullptr)
        << "the Deployment's namespace is created by the manifests";
  }
}

TEST_F(ManifestsTest, EveryWebhookExcludesItsOwnNamespaceAndKubeSystem) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    ASSERT_NE(deployment, nullptr);
    const std::string own = Namespace(*deployment);
    ASSERT_FALSE(own.empty());
    auto hooks = r.Webhooks();
    ASSERT_GE(hooks.size(), 2u);
    for (const auto& [kind, hook] : hooks) {
      SCOPED_TRACE(Str(Member(hook, "name")));
      EXPECT_EQ(Str(Find(hook, {"clientConfig", "service", "namespace"})), own);
      std::set<std::string> excluded;
      for (const Value* e : Items(Find(hook, {"namespaceSelector", "matchExpressions"}))) {
        if (Str(Member(e, "key")) == "kubernetes.io/metadata.name" &&
            Str(Member(e, "operator")) == "NotIn") {
          for (const auto& v : Strings(Member(e, "values"))) excluded.insert(v);
        }
      }
      EXPECT_TRUE(excluded.count(own)) << "own namespace " << own << " not excluded";
      EXPECT_TRUE(excluded.count("kube-system")) << "kube-system not excluded";
    }
  }
}

TEST_F(ManifestsTest, WebhooksAreSideEffectFreeFastAndExplicit) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    for (const auto& [kind, hook] : r.Webhooks()) {
      SCOPED_TRACE(Str(Member(hook, "name")));
      EXPECT_EQ(Str(Member(hook, "sideEffects")), "None");
      EXPECT_TRUE(Contains(Strings(Member(hook, "admissionReviewVersions")), "v1"));
      const int64_t timeout = Int(Member(hook, "timeoutSeconds"));
      EXPECT_GE(timeout, 1) << "timeoutSeconds must be set (the default is 10)";
      EXPECT_LE(timeout, 5);
      EXPECT_EQ(Str(Member(hook, "matchPolicy")), "Equivalent");
      const std::string policy = Str(Member(hook, "failurePolicy"));
      EXPECT_TRUE(policy == "Ignore" || policy == "Fail") << "failurePolicy must be explicit";
      // Workload resources must never be blocked by a backstop outage.
      for (const Value* rule : Items(Member(hook, "rules"))) {
        for (const auto& res : Strings(Member(rule, "resources"))) {
          if (res == "pods" || res == "jobs" || res == "cronjobs") {
            EXPECT_EQ(policy, "Ignore") << res;
          }
          EXPECT_EQ(res.find('*'), std::string::npos) << "no wildcard resources";
        }
      }
      if (kind == "MutatingWebhookConfiguration") {
        EXPECT_EQ(Str(Member(hook, "reinvocationPolicy")), "IfNeeded");
      }
    }
  }
}

TEST_F(ManifestsTest, WebhooksReachTheServerPortAndPathsThroughTheService) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    const Value* container = Container(deployment);
    ASSERT_NE(container, nullptr);
    const Value* pod_labels = Find(deployment, {"spec", "template", "metadata", "labels"});
    EXPECT_TRUE(SelectorMatches(Find(deployment, {"spec", "selector", "matchLabels"}), pod_labels));

    // The container listens where its args say.
    const auto args = Strings(Member(container, "args"));
    auto listen = std::find(args.begin(), args.end(), "--listen");
    ASSERT_NE(listen, args.end());
    ASSERT_NE(listen + 1, args.end());
    EXPECT_EQ(*(listen + 1), "0.0.0.0:" + std::to_string(kServerPort));
    std::vector<int64_t> container_ports;
    for (const Value* p : Items(Member(container, "ports")))
      container_ports.push_back(Int(Member(p, "containerPort")));
    EXPECT_EQ(container_ports, std::vector<int64_t>{kServerPort});

    for (const auto& [kind, hook] : r.Webhooks()) {
      SCOPED_TRACE(Str(Member(hook, "name")));
      const Value* svc_ref = Find(hook, {"clientConfig", "service"});
      ASSERT_NE(svc_ref, nullptr) << "webhooks call the in-cluster Service, not a URL";
      EXPECT_EQ(Find(hook, {"clientConfig", "url"}), nullptr);
      const std::string path = Str(Member(svc_ref, "path"));
      EXPECT_EQ(path, kind == "MutatingWebhookConfiguration" ? "/mutate" : "/validate");
      const int64_t port = Int(Member(svc_ref, "port"), 443);  // 443 is the API default
      EXPECT_EQ(port, 443);

      const Value* service =
          r.Find("Service", Str(Member(svc_ref, "name")), Str(Member(svc_ref, "namespace")));
      ASSERT_NE(service, nullptr) << "webhook names a Service that is not rendered";
      EXPECT_TRUE(SelectorMatches(Find(service, {"spec", "selector"}), pod_labels))
          << "the Service does not select the backstop pods";
      int target = -1;
      for (const Value* sp : Items(Find(service, {"spec", "ports"}))) {
        if (Int(Member(sp, "port")) == port)
          target = ResolveContainerPort(container, Member(sp, "targetPort"));
      }
      EXPECT_EQ(target, kServerPort)
          << "Service port " << port << " must reach container port " << kServerPort;
    }
  }
}

TEST_F(ManifestsTest, WebhookRulesCoverExactlyTheAdmissionTargets) {
  using Rules = std::set<std::string>;  // "group/version/resource:OPERATION"
  const Rules validating = {"kelos.dev/v1alpha1/taskspawners:CREATE",
                            "kelos.dev/v1alpha1/taskspawners:UPDATE",
                            "kelos.dev/v1alpha2/taskspawners:CREATE",
                            "kelos.dev/v1alpha2/taskspawners:UPDATE",
                            "agent.benjamin-borbe.de/v1/configs:CREATE",
                            "agent.benjamin-borbe.de/v1/configs:UPDATE",
                            "/v1/pods:CREATE",
                            "/v1/pods:UPDATE",
                            "batch/v1/jobs:CREATE",
                            "batch/v1/jobs:UPDATE",
                            "batch/v1/cronjobs:CREATE",
                            "batch/v1/cronjobs:UPDATE"};
  const Rules mutating = {"batch/v1/jobs:CREATE", "batch/v1/cronjobs:CREATE",
                          "batch/v1/cronjobs:UPDATE"};
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    Rules got_validating, got_mutating;
    for (const auto& [kind, hook] : r.Webhooks()) {
      Rules& into = kind == "MutatingWebhookConfiguration" ? got_mutating : got_validating;
      for (const Value* rule : Items(Member(hook, "rules"))) {
        for (const auto& g : Strings(Member(rule, "apiGroups")))
          for (const auto& v : Strings(Member(rule, "apiVersions")))
            for (const auto& res : Strings(Member(rule, "resources")))
              for (const auto& op : Strings(Member(rule, "operations")))
                into.insert(g + "/" + v + "/" + res + ":" + op);
      }
      if (kind == "MutatingWebhookConfiguration") {
        // Mutation only in namespaces that opted in.
        EXPECT_EQ(
            Str(Find(hook, {"namespaceSelector", "matchLabels", "backstop.dev/agent-namespace"})),
            "true");
      } else {
        // Validation is cluster-wide: no opt-in label.
        EXPECT_EQ(Find(hook, {"namespaceSelector", "matchLabels"}), nullptr);
      }
    }
    EXPECT_EQ(got_validating, validating);
    EXPECT_EQ(got_mutating, mutating);
  }
}

TEST_F(ManifestsTest, ProbesUseHealthzAndReadyzOverHttps) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* container = Container(r.Deployment());
    ASSERT_NE(container, nullptr);
    const Value* readiness = Find(container, {"readinessProbe", "httpGet"});
    const Value* liveness = Find(container, {"livenessProbe", "httpGet"});
    ASSERT_NE(readiness, nullptr);
    ASSERT_NE(liveness, nullptr);
    EXPECT_EQ(Str(Member(readiness, "path")), "/readyz");
    EXPECT_EQ(Str(Member(liveness, "path")), "/healthz");
    for (const Value* probe : {readiness, liveness}) {
      EXPECT_EQ(Str(Member(probe, "scheme")), "HTTPS");
      EXPECT_EQ(ResolveContainerPort(container, Member(probe, "port")), kServerPort);
    }
  }
}

TEST_F(ManifestsTest, PodsRunLockedDown) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    const Value* pod = Find(deployment, {"spec", "template", "spec"});
    const Value* pod_sc = Member(pod, "securityContext");
    EXPECT_TRUE(IsTrue(Member(pod_sc, "runAsNonRoot")));
    EXPECT_EQ(Str(Find(pod_sc, {"seccompProfile", "type"})), "RuntimeDefault");
    EXPECT_GT(Int(Member(pod_sc, "runAsUser"), 1), 0);
    EXPECT_FALSE(IsTrue(Member(pod, "hostNetwork")));
    EXPECT_FALSE(IsTrue(Member(pod, "hostPID")));
    for (const Value* c : Items(Member(pod, "containers"))) {
      SCOPED_TRACE(Str(Member(c, "name")));
      const Value* sc = Member(c, "securityContext");
      ASSERT_NE(sc, nullptr);
      const Value* allow = Member(sc, "allowPrivilegeEscalation");
      ASSERT_NE(allow, nullptr) << "allowPrivilegeEscalation must be set explicitly";
      EXPECT_FALSE(IsTrue(allow));
      EXPECT_TRUE(IsTrue(Member(sc, "readOnlyRootFilesystem")));
      EXPECT_FALSE(IsTrue(Member(sc, "privileged")));
      EXPECT_EQ(Strings(Find(sc, {"capabilities", "drop"})), std::vector<std::string>{"ALL"});
      EXPECT_EQ(Find(sc, {"capabilities", "add"}), nullptr);
      if (const Value* user = Member(sc, "runAsUser")) {
        EXPECT_GT(Int(user), 0);
      }
      if (const Value* non_root = Member(sc, "runAsNonRoot")) {
        EXPECT_TRUE(IsTrue(non_root));
      }
      for (const char* bound : {"requests", "limits"}) {
        for (const char* res : {"cpu", "memory"}) {
          EXPECT_FALSE(Str(Find(c, {"resources", bound, res})).empty()) << bound << "." << res;
        }
      }
    }
  }
}

TEST_F(ManifestsTest, TwoSpreadReplicasSurviveADrain) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    const int64_t replicas = Int(Find(deployment, {"spec", "replicas"}));
    EXPECT_GE(replicas, 2);
    const Value* pod_labels = Find(deployment, {"spec", "template", "metadata", "labels"});
    bool spread = false;
    for (const Value* term :
         Items(Find(deployment, {"spec", "template", "spec", "affinity", "podAntiAffinity",
                                 "preferredDuringSchedulingIgnoredDuringExecution"}))) {
      const Value* t = Member(term, "podAffinityTerm");
      spread |= Str(Member(t, "topologyKey")) == "kubernetes.io/hostname" &&
                SelectorMatches(Find(t, {"labelSelector", "matchLabels"}), pod_labels);
    }
    EXPECT_TRUE(spread) << "replicas should prefer different nodes";

    auto pdbs = r.OfKind("PodDisruptionBudget");
    ASSERT_EQ(pdbs.size(), 1u);
    EXPECT_TRUE(SelectorMatches(Find(pdbs[0], {"spec", "selector", "matchLabels"}), pod_labels));
    const int64_t min_available = Int(Find(pdbs[0], {"spec", "minAvailable"}));
    EXPECT_GE(min_available, 1);
    EXPECT_LT(min_available, replicas) << "a PDB that allows no eviction blocks node drains";

    // The grace period covers the server's own shutdown: serving with /readyz failing for
    // --shutdown-delay, then up to --drain-timeout for in-flight requests. Values come from
    // the Deployment's args, else from the defaults the binary itself prints.
    const Value* pod = Find(deployment, {"spec", "template", "spec"});
    const auto args = Strings(Member(Container(deployment), "args"));
    const std::string help = ServeHelp();
    double shutdown = 0, drain = 0;
    ASSERT_TRUE(FlagSeconds(args, help, "--shutdown-delay", &shutdown)) << help;
    ASSERT_TRUE(FlagSeconds(args, help, "--drain-timeout", &drain)) << help;
    const int64_t grace = Int(Member(pod, "terminationGracePeriodSeconds"));
    EXPECT_GE(static_cast<double>(grace), shutdown + drain + 1)
        << "SIGKILL would cut the drain short";
    EXPECT_LE(grace, 120) << "a node drain should not wait minutes for backstop";
  }
}

TEST_F(ManifestsTest, ArgsAreFlagsTheServerKnows) {
  const std::string help = ServeHelp();
  ASSERT_NE(help.find("--listen"), std::string::npos) << help;
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const auto args = Strings(Member(Container(r.Deployment()), "args"));
    ASSERT_FALSE(args.empty());
    EXPECT_EQ(args[0], "serve");
    for (const auto& a : args) {
      if (a.rfind("--", 0) != 0) continue;
      const std::string flag = a.substr(0, a.find('='));
      EXPECT_TRUE(std::regex_search(help, std::regex("(^|[ ,])" + flag + "[ =,\\n]")))
          << flag << " is not a `backstop serve` flag";
    }
  }
}

TEST_F(ManifestsTest, CertificateAndConfigAreMountedWhereTheArgsPoint) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    const Value* container = Container(deployment);
    const auto args = Strings(Member(container, "args"));
    ASSERT_FALSE(args.empty());
    EXPECT_EQ(args[0], "serve");
    auto flag = [&](const std::string& name) {
      auto it = std::find(args.begin(), args.end(), name);
      return it != args.end() && it + 1 != args.end() ? *(it + 1) : std::string();
    };
    EXPECT_EQ(flag("--tls-cert"), std::string(kTlsDir) + "/tls.crt");
    EXPECT_EQ(flag("--tls-key"), std::string(kTlsDir) + "/tls.key");
    EXPECT_EQ(flag("--config"), std::string(kConfigDir) + "/config.yaml");
    EXPECT_EQ(flag("--log-format"), "json");

    std::map<std::string, std::string> mounts;  // volume name -> path
    for (const Value* m : Items(Member(container, "volumeMounts"))) {
      mounts[Str(Member(m, "name"))] = Str(Member(m, "mountPath"));
      EXPECT_EQ(Member(m, "subPath"), nullptr) << "subPath mounts never see updates";
    }
    std::string secret_name, config_name;
    for (const Value* v : Items(Find(deployment, {"spec", "template", "spec", "volumes"}))) {
      const std::string path = mounts[Str(Member(v, "name"))];
      if (path == kTlsDir) secret_name = Str(Find(v, {"secret", "secretName"}));
      if (path == kConfigDir) config_name = Str(Find(v, {"configMap", "name"}));
    }
    ASSERT_FALSE(secret_name.empty()) << "no Secret mounted at " << kTlsDir;
    ASSERT_FALSE(config_name.empty()) << "no ConfigMap mounted at " << kConfigDir;
    const std::string ns = Namespace(*deployment);

    const Value* config = r.Find("ConfigMap", config_name, ns);
    ASSERT_NE(config, nullptr) << config_name;
    EXPECT_NE(Find(config, {"data", "config.yaml"}), nullptr);

    const std::string svc = Name(*r.OfKind("Service")[0]);
    if (r.overlay == "self-signed") {
      const Value* secret = r.Find("Secret", secret_name, ns);
      ASSERT_NE(secret, nullptr) << secret_name;
      EXPECT_EQ(Str(Member(secret, "type")), "kubernetes.io/tls");
      for (const char* key : {"tls.crt", "tls.key", "ca.crt"})
        EXPECT_NE(Find(secret, {"data", key}), nullptr) << key;
      ASSERT_FALSE(r.ca_pem.empty());
      EXPECT_EQ(testing::DecodeBase64(Str(Find(secret, {"data", "ca.crt"}))), r.ca_pem);
      for (const auto& [kind, hook] : r.Webhooks()) {
        SCOPED_TRACE(Str(Member(hook, "name")));
        EXPECT_EQ(testing::DecodeBase64(Str(Find(hook, {"clientConfig", "caBundle"}))), r.ca_pem)
            << "caBundle must be the CA that signed the serving certificate";
      }
    } else if (r.overlay == "cert-manager") {
      EXPECT_EQ(r.Find("Secret", secret_name), nullptr) << "cert-manager creates the Secret";
      for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
        SCOPED_TRACE(kind);
        const Value* config_doc = r.OfKind(kind)[0];
        const std::string inject =
            Str(Find(config_doc, {"metadata", "annotations", "cert-manager.io/inject-ca-from"}));
        const auto slash = inject.find('/');
        ASSERT_NE(slash, std::string::npos) << "inject-ca-from must be <namespace>/<certificate>";
        const Value* cert =
            r.Find("Certificate", inject.substr(slash + 1), inject.substr(0, slash));
        ASSERT_NE(cert, nullptr) << inject;
        EXPECT_EQ(Str(Find(cert, {"spec", "secretName"})), secret_name);
        const auto dns = Strings(Find(cert, {"spec", "dnsNames"}));
        EXPECT_TRUE(Contains(dns, svc + "." + ns + ".svc"));
        EXPECT_TRUE(Contains(dns, svc + "." + ns + ".svc.cluster.local"));
        const Value* issuer = r.Find("Issuer", Str(Find(cert, {"spec", "issuerRef", "name"})), ns);
        ASSERT_NE(issuer, nullptr) << "the serving certificate's Issuer is rendered";
        EXPECT_NE(Find(issuer, {"spec", "ca"}), nullptr)
            << "signed by a CA issuer, not self-signed";
      }
    }
  }
}

TEST_F(ManifestsTest, RbacIsExactlyWhatTheWatcherReadsAndWrites) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    const std::string ns = Namespace(*deployment);
    const std::string sa =
        Str(Find(deployment, {"spec", "template", "spec", "serviceAccountName"}));
    ASSERT_FALSE(sa.empty());
    ASSERT_NE(r.Find("ServiceAccount", sa, ns), nullptr);

    // "scope group resource verb", scope "*" for cluster-wide.
    std::set<std::string> granted;
    auto add_rules = [&](const Value* role, const std::string& scope) {
      for (const Value* rule : Items(Member(role, "rules"))) {
        EXPECT_EQ(Member(rule, "nonResourceURLs"), nullptr);
        for (const auto& g : Strings(Member(rule, "apiGroups")))
          for (const auto& res : Strings(Member(rule, "resources")))
            for (const auto& verb : Strings(Member(rule, "verbs")))
              granted.insert(scope + " " + g + " " + res + " " + verb);
      }
    };
    auto binds_sa = [&](const Value* binding) {
      for (const Value* s : Items(Member(binding, "subjects"))) {
        if (Str(Member(s, "kind")) == "ServiceAccount" && Str(Member(s, "name")) == sa &&
            Str(Member(s, "namespace")) == ns)
          return true;
      }
      return false;
    };
    for (const Value* b : r.OfKind("ClusterRoleBinding")) {
      if (!binds_sa(b)) continue;
      const Value* role = r.Find("ClusterRole", Str(Find(b, {"roleRef", "name"})));
      ASSERT_NE(role, nullptr);
      add_rules(role, "*");
    }
    for (const Value* b : r.OfKind("RoleBinding")) {
      if (!binds_sa(b)) continue;
      const std::string kind = Str(Find(b, {"roleRef", "kind"}));
      const Value* role =
          r.Find(kind, Str(Find(b, {"roleRef", "name"})), kind == "Role" ? Namespace(*b) : "");
      ASSERT_NE(role, nullptr);
      add_rules(role, Namespace(*b));
    }
    const std::set<std::string> expected = {"*  nodes list",
                                            "*  nodes watch",
                                            "*  pods list",
                                            "*  pods watch",
                                            "*  events create",
                                            "*  events patch",
                                            ns + " coordination.k8s.io leases get",
                                            ns + " coordination.k8s.io leases create",
                                            ns + " coordination.k8s.io leases update"};
    EXPECT_EQ(granted, expected);
  }
}

TEST_F(ManifestsTest, NetworkPolicyAdmitsOnlyTheServingPort) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    const Value* deployment = r.Deployment();
    const Value* pod_labels = Find(deployment, {"spec", "template", "metadata", "labels"});
    auto policies = r.OfKind("NetworkPolicy");
    ASSERT_EQ(policies.size(), 1u);
    const Value* np = policies[0];
    EXPECT_EQ(Namespace(*np), Namespace(*deployment));
    EXPECT_TRUE(SelectorMatches(Find(np, {"spec", "podSelector", "matchLabels"}), pod_labels));
    EXPECT_TRUE(Contains(Strings(Find(np, {"spec", "policyTypes"})), "Ingress"));
    auto rules = Items(Find(np, {"spec", "ingress"}));
    ASSERT_FALSE(rules.empty());
    bool metrics_rule = false;
    for (const Value* rule : rules) {
      auto ports = Items(Member(rule, "ports"));
      ASSERT_FALSE(ports.empty()) << "every ingress rule names its port";
      for (const Value* p : ports) EXPECT_EQ(Int(Member(p, "port")), kServerPort);
      ASSERT_FALSE(Items(Member(rule, "from")).empty()) << "every ingress rule names its sources";
      for (const Value* from : Items(Member(rule, "from"))) {
        if (const Value* ns_sel = Member(from, "namespaceSelector")) {
          EXPECT_NE(Member(ns_sel, "matchLabels"), nullptr) << "namespaces must opt in by label";
          metrics_rule |= Member(ns_sel, "matchLabels") != nullptr &&
                          Member(ns_sel, "matchLabels")->MemberCount() > 0;
        }
      }
    }
    EXPECT_TRUE(metrics_rule) << "a labelled monitoring namespace may scrape /metrics";
  }
}

TEST_F(ManifestsTest, ShippedConfigIsAcceptedByThePolicyParser) {
  for (const auto& r : Overlays()) {
    SCOPED_TRACE(r.overlay);
    std::string config_text;
    for (const Value* cm : r.OfKind("ConfigMap"))
      config_text = Str(Find(cm, {"data", "config.yaml"}));
    ASSERT_FALSE(config_text.empty());
    auto docs = app::ParseDocuments(config_text, "config.yaml");
    ASSERT_TRUE(docs.ok()) << docs.status().message();
    ASSERT_EQ(docs->size(), 1u);
    const Value& root = *(*docs)[0].json;
    ASSERT_TRUE(root.IsObject());
    const std::set<std::string> sections = {"taskSpawner", "executorConfig", "jobs", "images",
                                            "watcher"};
    for (const auto& m : root.GetObject())
      EXPECT_TRUE(sections.count(m.name.GetString())) << m.name.GetString();
    // The server's own parser (which also accepts the watcher section) agrees.
    auto parsed = policy::ParsePolicyConfig(root);
    EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  }
}

// ---------------------------------------------------------------------------------------
// Dockerfile, checked by reading (there is no container engine on build machines).

struct DockerStage {
  std::string from;
  std::vector<std::string> instructions;  // continuation lines joined
};

std::vector<DockerStage> ParseDockerfile(const std::string& text) {
  std::vector<DockerStage> stages;
  std::stringstream in(text);
  std::string line, pending;
  while (std::getline(in, line)) {
    if (pending.empty() && (line.empty() || line[0] == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    const std::string instr = pending + line;
    pending.clear();
    if (instr.rfind("FROM ", 0) == 0) {
      stages.push_back({instr.substr(5), {}});
    } else if (!stages.empty()) {
      stages.back().instructions.push_back(instr);
    }
  }
  return stages;
}

std::vector<std::string> WithPrefix(const DockerStage& stage, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& i : stage.instructions) {
    if (i.rfind(prefix, 0) == 0) out.push_back(i.substr(prefix.size()));
  }
  return out;
}

std::vector<std::string> JsonArray(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  if (d.HasParseError() || !d.IsArray()) return {"<not a JSON array: " + text + ">"};
  return Strings(&d);
}

TEST(DockerfileTest, BuildsOnBookwormAndRunsSlimAsNonRoot) {
  const std::string text = ReadFileToString((SourceDir() / "Dockerfile").string());
  ASSERT_FALSE(text.empty());
  auto stages = ParseDockerfile(text);
  ASSERT_EQ(stages.size(), 2u);

  const DockerStage& build = stages[0];
  EXPECT_EQ(build.from.rfind("debian:bookworm AS ", 0), 0u) << build.from;
  std::string runs;
  for (const auto& run : WithPrefix(build, "RUN ")) runs += run + "\n";
  EXPECT_NE(runs.find("scripts/install-deps.sh"), std::string::npos);
  EXPECT_NE(runs.find("-DBACKSTOP_TESTS=OFF"), std::string::npos);
  EXPECT_NE(runs.find("-DCMAKE_BUILD_TYPE=Release"), std::string::npos);

  const DockerStage& run = stages[1];
  EXPECT_EQ(run.from, "debian:bookworm-slim");
  std::string run_stage;
  for (const auto& i : run.instructions) run_stage += i + "\n";
  for (const char* lib : {"libcpp-httplib0.11", "libssl3", "libspdlog1.10", "libfmt9",
                          "libyaml-cpp0.7", "zlib1g", "libbrotli1"}) {
    EXPECT_NE(run_stage.find(lib), std::string::npos) << lib;
  }
  EXPECT_EQ(run_stage.find("-dev"), std::string::npos) << "no development packages at run time";
  auto copies = WithPrefix(run, "COPY ");
  ASSERT_EQ(copies.size(), 1u) << "the runtime stage holds only the binary";
  EXPECT_NE(copies[0].find("--from="), std::string::npos);
  EXPECT_NE(copies[0].find("/usr/local/bin/backstop"), std::string::npos);

  auto users = WithPrefix(run, "USER ");
  ASSERT_EQ(users.size(), 1u);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(users[0], m, std::regex(R"(([0-9]+)(:[0-9]+)?)")))
      << "numeric USER: " << users[0];
  EXPECT_NE(std::stoi(m[1].str()), 0);

  auto entrypoint = WithPrefix(run, "ENTRYPOINT ");
  ASSERT_EQ(entrypoint.size(), 1u);
  EXPECT_EQ(JsonArray(entrypoint[0]), std::vector<std::string>{"/usr/local/bin/backstop"});

  // The image's default command is the one the Deployment runs, and as the same user.
  auto cmd = WithPrefix(run, "CMD ");
  ASSERT_EQ(cmd.size(), 1u);
  auto deployment_docs =
      app::LoadDocuments((SourceDir() / "manifests" / "base" / "deployment.yaml").string());
  ASSERT_TRUE(deployment_docs.ok()) << deployment_docs.status().message();
  const Value* deployment = (*deployment_docs)[0].json.get();
  const Value* container = Container(deployment);
  EXPECT_EQ(JsonArray(cmd[0]), Strings(Member(container, "args")));
  EXPECT_EQ(Int(Find(deployment, {"spec", "template", "spec", "securityContext", "runAsUser"})),
            std::stoi(m[1].str()));
}

TEST(DockerfileTest, ContextExcludesBuildTreesAndKeys) {
  const std::string ignore = ReadFileToString((SourceDir() / ".dockerignore").string());
  std::set<std::string> lines;
  std::stringstream in(ignore);
  std::string line;
  while (std::getline(in, line)) lines.insert(line);
  for (const char* pattern :
       {".git", "build", "build-*", "manifests/overlays/self-signed/tls", "**/*.key"}) {
    EXPECT_TRUE(lines.count(pattern)) << pattern;
  }
}

}  // namespace
}  // namespace backstop
