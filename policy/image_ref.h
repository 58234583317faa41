#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

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
  // Name()[:tag][@digest] exactly as parsed (distribution/reference's String()).
  std::string String() const;
  // Name()[:tag][@digest]; the tag is "latest" when neither tag nor digest was given.
  std::string Normalized() const;
};

// Why a reference was rejected. The names follow distribution/reference and go-digest
// (ErrReferenceInvalidFormat, digest.ErrDigestInvalidLength, ...).
enum class ImageRefErrorKind {
  kNone,
  kReferenceInvalidFormat,  // "invalid reference format"
  kNameContainsUppercase,   // "repository name must be lowercase"
  kNameEmpty,               // "repository name must have at least one component"
  kNameTooLong,             // "repository name must not be more than 255 characters"
  kDigestInvalidFormat,     // "invalid checksum digest format"
  kDigestInvalidLength,     // "invalid checksum digest length"
  kDigestUnsupported,       // "unsupported digest algorithm"
  kHexIdentifier,           // a bare 64-hex image ID given as a repository name
};

// The upstream error text of `kind` (empty for kNone). ParseNormalizedReference words
// kNameContainsUppercase and kHexIdentifier with the offending name instead.
std::string_view ImageRefErrorText(ImageRefErrorKind kind);

// Longest repository path (without domain) the grammar accepts.
inline constexpr size_t kMaxRepositoryPathLength = 255;

// reference.Parse: the grammar only, no normalisation (no docker.io, no library/, no
// default tag). On success fills *out (domain may be empty) and returns kNone; on failure
// leaves *out unspecified.
ImageRefErrorKind ParseReference(std::string_view reference, ImageRef* out);

// reference.ParseNormalizedNamed, which kubelet applies to every container image:
// familiar names become docker.io/library/..., "index.docker.io" becomes "docker.io".
// On failure *message (when not null) gets the upstream error text, e.g.
// "invalid reference format: repository name (library/Nginx) must be lowercase".
ImageRefErrorKind ParseNormalizedReference(std::string_view reference, ImageRef* out,
                                           std::string* message);

// Parses and normalises like ParseNormalizedNamed (see ParseNormalizedReference); the
// error carries the upstream message (e.g. "invalid reference format").
StatusOr<ImageRef> ParseImageRef(std::string_view reference);

// The normalised form used as the key of image knowledge (node image lists, observations):
// Normalized() of the parsed reference, or nullopt when it does not parse.
std::optional<std::string> NormalizeImage(std::string_view reference);

// Grammar pieces, each anchored at both ends (the productions of distribution/reference).
// host[:port]: a DNS-like name, IPv4, or [IPv6] (no zone), with an optional numeric port.
bool IsValidDomain(std::string_view s);
// [domain "/"] path-component ("/" path-component)*; on success *domain and *path (when
// not null) view into `name` (domain empty when the first component is not a domain).
// No length limit is applied here.
bool SplitRepositoryName(std::string_view name, std::string_view* domain, std::string_view* path);
// [\w][\w.-]{0,127}
bool IsValidTag(std::string_view s);
// algorithm ":" hex{32,} as the reference grammar spells digests (syntax only).
bool IsDigestSyntax(std::string_view s);
// go-digest's Digest.Validate with sha256, sha384 and sha512 available.
ImageRefErrorKind ValidateDigest(std::string_view digest);
// 64 lowercase hex characters (an image ID).
bool IsImageIdentifier(std::string_view s);
// name [":" tag] ["@" digest] syntax; on success the parts (when not null) view into `s`.
bool MatchReferenceSyntax(std::string_view s, std::string_view* name, std::string_view* tag,
                          std::string_view* digest);

}  // namespace backstop::policy
