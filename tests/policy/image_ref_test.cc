#include "policy/image_ref.h"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"

namespace backstop::policy {
namespace {

using testing::ReadFixture;

// A tab-separated table with a header row; cells are addressed by column name.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // 1-based file line of each row

  std::string Cell(size_t row, const std::string& column) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == column) return i < rows[row].size() ? rows[row][i] : std::string();
    }
    ADD_FAILURE() << "no column " << column;
    return {};
  }
};

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

Table LoadTable(const std::string& relative) {
  Table table;
  std::istringstream in(ReadFixture(relative));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (table.header.empty()) {
      table.header = SplitTabs(line);
      continue;
    }
    table.rows.push_back(SplitTabs(line));
    table.lines.push_back(number);
  }
  return table;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Upstream error variable names as the table spells them.
ImageRefErrorKind ErrorKindFromName(const std::string& name) {
  static const std::map<std::string, ImageRefErrorKind> kKinds = {
      {"ErrReferenceInvalidFormat", ImageRefErrorKind::kReferenceInvalidFormat},
      {"ErrNameContainsUppercase", ImageRefErrorKind::kNameContainsUppercase},
      {"ErrNameEmpty", ImageRefErrorKind::kNameEmpty},
      {"ErrNameTooLong", ImageRefErrorKind::kNameTooLong},
      {"digest.ErrDigestInvalidFormat", ImageRefErrorKind::kDigestInvalidFormat},
      {"digest.ErrDigestInvalidLength", ImageRefErrorKind::kDigestInvalidLength},
      {"digest.ErrDigestUnsupported", ImageRefErrorKind::kDigestUnsupported},
  };
  auto it = kKinds.find(name);
  EXPECT_NE(it, kKinds.end()) << "unknown error name " << name;
  return it == kKinds.end() ? ImageRefErrorKind::kNone : it->second;
}

// What one row expects, read from its columns.
struct Expected {
  bool valid = false;
  std::string error, name, domain, path, tag, digest, normalized;
};

Expected ExpectedOf(const Table& t, size_t r) {
  Expected e;
  e.valid = t.Cell(r, "valid") == "yes";
  e.error = t.Cell(r, "expected_error");
  e.name = t.Cell(r, "expected_name");
  e.domain = t.Cell(r, "expected_domain");
  e.path = t.Cell(r, "expected_path");
  e.tag = t.Cell(r, "expected_tag");
  e.digest = t.Cell(r, "expected_digest");
  e.normalized = t.Cell(r, "expected_normalized");
  return e;
}

// Compares the parts a row asserts (an empty expected cell is not asserted, except the
// domain of reference.Parse rows, where empty means Domain() is empty).
void ExpectParts(const Expected& e, const ImageRef& ref, bool domain_always_asserted) {
  if (!e.name.empty()) {
    EXPECT_EQ(ref.Name(), e.name);
  }
  if (domain_always_asserted || !e.domain.empty()) {
    EXPECT_EQ(ref.domain, e.domain);
  }
  if (!e.path.empty()) {
    EXPECT_EQ(ref.path, e.path);
  }
  if (!e.tag.empty()) {
    EXPECT_EQ(ref.tag, e.tag);
  }
  if (!e.digest.empty()) {
    EXPECT_EQ(ref.digest, e.digest);
  }
}

// reference.Parse (and reference.Field, which calls it).
void CheckParse(const std::string& input, const Expected& e, bool domain_asserted) {
  ImageRef ref;
  const ImageRefErrorKind kind = ParseReference(input, &ref);
  ASSERT_EQ(kind == ImageRefErrorKind::kNone, e.valid) << ImageRefErrorText(kind);
  if (!e.valid) {
    if (!e.error.empty()) {
      EXPECT_EQ(kind, ErrorKindFromName(e.error)) << ImageRefErrorText(kind);
    }
    return;
  }
  ExpectParts(e, ref, domain_asserted);
  EXPECT_EQ(ref.String(), input);  // upstream: String() == input when valid
}

// reference.WithName: the name grammar plus the path length limit.
void CheckWithName(const std::string& input, const Expected& e) {
  std::string_view domain;
  std::string_view path;
  const bool ok =
      SplitRepositoryName(input, &domain, &path) && path.size() <= kMaxRepositoryPathLength;
  ASSERT_EQ(ok, e.valid);
  if (!e.valid) {
    const bool grammar = SplitRepositoryName(input, nullptr, nullptr);
    if (e.error == "ErrNameTooLong") {
      EXPECT_TRUE(grammar);
    }
    if (e.error == "ErrReferenceInvalidFormat") {
      EXPECT_FALSE(grammar);
    }
    return;
  }
  EXPECT_EQ(domain, e.domain);
  if (!e.path.empty()) {
    EXPECT_EQ(path, e.path);
  }
}

