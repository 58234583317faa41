// Measures the cluster-knowledge builder at the size it is designed for: 5,000 nodes each
// listing 50 images and 100,000 pods. Prints figures only; asserts nothing.
//
//   knowledge_bench [nodes] [pods] [events]
//
// Objects are synthesised as JSON text shaped like kubelet/apiserver output (see the
// fixtures), parsed with RapidJSON and fed through the same ObjectSink calls the watcher
// makes (Replace for the initial lists, Apply for watch events).

#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "policy/image_ref.h"
#include "watcher/facts_store.h"
#include "watcher/knowledge.h"

namespace {

using backstop::watcher::FactsStore;
using backstop::watcher::Knowledge;
using backstop::watcher::KnowledgeOptions;
using backstop::watcher::WatchEventType;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of this thread: on a shared machine wall time also counts other processes.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A /proc/self/status field in kB (VmHWM: peak resident set; VmRSS: current).
long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return -1;
}

std::string ImageName(int i) {
  return "registry.example.com/team-" + std::to_string(i % 97) + "/service-" + std::to_string(i) +
         ":v1." + std::to_string(i % 13);
}

std::string Digest(int i) {
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%064x", i * 2654435761u);
  return buf;
}

std::string NodeJson(int n, int images_per_node, int image_pool) {
  std::string s = "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-" +
                  std::to_string(n) + "\",\"uid\":\"uid-node-" + std::to_string(n) +
                  "\",\"labels\":{\"kubernetes.io/hostname\":\"node-" + std::to_string(n) +
                  "\",\"kubernetes.io/os\":\"linux\",\"topology.kubernetes.io/zone\":\"zone-" +
                  std::to_string(n % 3) + "\"}},\"status\":{\"images\":[";
  for (int k = 0; k < images_per_node; ++k) {
    const int img = (n * 7 + k * 31) % image_pool;
    const std::string name = ImageName(img);
    const std::string repo = name.substr(0, name.rfind(':'));
    if (k > 0) s += ",";
    s += "{\"names\":[\"" + repo + "@sha256:" + Digest(img) + "\",\"" + name +
         "\"],\"sizeBytes\":" + std::to_string(100000000 + img) + "}";
  }
  s += "]}}";
  return s;
}

// state: 0 running, 1 ErrImageNeverPull, 2 ErrImagePull not found.
std::string PodJson(int p, int nodes, int image_pool, int state, int generation = 0) {
  const std::string name = "task-" + std::to_string(p);
  const std::string node = "node-" + std::to_string(p % nodes);
  const std::string image = state == 0 ? ImageName((p * 13) % image_pool)
                                       : "registry.example.com/agents/missing-" +
                                             std::to_string((p / 100) % 50) + ":latest";
  std::string status;
  if (state == 0) {
    status = "\"state\":{\"running\":{\"startedAt\":\"2025-01-01T00:00:00Z\"}}";
  } else if (state == 1) {
    status =
        "\"state\":{\"waiting\":{\"reason\":\"ErrImageNeverPull\",\"message\":\"Container image "
        "\\\"" +
        image + "\\\" is not present with pull policy of Never\"}}";
  } else {
    status =
        "\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\",\"message\":\"rpc error: code = "
        "NotFound desc = failed to pull and unpack image \\\"" +
        image + "\\\": failed to resolve reference \\\"" + image + "\\\": " + image +
        ": not found\"}}";
  }
  return "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name +
         "\",\"namespace\":\"ns-" + std::to_string(p % 200) + "\",\"uid\":\"uid-" + name +
         "\",\"resourceVersion\":\"" + std::to_string(1000 + generation) +
         "\"},\"spec\":{\"nodeName\":\"" + node +
         "\",\"containers\":[{\"name\":\"main\",\"image\":\"" + image +
         "\",\"imagePullPolicy\":\"IfNotPresent\"}]},\"status\":{\"phase\":\"" +
         (state == 0 ? "Running" : "Pending") +
         "\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"" + (state == 0 ? "True" : "False") +
         "\",\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"}],\"containerStatuses\":[{\"name\":"
         "\"main\",\"image\":\"" +
         image + "\",\"ready\":" + (state == 0 ? "true" : "false") + ",\"restartCount\":0," +
         status + "}]}}";
}

