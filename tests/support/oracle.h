#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::testing {

// The upstream oracles (tests/oracles): Go programs built into <build>/oracles that answer
// with the implementations backstop mirrors, one answer line per input line.

// Runs oracle `name` once over `inputs` (each written as one line) and returns its answer
// lines, one per input. When the oracle is not built (Go toolchain or sources missing), or
// it fails or answers with another number of lines, the current test fails with a message
// saying why and what to install, and nullopt is returned.
std::optional<std::vector<std::string>> RunOracle(const std::string& name,
                                                  const std::vector<std::string>& inputs);

// Lowercase hex of bytes, and back (nullopt on odd length or a non-hex character).
std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);

// `line` split at every tab; empty fields are kept.
std::vector<std::string_view> SplitTabs(std::string_view line);

// How much smaller corpora are in this build: 1 normally, 4 under AddressSanitizer (its
// run of the same suite stays short while every corpus still covers each generator).
size_t CorpusDivisor();

}  // namespace backstop::testing