// reference.WithName + WithTag/WithDigest, then String(): WithTag checks the tag grammar
// and WithDigest only the digest syntax (not the algorithm's length), so the table's short
// digests are accepted there.
void CheckConstructed(const Expected& e) {
  ImageRef ref;
  std::string_view domain;
  std::string_view path;
  ASSERT_TRUE(SplitRepositoryName(e.name, &domain, &path));
  ref.domain = std::string(domain);
  ref.path = std::string(path);
  if (!e.tag.empty()) {
    ASSERT_TRUE(IsValidTag(e.tag));
    ref.tag = e.tag;
  }
  if (!e.digest.empty()) {
    ASSERT_TRUE(IsDigestSyntax(e.digest));
    ref.digest = e.digest;
  }
  EXPECT_EQ(ref.String(), e.normalized);
}

// reference.ParseNormalizedNamed: what kubelet applies to container images.
void CheckNormalized(const std::string& input, const Expected& e) {
  ImageRef ref;
  std::string message;
  const ImageRefErrorKind kind = ParseNormalizedReference(input, &ref, &message);
  ASSERT_EQ(kind == ImageRefErrorKind::kNone, e.valid) << message;
  if (!e.valid) {
    EXPECT_FALSE(message.empty());
    if (!e.error.empty()) {
      EXPECT_EQ(kind, ErrorKindFromName(e.error));
    }
    return;
  }
  ExpectParts(e, ref, false);
  if (!e.normalized.empty()) {
    EXPECT_EQ(ref.String(), e.normalized);
  }
}

// reference.ParseNamed: ParseNormalizedNamed, and the input must already be canonical.
void CheckParseNamed(const std::string& input, const Expected& e) {
  ImageRef ref;
  const bool parsed = ParseNormalizedReference(input, &ref, nullptr) == ImageRefErrorKind::kNone;
  const bool canonical = parsed && ref.String() == input;
  ASSERT_EQ(canonical, e.valid);
  if (e.error == "ErrNameNotCanonical") {
    EXPECT_TRUE(parsed) << "expected a non-canonical name";
  }
  if (e.valid) ExpectParts(e, ref, false);
}

// reference.ParseAnyReference: an image ID, a bare digest, or a normalised name.
void CheckParseAny(const std::string& input, const Expected& e) {
  std::string got;
  if (IsImageIdentifier(input)) {
    got = "sha256:" + input;
  } else if (ValidateDigest(input) == ImageRefErrorKind::kNone) {
    got = input;
  } else {
    auto ref = ParseImageRef(input);
    ASSERT_EQ(ref.ok(), e.valid) << (ref.ok() ? "" : ref.status().message());
    if (!ref.ok()) return;
    got = ref->String();
  }
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(got, e.normalized);
}

// reference.ParseDockerRef: normalised; tag+digest keeps the digest only; a bare name
// gets "latest".
void CheckParseDockerRef(const std::string& input, const Expected& e) {
  auto ref = ParseImageRef(input);
  ASSERT_EQ(ref.ok(), e.valid) << (ref.ok() ? "" : ref.status().message());
  if (!ref.ok()) return;
  if (!ref->digest.empty()) {
    ref->tag.clear();
  } else if (ref->tag.empty()) {
    ref->tag = "latest";
  }
  EXPECT_EQ(ref->String(), e.normalized);
}

void CheckNameRegexp(const std::string& input, const Expected& e) {
  std::string_view domain;
  std::string_view path;
  ASSERT_EQ(SplitRepositoryName(input, &domain, &path), e.valid);
  if (!e.valid) return;
  if (!e.domain.empty() || !e.path.empty()) {  // rows that assert the submatches
    EXPECT_EQ(domain, e.domain);
    EXPECT_EQ(path, e.path);
  }
}

void CheckReferenceRegexp(const std::string& input, const Expected& e) {
  std::string_view name;
  std::string_view tag;
  std::string_view digest;
  ASSERT_EQ(MatchReferenceSyntax(input, &name, &tag, &digest), e.valid);
  if (!e.valid) return;
  EXPECT_EQ(name, e.name);
  EXPECT_EQ(tag, e.tag);
  EXPECT_EQ(digest, e.digest);
}

