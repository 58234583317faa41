// What the docs show is what the code does.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/fixtures.h"
#include "tests/support/subprocess.h"

namespace backstop::app {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The README (or a page under docs/) includes `backstop rules` verbatim: a rule added to
// the table without its docs fails here.
TEST(Docs, ShowTheRuleTableAsTheCodeHasIt) {
  testing::ProcessResult r = testing::RunBackstop({"rules"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(r.out.find("| `taskSpawner` |"), std::string::npos) << r.out;
  std::vector<fs::path> pages = {testing::SourceDir() / "README.md"};
  const fs::path docs = testing::SourceDir() / "docs";
  if (fs::is_directory(docs)) {
    for (const auto& e : fs::directory_iterator(docs)) {
      if (e.path().extension() == ".md") pages.push_back(e.path());
    }
  }
  bool found = false;
  for (const fs::path& page : pages)
    found = found || ReadAll(page).find(r.out) != std::string::npos;
  EXPECT_TRUE(found) << "no page of the docs holds the output of `backstop rules`:\n" << r.out;
}

}  // namespace
}  // namespace backstop::app
