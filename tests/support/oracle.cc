#include "tests/support/oracle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "tests/support/subprocess.h"

namespace backstop::testing {

std::optional<std::vector<std::string>> RunOracle(const std::string& name,
                                                  const std::vector<std::string>& inputs) {
  const std::string path = std::string(BACKSTOP_ORACLE_DIR) + "/" + name;
  const std::string missing = BACKSTOP_ORACLE_MISSING;
  if (access(path.c_str(), X_OK) != 0) {
    if (missing.empty()) {
      ADD_FAILURE() << "the Go oracle " << path
                    << " is not built: build the target `oracles` (cmake --build <build dir> "
                       "--target oracles).";
    } else {
      ADD_FAILURE() << "the Go oracle " << path
                    << " is not built because these were missing when cmake configured the "
                       "build:"
                    << missing
                    << ". Install them with scripts/install-deps.sh (Debian packages golang-go, "
                       "golang-github-docker-distribution-dev, "
                       "golang-github-evanphx-json-patch-dev), then run cmake again.";
    }
    return std::nullopt;
  }
  std::string input;
  size_t bytes = 0;
  for (const auto& line : inputs) bytes += line.size() + 1;
  input.reserve(bytes);
  for (const auto& line : inputs) {
    if (line.find('\n') != std::string::npos) {
      ADD_FAILURE() << "oracle input holds a newline: " << line;
      return std::nullopt;
    }
    input += line;
    input += '\n';
  }
  ProcessResult r = RunProcess({path}, input, std::chrono::minutes(5));
  if (r.timed_out || r.exit_code != 0) {
    ADD_FAILURE() << "the Go oracle " << name << " failed (exit " << r.exit_code
                  << (r.timed_out ? ", timed out" : "") << "): " << r.err;
    return std::nullopt;
  }
  std::vector<std::string> lines;
  lines.reserve(inputs.size());
  size_t start = 0;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    lines.emplace_back(r.out, start, end - start);
    start = end + 1;
  }
  if (lines.size() != inputs.size()) {
    ADD_FAILURE() << "the Go oracle " << name << " answered " << lines.size() << " lines for "
                  << inputs.size() << " inputs; stderr: " << r.err;
    return std::nullopt;
  }
  return lines;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const size_t tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return fields;
    line.remove_prefix(tab + 1);
  }
}

size_t CorpusDivisor() {
#if defined(__SANITIZE_ADDRESS__)
  return 4;
#else
  return 1;
#endif
}

}  // namespace backstop::testing