TEST(ImageRefTest, DistributionReferenceTableAgreesRowByRow) {
  BACKSTOP_REQUIRE_FIXTURES();
  const Table t = LoadTable("imagerefs/image-refs-distribution-reference.tsv");
  ASSERT_GT(t.rows.size(), 300u);
  std::map<std::string, int> checked;
  std::vector<std::string> diverged;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string api = t.Cell(r, "api");
    const std::string input = t.Cell(r, "input");
    const Expected e = ExpectedOf(t, r);
    SCOPED_TRACE("line " + std::to_string(t.lines[r]) + " [" + api + "] input=\"" + input + "\"");
    if (api == "reference.Parse" && e.error == "digest.ErrDigestUnsupported" &&
        StartsWith(input, "validname@sha512:")) {
      // Deliberate divergence: go-digest reports sha512 as unsupported only when the
      // binary does not link crypto/sha512, as upstream's test binary does not. kubelet
      // links it, so a well-formed sha512 digest is valid for the kubelet grammar.
      ImageRef ref;
      EXPECT_EQ(ParseReference(input, &ref), ImageRefErrorKind::kNone);
      EXPECT_EQ(ValidateDigest(input.substr(input.find('@') + 1)), ImageRefErrorKind::kNone);
      diverged.push_back(input.substr(0, 24) + "...");
      continue;
    }
    if (api == "reference.Parse") {
      CheckParse(input, e, /*domain_asserted=*/true);
    } else if (api == "reference.Field JSON unmarshal") {
      CheckParse(input, e, /*domain_asserted=*/false);
    } else if (api == "reference.WithName") {
      CheckWithName(input, e);
    } else if (StartsWith(api, "reference.WithName(name)+")) {
      CheckConstructed(e);
    } else if (StartsWith(api, "reference.ParseNamed")) {
      CheckParseNamed(input, e);
    } else if (api == "reference.ParseNormalizedNamed") {
      CheckNormalized(input, e);
    } else if (StartsWith(api, "reference.WithTag(")) {
      EXPECT_EQ(IsValidTag(input), e.valid);
    } else if (StartsWith(api, "reference.WithDigest(")) {
      EXPECT_EQ(IsDigestSyntax(input), e.valid);
    } else if (api == "reference.ParseAnyReference") {
      CheckParseAny(input, e);
    } else if (api == "reference.ParseDockerRef") {
      CheckParseDockerRef(input, e);
    } else if (StartsWith(api, "regexp ^domainAndPort$")) {
      EXPECT_EQ(IsValidDomain(input), e.valid);
    } else if (StartsWith(api, "regexp anchoredNameRegexp")) {
      CheckNameRegexp(input, e);
    } else if (StartsWith(api, "regexp referenceRegexp")) {
      CheckReferenceRegexp(input, e);
    } else if (StartsWith(api, "regexp anchoredIdentifierRegexp")) {
      EXPECT_EQ(IsImageIdentifier(input), e.valid);
    } else {
      ADD_FAILURE() << "row of an API this test does not know";
      continue;
    }
    ++checked[api];
  }
  int total = 0;
  for (const auto& [api, n] : checked) {
    std::cout << "  " << n << " rows  " << api << "\n";
    total += n;
  }
  std::cout << "  distribution/reference: " << total << " rows agree, " << diverged.size()
            << " deliberate divergence (sha512 available as in kubelet), of " << t.rows.size()
            << "\n";
  EXPECT_EQ(total + static_cast<int>(diverged.size()), static_cast<int>(t.rows.size()));
  EXPECT_EQ(diverged.size(), 1u);
  EXPECT_GE(checked["reference.ParseNormalizedNamed"], 100);
}

