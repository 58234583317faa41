#include "policy/image_ref.h"

#include <algorithm>

namespace backstop::policy {
namespace {

// The grammar is matched by hand (no regular expressions): every production below is a
// small scanner over a string_view, and nothing allocates until the result is filled.

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr std::string_view kLocalhost = "localhost";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsLower(c) || IsUpper(c); }
bool IsLowerAlnum(char c) { return IsDigit(c) || IsLower(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }

bool HasUpper(std::string_view s) { return std::any_of(s.begin(), s.end(), IsUpper); }

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [._] | "__" | "-"+
bool IsPathComponent(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (n == 0 || !IsLowerAlnum(s[0])) return false;
  while (true) {
    while (i < n && IsLowerAlnum(s[i])) ++i;
    if (i == n) return true;
    const char c = s[i];
    if (c == '.') {
      ++i;
    } else if (c == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (c == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == n || !IsLowerAlnum(s[i])) return false;
  }
}

// remote-name := path-component ("/" path-component)*
bool IsRemoteName(std::string_view s) {
  while (true) {
    const size_t slash = s.find('/');
    if (!IsPathComponent(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsDomainComponent(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

// domain-name := domain-component ("." domain-component)*
bool IsDomainName(std::string_view s) {
  while (true) {
    const size_t dot = s.find('.');
    if (!IsDomainComponent(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// algorithm components of the reference grammar: [A-Za-z][A-Za-z0-9]* joined by [-_+.]
bool IsReferenceDigestAlgorithm(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (true) {
    if (i == n || !(IsLower(s[i]) || IsUpper(s[i]))) return false;
    ++i;
    while (i < n && IsAlnum(s[i])) ++i;
    if (i == n) return true;
    const char c = s[i];
    if (c != '-' && c != '_' && c != '+' && c != '.') return false;
    ++i;
  }
}

// go-digest's DigestRegexp: [a-z0-9]+([.+_-][a-z0-9]+)* ":" [a-zA-Z0-9=_-]+
bool IsGoDigestSyntax(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algorithm = s.substr(0, colon);
  std::string_view encoded = s.substr(colon + 1);
  size_t i = 0;
  const size_t n = algorithm.size();
  while (true) {
    const size_t start = i;
    while (i < n && IsLowerAlnum(algorithm[i])) ++i;
    if (i == start) return false;
    if (i == n) break;
    const char c = algorithm[i];
    if (c != '.' && c != '+' && c != '_' && c != '-') return false;
    ++i;
  }
  if (encoded.empty()) return false;
  return std::all_of(encoded.begin(), encoded.end(),
                     [](char c) { return IsAlnum(c) || c == '=' || c == '_' || c == '-'; });
}

// Hex length of the digest algorithms kubelet has linked in, 0 for any other.
size_t DigestHexLength(std::string_view algorithm) {
  if (algorithm == "sha256") return 64;
  if (algorithm == "sha384") return 96;
  if (algorithm == "sha512") return 128;
  return 0;
}

// How splitDockerDomain divides a reference: the domain and the remainder (path plus
// any tag and digest), each possibly with a prefix the input did not spell.
struct DockerSplit {
  std::string_view domain;
  bool add_library_prefix = false;
  std::string_view remainder;  // without the added "library/" prefix
};

DockerSplit SplitDockerDomain(std::string_view name) {
  DockerSplit split;
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    // A single element ("ubuntu", "ubuntu:latest") is always a Docker Hub official image.
    split.domain = kDefaultDomain;
    split.add_library_prefix = true;
    split.remainder = name;
    return split;
  }
  const std::string_view maybe_domain = name.substr(0, slash);
  const std::string_view maybe_remainder = name.substr(slash + 1);
  if (maybe_domain == kLocalhost) {
    split.domain = maybe_domain;
    split.remainder = maybe_remainder;
  } else if (maybe_domain == kLegacyDefaultDomain) {
    split.domain = kDefaultDomain;
    split.remainder = maybe_remainder;
  } else if (maybe_domain.find_first_of(".:") != std::string_view::npos || HasUpper(maybe_domain)) {
    // Looks like a host (a dot, a port, an IPv6 address) or is not a valid namespace
    // (uppercase), so it is taken as the domain.
    split.domain = maybe_domain;
    split.remainder = maybe_remainder;
  } else {
    split.domain = kDefaultDomain;
    split.remainder = name;
  }
  if (split.domain == kDefaultDomain && split.remainder.find('/') == std::string_view::npos) {
    split.add_library_prefix = true;
  }
  return split;
}

void FillRef(std::string_view domain, std::string_view path, std::string_view tag,
             std::string_view digest, ImageRef* out) {
  out->domain.assign(domain);
  out->path.assign(path);
  out->tag.assign(tag);
  out->digest.assign(digest);
}

}  // namespace

std::string ImageRef::Name() const { return domain.empty() ? path : domain + "/" + path; }

std::string ImageRef::String() const {
  std::string out = Name();
  if (!tag.empty()) out.append(":").append(tag);
  if (!digest.empty()) out.append("@").append(digest);
  return out;
}

std::string ImageRef::Normalized() const {
  std::string out = Name();
  if (!tag.empty()) {
    out += ":" + tag;
  } else if (digest.empty()) {
    out += ":latest";
  }
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string_view ImageRefErrorText(ImageRefErrorKind kind) {
  switch (kind) {
    case ImageRefErrorKind::kNone:
      return "";
    case ImageRefErrorKind::kReferenceInvalidFormat:
      return "invalid reference format";
    case ImageRefErrorKind::kNameContainsUppercase:
      return "repository name must be lowercase";
    case ImageRefErrorKind::kNameEmpty:
      return "repository name must have at least one component";
    case ImageRefErrorKind::kNameTooLong:
      return "repository name must not be more than 255 characters";
    case ImageRefErrorKind::kDigestInvalidFormat:
      return "invalid checksum digest format";
    case ImageRefErrorKind::kDigestInvalidLength:
      return "invalid checksum digest length";
    case ImageRefErrorKind::kDigestUnsupported:
      return "unsupported digest algorithm";
    case ImageRefErrorKind::kHexIdentifier:
      return "invalid repository name, cannot specify 64-byte hexadecimal strings";
  }
  return "invalid reference format";
}

bool IsValidDomain(std::string_view s) {
  std::string_view host = s;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!IsHex(c) && c != ':') return false;
    }
    std::string_view rest = s.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    has_port = true;
    port = rest.substr(1);
  } else {
    const size_t colon = s.find(':');
    if (colon != std::string_view::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      has_port = true;
    }
    if (!IsDomainName(host)) return false;
  }
  if (!has_port) return true;
  return !port.empty() && std::all_of(port.begin(), port.end(), IsDigit);
}

bool SplitRepositoryName(std::string_view name, std::string_view* domain, std::string_view* path) {
  // The optional domain is preferred: it is the first component when that component is a
  // valid host[:port] and the rest is a valid remote name.
  const size_t slash = name.find('/');
  if (slash != std::string_view::npos && IsValidDomain(name.substr(0, slash)) &&
      IsRemoteName(name.substr(slash + 1))) {
    if (domain != nullptr) *domain = name.substr(0, slash);
    if (path != nullptr) *path = name.substr(slash + 1);
    return true;
  }
  if (!IsRemoteName(name)) return false;
  if (domain != nullptr) *domain = std::string_view();
  if (path != nullptr) *path = name;
  return true;
}

bool IsValidTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !IsWord(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return IsWord(c) || c == '.' || c == '-'; });
}

bool IsDigestSyntax(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  if (!IsReferenceDigestAlgorithm(s.substr(0, colon))) return false;
  std::string_view hex = s.substr(colon + 1);
  return hex.size() >= 32 && std::all_of(hex.begin(), hex.end(), IsHex);
}

ImageRefErrorKind ValidateDigest(std::string_view digest) {
  const size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == digest.size()) {
    return ImageRefErrorKind::kDigestInvalidFormat;
  }
  const std::string_view algorithm = digest.substr(0, colon);
  const std::string_view encoded = digest.substr(colon + 1);
  const size_t want = DigestHexLength(algorithm);
  if (want == 0) {
    return IsGoDigestSyntax(digest) ? ImageRefErrorKind::kDigestUnsupported
                                    : ImageRefErrorKind::kDigestInvalidFormat;
  }
  if (encoded.size() != want) return ImageRefErrorKind::kDigestInvalidLength;
  if (!std::all_of(encoded.begin(), encoded.end(), IsLowerHex)) {
    return ImageRefErrorKind::kDigestInvalidFormat;
  }
  return ImageRefErrorKind::kNone;
}

bool IsImageIdentifier(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), IsLowerHex);
}

bool MatchReferenceSyntax(std::string_view s, std::string_view* name, std::string_view* tag,
                          std::string_view* digest) {
  // '@' occurs only before the digest, and ':' after the last '/' only before the tag
  // (a ':' in the name belongs to the domain's port or IPv6 address, which is always
  // followed by '/'), so the three parts split without backtracking.
  std::string_view rest = s;
  std::string_view digest_part;
  const size_t at = s.find('@');
  if (at != std::string_view::npos) {
    digest_part = s.substr(at + 1);
    if (!IsDigestSyntax(digest_part)) return false;
    rest = s.substr(0, at);
  }
  std::string_view tag_part;
  const size_t colon = rest.rfind(':');
  const size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag_part = rest.substr(colon + 1);
    if (!IsValidTag(tag_part)) return false;
    rest = rest.substr(0, colon);
  }
  if (!SplitRepositoryName(rest, nullptr, nullptr)) return false;
  if (name != nullptr) *name = rest;
  if (tag != nullptr) *tag = tag_part;
  if (digest != nullptr) *digest = digest_part;
  return true;
}

ImageRefErrorKind ParseReference(std::string_view reference, ImageRef* out) {
  if (reference.empty()) return ImageRefErrorKind::kNameEmpty;
  std::string_view name;
  std::string_view tag;
  std::string_view digest;
  if (!MatchReferenceSyntax(reference, &name, &tag, &digest)) {
    // Only on the error path: does the lowercased input parse? Then the name had capitals.
    if (HasUpper(reference)) {
      std::string lower(reference);
      for (char& c : lower) {
        if (IsUpper(c)) c = static_cast<char>(c - 'A' + 'a');
      }
      if (MatchReferenceSyntax(lower, nullptr, nullptr, nullptr)) {
        return ImageRefErrorKind::kNameContainsUppercase;
      }
    }
    return ImageRefErrorKind::kReferenceInvalidFormat;
  }
  std::string_view domain;
  std::string_view path;
  SplitRepositoryName(name, &domain, &path);
  if (path.size() > kMaxRepositoryPathLength) return ImageRefErrorKind::kNameTooLong;
  if (!digest.empty()) {
    const ImageRefErrorKind digest_error = ValidateDigest(digest);
    if (digest_error != ImageRefErrorKind::kNone) return digest_error;
  }
  FillRef(domain, path, tag, digest, out);
  return ImageRefErrorKind::kNone;
}

ImageRefErrorKind ParseNormalizedReference(std::string_view reference, ImageRef* out,
                                           std::string* message) {
  auto fail = [message](ImageRefErrorKind kind, std::string text) {
    if (message != nullptr) *message = std::move(text);
    return kind;
  };
  if (IsImageIdentifier(reference)) {
    return fail(ImageRefErrorKind::kHexIdentifier,
                "invalid repository name (" + std::string(reference) +
                    "), cannot specify 64-byte hexadecimal strings");
  }
  const DockerSplit split = SplitDockerDomain(reference);
  // The repository part is the remainder up to its first ':' (a digest without a tag
  // leaves "name@sha256" here, as upstream does). Only ASCII capitals are detected;
  // other characters fail the grammar below with "invalid reference format".
  const std::string_view remote = split.remainder.substr(0, split.remainder.find(':'));
  if (HasUpper(remote)) {
    std::string shown = split.add_library_prefix ? std::string(kOfficialRepoPrefix) : std::string();
    shown.append(remote);
    return fail(ImageRefErrorKind::kNameContainsUppercase,
                "invalid reference format: repository name (" + shown + ") must be lowercase");
  }
  // Parse domain + "/" + remainder. When the split kept the input as it was, that string
  // is the input itself and nothing is copied.
  ImageRefErrorKind kind;
  const bool unchanged = !split.add_library_prefix && split.domain.data() == reference.data() &&
                         split.remainder.data() == reference.data() + split.domain.size() + 1;
  if (unchanged) {
    kind = ParseReference(reference, out);
  } else {
    std::string joined;
    joined.reserve(split.domain.size() + 1 + kOfficialRepoPrefix.size() + split.remainder.size());
    joined.append(split.domain).append("/");
    if (split.add_library_prefix) joined.append(kOfficialRepoPrefix);
    joined.append(split.remainder);
    kind = ParseReference(joined, out);
  }
  if (kind != ImageRefErrorKind::kNone) return fail(kind, std::string(ImageRefErrorText(kind)));
  return kind;
}

StatusOr<ImageRef> ParseImageRef(std::string_view reference) {
  ImageRef ref;
  std::string message;
  if (ParseNormalizedReference(reference, &ref, &message) != ImageRefErrorKind::kNone) {
    return InvalidArgumentError(std::move(message));
  }
  return ref;
}

std::optional<std::string> NormalizeImage(std::string_view reference) {
  auto ref = ParseImageRef(reference);
  if (!ref) return std::nullopt;
  return ref->Normalized();
}

}  // namespace backstop::policy
