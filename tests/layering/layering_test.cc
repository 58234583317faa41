// The module layering of DESIGN.md, checked two ways:
// - this binary links backstop_policy and GoogleTest only, and decides a request: policy
//   builds and works without logging, HTTP, TLS or the watcher;
// - every module's #include lines respect the dependency direction
//   app -> webhook -> policy <- watcher <- app, with base and obs below them, and policy
//   reaches for no logging, HTTP, thread or file library.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "policy/config.h"
#include "policy/engine.h"

namespace backstop {
namespace {

namespace fs = std::filesystem;

TEST(Layering, PolicyDecidesWithNothingButBase) {
  rapidjson::Document object;
  object.Parse(R"({"apiVersion":"kelos.dev/v1alpha2","kind":"TaskSpawner",
                   "metadata":{"name":"s","namespace":"agents"},
                   "spec":{"when":{"githubIssues":{"pollInterval":"5s"}}}})");
  ASSERT_FALSE(object.HasParseError());
  policy::AdmissionRequest request;
  request.uid = "u";
  request.kind = {"kelos.dev", "v1alpha2", "TaskSpawner"};
  request.resource = {"kelos.dev", "v1alpha2", "taskspawners"};
  request.operation = policy::Operation::kCreate;
  request.object = &object;
  const policy::PolicyConfig config;
  const policy::ClusterFacts facts;
  const policy::PolicyContext context{config, facts, policy::TimePoint{}, policy::TimePoint{}};
  const policy::Decision d = policy::Validate(request, context);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_NE(d.message.find("spec.when.githubIssues.pollInterval"), std::string::npos) << d.message;
}

// The quoted and angled includes of one file.
struct Includes {
  std::vector<std::string> project;  // "module/x.h"
  std::vector<std::string> system;   // <x>
};

Includes ReadIncludes(const fs::path& file) {
  Includes out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const size_t hash = line.find_first_not_of(" \t");
    if (hash == std::string::npos || line.compare(hash, 8, "#include") != 0) continue;
    const size_t open = line.find_first_of("\"<", hash + 8);
    if (open == std::string::npos) continue;
    const char close = line[open] == '"' ? '"' : '>';
    const size_t end = line.find(close, open + 1);
    if (end == std::string::npos) continue;
    const std::string name = line.substr(open + 1, end - open - 1);
    (close == '"' ? out.project : out.system).push_back(name);
  }
  return out;
}

std::vector<fs::path> Sources(const std::string& module) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(BACKSTOP_SOURCE_DIR) / module)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".h" || ext == ".cc") out.push_back(e.path());
  }
  return out;
}

TEST(Layering, ModulesIncludeOnlyWhatTheyMayDependOn) {
  // Module -> the modules it may include (itself always).
  const std::map<std::string, std::set<std::string>> allowed = {
      {"base", {}},
      {"policy", {"base"}},
      {"obs", {"base"}},
      {"webhook", {"base", "policy", "obs"}},
      {"watcher", {"base", "policy", "obs"}},
      {"app", {"base", "policy", "obs", "webhook", "watcher"}},
  };
  int files = 0;
  for (const auto& [module, may] : allowed) {
    for (const fs::path& file : Sources(module)) {
      ++files;
      for (const std::string& inc : ReadIncludes(file).project) {
        const std::string target = inc.substr(0, inc.find('/'));
        EXPECT_TRUE(target == module || may.count(target) > 0)
            << file.filename() << " (" << module << ") includes \"" << inc << "\"";
      }
    }
  }
  EXPECT_GT(files, 50);
}

TEST(Layering, PolicyAndBaseReachForNoLoggingHttpThreadsOrFiles) {
  const std::vector<std::string> forbidden_prefixes = {
      "spdlog", "httplib",   "boost/",   "openssl/",   "yaml-cpp",
      "CLI/",   "nlohmann/", "thread",   "mutex",      "condition_variable",
      "future", "fstream",   "iostream", "filesystem", "random",
      "cstdio", "unistd.h",  "sys/"};
  int files = 0;
  for (const std::string module : {"policy", "base"}) {
    for (const fs::path& file : Sources(module)) {
      ++files;
      for (const std::string& inc : ReadIncludes(file).system) {
        for (const std::string& bad : forbidden_prefixes) {
          EXPECT_NE(inc.rfind(bad, 0), 0u) << file.filename() << " includes <" << inc << ">";
        }
      }
    }
  }
  EXPECT_GT(files, 20);
}

}  // namespace
}  // namespace backstop