TEST(ImageRefTest, GoContainerRegistryTableAgreesRowByRow) {
  BACKSTOP_REQUIRE_FIXTURES();
  const Table t = LoadTable("imagerefs/image-refs-go-containerregistry.tsv");
  ASSERT_GT(t.rows.size(), 50u);
  int weak_checked = 0;
  int strict_checked = 0;
  int not_asserted = 0;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string api = t.Cell(r, "api");
    const std::string input = t.Cell(r, "input");
    SCOPED_TRACE("line " + std::to_string(t.lines[r]) + " [" + api + "] input=\"" + input + "\"");
    // Weak validation is what kubelet accepts: defaults for registry and tag apply.
    // Strict validation additionally needs an explicit registry and, for tags and
    // digests, an explicit tag or digest.
    bool weak = false;
    bool explicit_registry = false;
    bool explicit_tag_or_digest = false;
    if (StartsWith(api, "name.NewRegistry")) {
      weak = input.empty() || IsValidDomain(input);
      explicit_registry = !input.empty();
      explicit_tag_or_digest = true;
    } else {
      ImageRef ref;
      weak = ParseNormalizedReference(input, &ref, nullptr) == ImageRefErrorKind::kNone;
      if (StartsWith(api, "name.NewRepository"))
        weak = weak && ref.tag.empty() && ref.digest.empty();
      // The registry is explicit when the input starts with the domain the parse kept
      // (index.docker.io is rewritten to docker.io).
      const std::string first = input.substr(0, input.find('/'));
      explicit_registry = weak && input.find('/') != std::string::npos &&
                          (first == ref.domain || first == "index.docker.io");
      explicit_tag_or_digest = StartsWith(api, "name.NewRepository") ||
                               (weak && (!ref.tag.empty() || !ref.digest.empty()));
    }
    const bool strict = weak && explicit_registry && explicit_tag_or_digest;
    const std::string want_weak = t.Cell(r, "valid_weak_validation");
    const std::string want_strict = t.Cell(r, "valid_strict_validation");
    if (want_weak == "not asserted") {
      ++not_asserted;
    } else {
      EXPECT_EQ(weak, want_weak == "yes") << "weak";
      ++weak_checked;
    }
    if (want_strict == "not asserted") {
      ++not_asserted;
    } else {
      EXPECT_EQ(strict, want_strict == "yes") << "strict";
      ++strict_checked;
    }
  }
  std::cout << "  go-containerregistry: " << t.rows.size() << " rows, " << weak_checked
            << " weak and " << strict_checked << " strict verdicts agree, " << not_asserted
            << " cells not asserted upstream\n";
  EXPECT_EQ(weak_checked + strict_checked + not_asserted, static_cast<int>(2 * t.rows.size()));
}

TEST(ImageRefTest, NormalisesFamiliarNames) {
  struct Case {
    const char* input;
    const char* normalized;
  };
  const Case cases[] = {
      {"nginx", "docker.io/library/nginx:latest"},
      {"nginx:1.25", "docker.io/library/nginx:1.25"},
      {"index.docker.io/nginx", "docker.io/library/nginx:latest"},
      {"bitnami/kubectl:1.30", "docker.io/bitnami/kubectl:1.30"},
      {"localhost:5000/x", "localhost:5000/x:latest"},
      {"localhost/x", "localhost/x:latest"},
      {"quay.io/a/b:v1", "quay.io/a/b:v1"},
      {"Docker/agent", "Docker/agent:latest"},
      {"[::1]:5000/repo:tag", "[::1]:5000/repo:tag"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto norm = NormalizeImage(c.input);
    ASSERT_TRUE(norm.has_value());
    EXPECT_EQ(*norm, c.normalized);
  }
  const std::string digest = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(NormalizeImage("repo@" + digest), "docker.io/library/repo@" + digest);
}

TEST(ImageRefTest, ErrorMessagesUseUpstreamWording) {
  auto upper = ParseImageRef("Nginx:latest");
  ASSERT_FALSE(upper.ok());
  EXPECT_EQ(upper.status().message(),
            "invalid reference format: repository name (library/Nginx) must be lowercase");
  auto upper_path = ParseImageRef("ghcr.io/Org/agent");
  ASSERT_FALSE(upper_path.ok());
  EXPECT_EQ(upper_path.status().message(),
            "invalid reference format: repository name (Org/agent) must be lowercase");
  auto bad = ParseImageRef("nginx:1.25 ");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid reference format");
  auto short_digest = ParseImageRef("nginx@sha256:" + std::string(40, 'a'));
  ASSERT_FALSE(short_digest.ok());
  EXPECT_EQ(short_digest.status().message(), "invalid checksum digest length");
  auto too_long = ParseImageRef("example.com/" + std::string(256, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().message(), "repository name must not be more than 255 characters");
  const std::string id(64, 'b');
  auto hex = ParseImageRef(id);
  ASSERT_FALSE(hex.ok());
  EXPECT_EQ(hex.status().message(),
            "invalid repository name (" + id + "), cannot specify 64-byte hexadecimal strings");
  EXPECT_FALSE(NormalizeImage("").has_value());
  EXPECT_FALSE(NormalizeImage("nginx:").has_value());
  EXPECT_EQ(ImageRefErrorText(ImageRefErrorKind::kNameContainsUppercase),
            "repository name must be lowercase");
}

}  // namespace
}  // namespace backstop::policy