int StateOf(int p) { return p % 100 == 0 ? 1 : (p % 100 == 1 ? 2 : 0); }

}  // namespace

int main(int argc, char** argv) {
  const int nodes = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int pods = argc > 2 ? std::atoi(argv[2]) : 100000;
  const int events = argc > 3 ? std::atoi(argv[3]) : 50000;
  const int images_per_node = 50;
  const int image_pool = 20000;
  std::printf("knowledge_bench: %d nodes x %d images, %d pods, %d events\n", nodes, images_per_node,
              pods, events);

  FactsStore store;
  backstop::policy::TimePoint now = backstop::policy::Clock::now();
  Knowledge knowledge(KnowledgeOptions{}, &store, [&now] { return now; });

  // ---- initial lists ----
  auto t = Clock::now();
  std::string node_list = "{\"apiVersion\":\"v1\",\"kind\":\"NodeList\",\"items\":[";
  for (int n = 0; n < nodes; ++n) {
    if (n > 0) node_list += ",";
    node_list += NodeJson(n, images_per_node, image_pool);
  }
  node_list += "]}";
  std::string pod_list = "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"items\":[";
  for (int p = 0; p < pods; ++p) {
    if (p > 0) pod_list += ",";
    pod_list += PodJson(p, nodes, image_pool, StateOf(p));
  }
  pod_list += "]}";
  std::printf("synthesised  NodeList %.1f MB, PodList %.1f MB in %.2f s\n", node_list.size() / 1e6,
              pod_list.size() / 1e6, Seconds(t));
  const long rss_text = StatusKb("VmRSS");

  {
    t = Clock::now();
    rapidjson::Document doc;
    doc.Parse(node_list.data(), node_list.size());
    const double parse = Seconds(t);
    std::vector<const rapidjson::Value*> items;
    for (const auto& item : doc["items"].GetArray()) items.push_back(&item);
    t = Clock::now();
    double cpu = CpuSeconds();
    knowledge.Replace("nodes", items);
    cpu = CpuSeconds() - cpu;
    std::printf("nodes list   parse %.3f s, Replace %.3f s wall, %.3f s cpu (%.1f us/node cpu)\n",
                parse, Seconds(t), cpu, cpu * 1e6 / nodes);
  }
  {
    t = Clock::now();
    rapidjson::Document doc;
    doc.Parse(pod_list.data(), pod_list.size());
    const double parse = Seconds(t);
    std::vector<const rapidjson::Value*> items;
    for (const auto& item : doc["items"].GetArray()) items.push_back(&item);
    t = Clock::now();
    double cpu = CpuSeconds();
    knowledge.Replace("pods", items);
    cpu = CpuSeconds() - cpu;
    std::printf("pods list    parse %.3f s, Replace %.3f s wall, %.3f s cpu (%.2f us/pod cpu)\n",
                parse, Seconds(t), cpu, cpu * 1e6 / pods);
  }
  knowledge.MarkSynced("nodes");
  knowledge.MarkSynced("pods");
  std::string().swap(node_list);
  std::string().swap(pod_list);

  // ---- snapshot build ----
  t = Clock::now();
  auto facts = knowledge.Publish(now);
  std::printf(
      "snapshot     first build+publish %.3f s: %zu nodes, %zu images indexed, %zu absent, "
      "%zu missing\n",
      Seconds(t), facts->nodes.size(), facts->nodes_with_image.size(), facts->absent_on_node.size(),
      facts->missing_from_registry.size());
  const int rebuilds = 5;
  t = Clock::now();
  double rebuild_cpu = CpuSeconds();
  for (int i = 0; i < rebuilds; ++i) facts = knowledge.PublishNow(now);
  rebuild_cpu = CpuSeconds() - rebuild_cpu;
  std::printf("snapshot     rebuild %.3f s wall, %.3f s cpu each (avg of %d)\n",
              Seconds(t) / rebuilds, rebuild_cpu / rebuilds, rebuilds);
  const long rss_steady = StatusKb("VmRSS");
  std::printf(
      "memory       RSS %.1f MB with knowledge + one snapshot (input text freed; %.1f MB "
      "while it was held)\n",
      rss_steady / 1024.0, rss_text / 1024.0);

  // ---- watch events ----
  std::vector<std::string> texts;
  texts.reserve(static_cast<size_t>(events));
  std::mt19937 rng(42);
  for (int e = 0; e < events; ++e) {
    const int p = static_cast<int>(rng() % static_cast<unsigned>(pods));
    // Flip between running and failing so that knowledge really changes.
    const int state = StateOf(p) == 0 ? (e % 10 == 0 ? 1 : 0) : 0;
    texts.push_back(PodJson(p, nodes, image_pool, state, e + 1));
  }
  double parse_s = 0, apply_s = 0, parse_cpu = 0, apply_cpu = 0;
  int published = 0;
  for (int e = 0; e < events; ++e) {
    auto t0 = Clock::now();
    const double c0 = CpuSeconds();
    rapidjson::Document doc;
    doc.Parse(texts[static_cast<size_t>(e)].data(), texts[static_cast<size_t>(e)].size());
    auto t1 = Clock::now();
    const double c1 = CpuSeconds();
    knowledge.Apply("pods", WatchEventType::kModified, doc);
    apply_s += std::chrono::duration<double>(Clock::now() - t1).count();
    apply_cpu += CpuSeconds() - c1;
    parse_cpu += c1 - c0;
    parse_s += std::chrono::duration<double>(t1 - t0).count();
    if (e % 5000 == 4999) {  // a publisher coalescing ~5,000 events per snapshot
      now += std::chrono::seconds(1);
      if (knowledge.Publish(now)) ++published;
    }
  }
  std::printf(
      "events       Apply %.0f events/s wall (%.0f cpu), parse+Apply %.0f events/s wall (%.0f "
      "cpu); %d coalesced snapshots\n",
      events / apply_s, events / apply_cpu, events / (parse_s + apply_s),
      events / (parse_cpu + apply_cpu), published);

  // ---- lookups ----
  facts = knowledge.PublishNow(now);
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    auto k = backstop::policy::NormalizeImage(i % 2 == 0 ? ImageName(i * 17 % image_pool)
                                                         : "registry.example.com/agents/missing-" +
                                                               std::to_string(i % 50) + ":latest");
    if (k) keys.push_back(*k);
  }
  const int lookups = 2000000;
  size_t hits = 0;
  t = Clock::now();
  double lookup_cpu = CpuSeconds();
  for (int i = 0; i < lookups; ++i) {
    const std::string& k = keys[static_cast<size_t>(i) % keys.size()];
    if (auto it = facts->nodes_with_image.find(k); it != facts->nodes_with_image.end()) {
      hits += it->second.size();
    }
    if (facts->absent_on_node.count(k) > 0) ++hits;
    if (facts->missing_from_registry.count(k) > 0) ++hits;
  }
  lookup_cpu = CpuSeconds() - lookup_cpu;
  std::printf("lookups      %.1f ns wall, %.1f ns cpu per image (3 map lookups; %zu hits)\n",
              Seconds(t) * 1e9 / lookups, lookup_cpu * 1e9 / lookups, hits);

  std::printf("peak RSS     VmHWM %.1f MB\n", StatusKb("VmHWM") / 1024.0);
  return 0;
}
