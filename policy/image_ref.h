#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/result.h"

namespace backstop::policy {

// A parsed container image reference, following the distribution/reference grammar
// (the one kubelet applies before reporting InvalidImageName).
struct ImageRef {
  std::string domain;  // registry host[:port], e.g. "docker.io" after normalisation
  std::string path;    // repository path, e.g. "library/nginx"
  std::string tag;     // empty when absent
  std::string digest;  // "sha256:..." when present

  // domain/path, e.g. "docker.io/library/nginx".
  std::string Name() const;
  // Name()[:tag][@digest]; the tag is "latest" when neither tag nor digest was given.
  std::string Normalized() const;
};

// Parses and normalises (docker.io and library/ for familiar names, "latest" default tag)
// like ParseNormalizedNamed. The error says what is wrong in kubelet-like words
// (e.g. "repository name must be lowercase", "invalid reference format").
Result<ImageRef> ParseImageRef(std::string_view reference);

// The normalised form used as the key of image knowledge (node image lists, observations):
// Normalized() of the parsed reference, or nullopt when it does not parse.
std::optional<std::string> NormalizeImage(std::string_view reference);

}  // namespace backstop::policy
