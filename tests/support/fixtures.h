#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::testing {

// ../shared/fixtures beside the checkout (BACKSTOP_FIXTURES_DIR overrides at run time).
std::filesystem::path FixturesDir();
bool FixturesAvailable();
std::filesystem::path Fixture(const std::string& relative);

// Reads a fixture file; fails the test when it cannot be read.
std::string ReadFixture(const std::string& relative);
// Parses a JSON or (first) YAML document of a fixture into a rapidjson Document.
std::unique_ptr<rapidjson::Document> LoadFixtureJson(const std::string& relative);
// Every file of a fixture folder whose name ends with one of `suffixes`.
std::vector<std::filesystem::path> FixtureFiles(const std::string& folder,
                                                const std::vector<std::string>& suffixes);

// Edits of a fixture: the string at a JSON Pointer, and a container status (pointer to
// it) set to waiting with kubelet's reason and message, for states no public capture has.
void SetString(rapidjson::Document& doc, const std::string& pointer, std::string_view value);
void SetWaiting(rapidjson::Document& doc, const std::string& status, std::string_view why,
                std::string_view message);

// Source tree paths (examples/, manifests/ ...).
std::filesystem::path SourceDir();

}  // namespace backstop::testing

// Skips the current test when ../shared/fixtures is absent (e.g. a lone clone).
#define BACKSTOP_REQUIRE_FIXTURES()                                                   \
  do {                                                                                \
    if (!::backstop::testing::FixturesAvailable()) {                                  \
      GTEST_SKIP() << "fixtures not found at " << ::backstop::testing::FixturesDir(); \
    }                                                                                 \
  } while (0)
