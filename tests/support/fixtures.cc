#include "tests/support/fixtures.h"

#include <rapidjson/pointer.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "app/documents.h"

namespace backstop::testing {

std::filesystem::path FixturesDir() {
  if (const char* env = std::getenv("BACKSTOP_FIXTURES_DIR")) return env;
  return BACKSTOP_FIXTURES_DIR;
}

bool FixturesAvailable() {
  std::error_code ec;
  return std::filesystem::is_directory(FixturesDir() / "admission", ec);
}

std::filesystem::path Fixture(const std::string& relative) { return FixturesDir() / relative; }

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(Fixture(relative), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read fixture " << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<rapidjson::Document> LoadFixtureJson(const std::string& relative) {
  auto docs = app::ParseDocuments(ReadFixture(relative), relative);
  if (!docs.ok()) {
    ADD_FAILURE() << docs.status().message();
    return std::make_unique<rapidjson::Document>();
  }
  if (docs->empty()) {
    ADD_FAILURE() << relative << ": no document";
    return std::make_unique<rapidjson::Document>();
  }
  return std::move((*docs)[0].json);
}

std::vector<std::filesystem::path> FixtureFiles(const std::string& folder,
                                                const std::vector<std::string>& suffixes) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(Fixture(folder), ec)) {
    const std::string name = entry.path().filename().string();
    for (const auto& s : suffixes) {
      if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        out.push_back(entry.path());
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::filesystem::path SourceDir() { return BACKSTOP_SOURCE_DIR; }

void SetString(rapidjson::Document& doc, const std::string& pointer, std::string_view value) {
  rapidjson::Pointer(pointer.c_str()).Set(doc, std::string(value));
}

void SetWaiting(rapidjson::Document& doc, const std::string& status, std::string_view why,
                std::string_view message) {
  rapidjson::Value state(rapidjson::kObjectType);
  rapidjson::Pointer((status + "/state").c_str()).Set(doc, state);
  SetString(doc, status + "/state/waiting/reason", why);
  SetString(doc, status + "/state/waiting/message", message);
}

}  // namespace backstop::testing
