// Differential test of the image-reference parser against docker/distribution's reference
// package (Debian's golang-github-docker-distribution-dev, tests/oracles/image_ref): every
// string of a generated corpus goes through ParseReference (reference.Parse) and
// ParseNormalizedReference (reference.ParseNormalizedNamed) here and, in one batch, in Go.
// Verdicts, domain, path, tag, digest, String() / normalised form, error class and (for
// ParseNormalizedNamed) the error message must agree.
//
// backstop mirrors the grammar kubelet applies today: the github.com/distribution/reference
// module (v0.5 and later), which current Kubernetes releases import. Debian 12 packages that
// package's predecessor, docker/distribution v2.8.2. Where the two differ, and only there,
// a difference is accepted; each kind is named below with its reason, and the ones that
// change a verdict are proven by a second question to Go: the same input with the feature
// the versions disagree on taken out must give backstop's answer.

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy/image_ref.h"
#include "tests/support/fixtures.h"
#include "tests/support/oracle.h"

namespace backstop::policy {
namespace {

using backstop::testing::CorpusDivisor;
using backstop::testing::FixturesAvailable;
using backstop::testing::HexDecode;
using backstop::testing::HexEncode;
using backstop::testing::ReadFixture;
using backstop::testing::RunOracle;
using backstop::testing::SplitTabs;

constexpr uint64_t kSeed = 0x1a6e5ef5ULL;

// ---- the corpus ----

const std::vector<std::string> kUnicode = {
    "\xC3\xA9",      // é
    "\xC3\x89",      // É
    "\xE2\x84\xAA",  // KELVIN SIGN, lowercases to ASCII 'k'
    "\xC4\xB0",      // İ
    "\xEF\xBD\x81",  // fullwidth a
    "\xCE\xA3",      // Σ
    "\xFF",          // not UTF-8
    "\xE2\x80\x8B",  // zero-width space
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

  std::string From(std::string_view alphabet, size_t min, size_t max) {
    const size_t len = min + Below(max - min + 1);
    std::string s;
    for (size_t i = 0; i < len; ++i) s += alphabet[Below(alphabet.size())];
    return s;
  }

  std::string Hex(size_t len, bool upper = false) {
    return From(upper ? "0123456789ABCDEF" : "0123456789abcdef", len, len);
  }

  std::string DomainComponent() {
    if (Chance(10)) return Pick<std::string>({"", "-a", "a-", "a_b", "A", "-"});
    std::string s = From("abcdefghijklmnopqrstuvwxyz0123456789", 1, 8);
    if (Chance(20)) s += From("-", 1, 2) + From("abcdefghijklmnopqrstuvwxyz0123456789", 1, 4);
    if (Chance(10)) s[Below(s.size())] = static_cast<char>('A' + Below(26));
    return s;
  }

  std::string Domain() {
    std::string host;
    switch (Below(10)) {
      case 0:
        host = Pick<std::string>({"docker.io", "index.docker.io", "localhost",
                                  "registry-1.docker.io", "gcr.io", "ghcr.io", "quay.io",
                                  "Docker.io", "LOCALHOST", "localhost.localdomain"});
        break;
      case 1:
        host = std::to_string(Below(300)) + "." + std::to_string(Below(256)) + "." +
               std::to_string(Below(256)) + "." + std::to_string(Below(256));
        break;
      case 2:
        host = "[" +
               Pick<std::string>({"::1", "::", "2001:db8::1", "fe80::1%eth0", "", "::g",
                                  "2001:DB8::A", "1:2:3:4:5:6:7:8", "[::1]", "::ffff:1.2.3.4"}) +
               "]";
        break;
      case 3:
        host = DomainComponent();  // one word: a host only with a port, or as localhost
        break;
      default: {
        const size_t parts = 1 + Below(4);
        for (size_t i = 0; i < parts; ++i) host += (i ? "." : "") + DomainComponent();
      }
    }
    if (Chance(30)) {
      host += ":" + Pick<std::string>(
                        {"5000", "443", "0", "65536", "99999999999", "", "abc", "5000:5000", "-1"});
    }
    return host;
  }

  std::string PathComponent() {
    if (Chance(4)) return Hex(64);  // an image ID as a name
    if (Chance(6))
      return Pick<std::string>({"", ".", "a..b", "a._b", "a___b", "_a", "a_", "-a", "a-", "a--b",
                                "a__b", "a.b_c-d", "a/b"});
    std::string s = From("abcdefghijklmnopqrstuvwxyz0123456789", 1, 10);
    const size_t seps = Chance(30) ? 1 + Below(3) : 0;
    for (size_t i = 0; i < seps; ++i) {
      s += Pick<std::string>({".", "_", "__", "-", "--", "---"});
      s += From("abcdefghijklmnopqrstuvwxyz0123456789", 1, 6);
    }
    if (Chance(8)) s[Below(s.size())] = static_cast<char>('A' + Below(26));
    if (Chance(3)) s.insert(Below(s.size() + 1), Pick(kUnicode));
    return s;
  }

  std::string Path() {
    std::string path;
    const size_t parts = 1 + Below(Chance(90) ? 3 : 6);
    for (size_t i = 0; i < parts; ++i) path += (i ? "/" : "") + PathComponent();
    // Long names reach the 255-character limits.
    if (Chance(3)) path += "/" + From("abcdefghij", 200, 270);
    return path;
  }

  std::string Tag() {
    if (Chance(8)) return Pick<std::string>({"", ".x", "-x", "a b", "a:b", "a/b", "Ä"});
    std::string first =
        From("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", 1, 1);
    const size_t len = Chance(5) ? 120 + Below(15) : Below(12);
    return first +
           From("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", len, len);
  }

  std::string Digest() {
    const std::string algorithm = Pick<std::string>(
        {"sha256", "sha256", "sha256", "sha384", "sha512", "SHA256", "md5", "sha256+b64",
         "sha256.x", "sha256-x", "s", "", "Sha256", "sha_256", "1sha", "sha256:sha256"});
    static const std::vector<size_t> kLengths = {64, 64, 64, 96, 128, 31, 32, 63, 65, 0, 127, 129};
    const size_t len = Pick(kLengths);
    std::string hex = Hex(len, Chance(10));
    if (Chance(5) && !hex.empty()) hex[Below(hex.size())] = Pick<char>({'g', 'z', '=', '_', '-'});
    return algorithm + ":" + hex;
  }

  // [domain "/"] path [":" tag] ["@" digest], with parts left out or doubled now and then.
  std::string Reference() {
    std::string s;
    if (Chance(45)) s += Domain() + "/";
    s += Path();
    if (Chance(50)) s += ":" + Tag();
    if (Chance(30)) s += "@" + Digest();
    if (Chance(2)) s += "@" + Digest();
    if (Chance(2)) s = Hex(64);
    return s;
  }

  std::string Mutate(std::string s) {
    static const std::string kBytes = "aZz09:/@._-[]% \tA";
    const size_t edits = 1 + Below(3);
    for (size_t e = 0; e < edits; ++e) {
      const size_t at = Below(s.size() + 1);
      std::string b = Chance(10) ? Pick(kUnicode) : std::string(1, kBytes[Below(kBytes.size())]);
      switch (Below(5)) {
        case 0:
          s.insert(at, b);
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1 + Below(3));
          break;
        case 2:
          if (at < s.size()) s.replace(at, 1, b);
          break;
        case 3:  // upper-case one ASCII letter
          if (at < s.size() && s[at] >= 'a' && s[at] <= 'z') s[at] = static_cast<char>(s[at] - 32);
          break;
        default:
          if (at < s.size()) s.insert(at, s.substr(at, 1 + Below(8)));
          break;
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

// The `input` column of the image-reference fixture tables.
std::vector<std::string> FixtureInputs() {
  std::vector<std::string> out;
  if (!FixturesAvailable()) return out;
  for (const char* table : {"imagerefs/image-refs-distribution-reference.tsv",
                            "imagerefs/image-refs-go-containerregistry.tsv"}) {
    std::istringstream in(ReadFixture(table));
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
      if (header) {
        header = false;
        continue;
      }
      const auto fields = SplitTabs(line);
      if (fields.size() > 3) out.emplace_back(fields[3]);
    }
  }
  return out;
}

std::vector<std::string> Corpus(size_t size, size_t* from_fixtures) {
  Generator g(kSeed);
  std::vector<std::string> corpus = {"",
                                     ":",
                                     "@",
                                     "/",
                                     "a",
                                     "A",
                                     "a/",
                                     "/a",
                                     "a//b",
                                     ":tag",
                                     "@sha256:" + g.Hex(64),
                                     g.Hex(64),
                                     g.Hex(64) + ":tag",
                                     "sha256:" + g.Hex(64),
                                     g.Hex(63),
                                     g.Hex(65),
                                     std::string(255, 'a'),
                                     std::string(256, 'a'),
                                     "docker.io/" + std::string(255, 'a'),
                                     "docker.io/library/" + std::string(247, 'a'),
                                     "docker.io/library/" + std::string(238, 'a'),
                                     "a.b/" + std::string(255, 'a'),
                                     "a.b/" + std::string(252, 'a'),
                                     "x/" + std::string(254, 'a'),
                                     std::string(250, 'a') + ":" + std::string(128, 't'),
                                     "a:" + std::string(129, 't'),
                                     "[::1]:5000/a",
                                     "[::1]/a",
                                     "[::1]",
                                     "[]/a",
                                     "localhost/a",
                                     "LOCALHOST/a",
                                     "Foo/bar",
                                     "foo/Bar",
                                     "Foo_bar/x",
                                     "Foo-/x",
                                     "F/x",
                                     "É/x",
                                     "\xE2\x84\xAA/x",
                                     "a/\xE2\x84\xAA",
                                     "nginx:1.25 ",
                                     " nginx",
                                     "nginx@sha512:" + g.Hex(128),
                                     "nginx@sha384:" + g.Hex(96)};
  const std::vector<std::string> fixtures = FixtureInputs();
  *from_fixtures = 0;
  std::set<std::string> seen(corpus.begin(), corpus.end());
  for (const auto& f : fixtures) {
    if (f.find('\n') == std::string::npos && seen.insert(f).second) corpus.push_back(f);
  }
  while (corpus.size() < size) {
    std::string s;
    const size_t pick = g.Below(10);
    bool fixture = false;
    if (pick < 5) {
      s = g.Reference();
    } else if (pick < 7 && !fixtures.empty()) {
      s = g.Mutate(g.Pick(fixtures));
      fixture = true;
    } else {
      s = g.Mutate(g.Reference());
    }
    if (s.find('\n') != std::string::npos) continue;
    if (seen.insert(s).second) {
      corpus.push_back(std::move(s));
      *from_fixtures += fixture ? 1 : 0;
    }
  }
  return corpus;
}

// ---- answers ----

struct Answer {
  bool ok = false;
  std::string error_class;  // on failure
  std::string message;      // on failure (ParseNormalizedNamed only on backstop's side)
  std::string domain, path, tag, digest;
  std::string shown;  // String(), or the normalised form for ParseNormalizedNamed
};

// Parse and ParseNormalizedNamed of one input.
struct Answers {
  Answer parse;
  Answer normalized;
};

std::string ClassName(ImageRefErrorKind kind) {
  switch (kind) {
    case ImageRefErrorKind::kNone:
      return "";
    case ImageRefErrorKind::kReferenceInvalidFormat:
      return "ReferenceInvalidFormat";
    case ImageRefErrorKind::kNameContainsUppercase:
      return "NameContainsUppercase";
    case ImageRefErrorKind::kNameEmpty:
      return "NameEmpty";
    case ImageRefErrorKind::kNameTooLong:
      return "NameTooLong";
    case ImageRefErrorKind::kDigestInvalidFormat:
      return "DigestInvalidFormat";
    case ImageRefErrorKind::kDigestInvalidLength:
      return "DigestInvalidLength";
    case ImageRefErrorKind::kDigestUnsupported:
      return "DigestUnsupported";
    case ImageRefErrorKind::kHexIdentifier:
      return "HexIdentifier";
  }
  return "?";
}

Answers Backstop(const std::string& input) {
  Answers a;
  ImageRef ref;
  ImageRefErrorKind kind = ParseReference(input, &ref);
  a.parse.ok = kind == ImageRefErrorKind::kNone;
  if (a.parse.ok) {
    a.parse = {true, "", "", ref.domain, ref.path, ref.tag, ref.digest, ref.String()};
  } else {
    a.parse.error_class = ClassName(kind);
  }
  ImageRef normalized;
  std::string message;
  kind = ParseNormalizedReference(input, &normalized, &message);
  if (kind == ImageRefErrorKind::kNone) {
    a.normalized = {true,
                    "",
                    "",
                    normalized.domain,
                    normalized.path,
                    normalized.tag,
                    normalized.digest,
                    normalized.Normalized()};
  } else {
    a.normalized.error_class = ClassName(kind);
    a.normalized.message = message;
  }
  return a;
}

bool ParseGo(const std::string& line, Answers* a) {
  const auto f = SplitTabs(line);
  if (f.size() != 16) return false;
  for (int api = 0; api < 2; ++api) {
    Answer& x = api == 0 ? a->parse : a->normalized;
    const size_t o = static_cast<size_t>(api) * 8;
    x.ok = f[o] == "ok";
    if (!x.ok) {
      x.error_class = std::string(f[o + 1]);
      x.message = HexDecode(f[o + 2]).value_or("?");
    }
    x.domain = std::string(f[o + 3]);
    x.path = std::string(f[o + 4]);
    x.tag = std::string(f[o + 5]);
    x.digest = std::string(f[o + 6]);
    x.shown = std::string(f[o + 7]);
  }
  return true;
}

// ---- comparison, with the accepted differences ----

// The accepted differences, by name. Anything else fails the test.
//
// Between docker/distribution v2.8.2 (the oracle) and distribution/reference v0.5+ (what
// kubelet and backstop apply):
// kIPv6Host: v0.5 accepts a bracketed IPv6 host ("[::1]:5000/app"); v2.8.2 knows no IPv6
//   and rejects it. Proven per input: the same reference with the bracketed host replaced by
//   an ordinary host of the same length must be answered by Go as backstop answers it.
// kUppercaseNamespaceIsHost: for ParseNormalizedNamed, v0.5 takes a first component with
//   capitals and no '.' or ':' ("Foo/bar") for a host, as no Docker Hub namespace can have
//   capitals; v2.8.2 takes it for a namespace and rejects the name as not lowercase. Proven
//   per input: with "x." put before that component (a host for both versions, equally
//   valid or not) Go must answer as backstop does.
// kNameLengthIsPathLength: v0.5 limits the repository path to 255 characters, v2.8.2 the
//   whole name with its domain. Accepted where Go says the name is too long and backstop
//   either accepts a path of at most 255 characters, or the input is longer than 255
//   characters and backstop reports a problem met after the length check.
// kUppercaseMessageNamesRepository: v0.5's ParseNormalizedNamed names the repository in
//   "invalid reference format: repository name (library/Nginx) must be lowercase"; v2.8.2
//   says "invalid reference format: repository name must be lowercase". Same class.
//
// And one of backstop's own:
// kAsciiOnlyCaseCheck: Go lowercases with Unicode rules to decide whether a rejected name
//   was only "not lowercase" (the KELVIN SIGN even lowercases to an ASCII 'k'); backstop
//   checks ASCII letters only, so where non-ASCII capitals decide it reports "invalid
//   reference format" where Go reports "must be lowercase". Both reject: a different
//   message, never a different verdict. Proven per input: with every non-ASCII byte
//   replaced by '!', Go must answer as backstop does.
enum class Accepted {
  kIPv6Host,
  kUppercaseNamespaceIsHost,
  kNameLengthIsPathLength,
  kUppercaseMessageNamesRepository,
  kAsciiOnlyCaseCheck,
};

const char* Name(Accepted a) {
  switch (a) {
    case Accepted::kIPv6Host:
      return "IPv6Host";
    case Accepted::kUppercaseNamespaceIsHost:
      return "UppercaseNamespaceIsHost";
    case Accepted::kNameLengthIsPathLength:
      return "NameLengthIsPathLength";
    case Accepted::kUppercaseMessageNamesRepository:
      return "UppercaseMessageNamesRepository";
    case Accepted::kAsciiOnlyCaseCheck:
      return "AsciiOnlyCaseCheck";
  }
  return "?";
}

bool HasAsciiUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

bool HasNonAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// "a (b) c" -> "a c": the wording v2.8.2 uses for v0.5's uppercase message.
std::string WithoutParenthesis(const std::string& message) {
  const size_t open = message.find(" (");
  const size_t close = message.find(") ", open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return message;
  return message.substr(0, open) + message.substr(close + 1);
}

// Compares one API's answers. Returns "" when they agree (adding any accepted difference
// met to `accepted`), else what differs.
// `input` is what Go parsed, `growth` how much longer than the original it is.
std::string Differ(const Answer& b, const Answer& go, bool with_messages, const std::string& input,
                   size_t growth, std::vector<Accepted>* accepted) {
  if (b.ok != go.ok || (!b.ok && b.error_class != go.error_class)) {
    if (go.error_class == "NameTooLong" && b.error_class != "NameTooLong" &&
        ((b.ok && b.path.size() <= kMaxRepositoryPathLength &&
          b.domain.size() + 1 + b.path.size() + growth > kMaxRepositoryPathLength) ||
         (!b.ok && input.size() > kMaxRepositoryPathLength))) {
      accepted->push_back(Accepted::kNameLengthIsPathLength);
      return "";
    }
    return std::string("verdict: backstop ") + (b.ok ? "accepts as " + b.shown : b.error_class) +
           ", Go " + (go.ok ? "accepts as " + go.shown : go.error_class);
  }
  if (b.ok) {
    if (b.domain != go.domain || b.path != go.path || b.tag != go.tag || b.digest != go.digest ||
        b.shown != go.shown) {
      return "parts: backstop " + b.domain + " | " + b.path + " | " + b.tag + " | " + b.digest +
             " | " + b.shown + ", Go " + go.domain + " | " + go.path + " | " + go.tag + " | " +
             go.digest + " | " + go.shown;
    }
    return "";
  }
  if (with_messages && b.message != go.message) {
    if (b.error_class == "NameContainsUppercase" && WithoutParenthesis(b.message) == go.message) {
      accepted->push_back(Accepted::kUppercaseMessageNamesRepository);
      return "";
    }
    return "message: backstop \"" + b.message + "\", Go \"" + go.message + "\"";
  }
  return "";
}

// A rewrite that takes out what the two versions disagree on, and how to read Go's answer
// to it as an answer to the original.
struct Rewrite {
  std::vector<Accepted> why;  // the differences taken out, in order
  std::string input;          // asked of Go instead
  std::string go_prefix;      // Go's domain and String() start with this ...
  std::string original;       // ... where the original has this
};

// The rewrite of `input` that takes out every version difference it shows, or nullopt when
// it shows none.
std::optional<Rewrite> RewriteFor(const std::string& input, bool normalized, const Answer& b,
                                  const Answer& go) {
  Rewrite r;
  r.input = input;
  if (!b.ok && b.error_class == "ReferenceInvalidFormat" &&
      go.error_class == "NameContainsUppercase" && HasNonAscii(input)) {
    // Every non-ASCII byte -> '!': no case left for Unicode rules to find, and still no
    // character the grammar allows. The length stays.
    for (char& c : r.input) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '!';
    }
    r.why.push_back(Accepted::kAsciiOnlyCaseCheck);
  }
  const size_t slash = r.input.find('/');
  const std::string first = r.input.substr(0, slash);
  const size_t close = first.find(']');
  if (slash != std::string::npos && !first.empty() && first.front() == '[' &&
      close != std::string::npos && close >= 2) {
    // "[...]" -> "h.hh..." of the same length: a host for both versions (it has a dot).
    const std::string host = "h." + std::string(close - 1, 'h');
    r.go_prefix = host;
    r.original = first.substr(0, close + 1);
    r.input = host + r.input.substr(close + 1);
    r.why.push_back(Accepted::kIPv6Host);
  } else if (slash != std::string::npos && normalized && HasAsciiUpper(first) &&
             first.find_first_of(".:") == std::string::npos && first != "localhost") {
    r.go_prefix = "x.";
    r.input = "x." + r.input;
    r.why.push_back(Accepted::kUppercaseNamespaceIsHost);
  }
  if (r.why.empty()) return std::nullopt;
  return r;
}

// Go's answer to a rewritten input, read as an answer to the original.
Answer MapBack(Answer go, const Rewrite& r) {
  if (!go.ok) return go;
  auto map = [&r](std::string* s) {
    if (s->compare(0, r.go_prefix.size(), r.go_prefix) == 0) {
      *s = r.original + s->substr(r.go_prefix.size());
    }
  };
  map(&go.domain);
  map(&go.shown);
  return go;
}

struct Tally {
  size_t compared = 0;
  std::map<std::string, size_t> accepted;
  std::vector<std::string> disagreements;
};

TEST(ImageRefOracle, AgreesWithDistributionReferenceOnAGeneratedCorpus) {
  const size_t size = 200000 / CorpusDivisor();
  size_t from_fixtures = 0;
  const std::vector<std::string> corpus = Corpus(size, &from_fixtures);
  std::vector<std::string> lines;
  lines.reserve(corpus.size());
  for (const auto& s : corpus) lines.push_back(HexEncode(s));
  const auto answers = RunOracle("image_ref", lines);
  ASSERT_TRUE(answers.has_value());

  Tally t;
  size_t go_valid = 0;
  // Differences a rewrite may explain: (corpus index, API, rewrite).
  struct Pending {
    size_t index;
    bool normalized;
    Rewrite rewrite;
    std::string first_difference;
  };
  std::vector<Pending> pending;
  std::vector<Answers> mine(corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    Answers go;
    ASSERT_TRUE(ParseGo((*answers)[i], &go)) << "oracle line: " << (*answers)[i];
    mine[i] = Backstop(corpus[i]);
    go_valid += go.normalized.ok ? 1 : 0;
    for (bool normalized : {false, true}) {
      ++t.compared;
      const Answer& b = normalized ? mine[i].normalized : mine[i].parse;
      const Answer& g = normalized ? go.normalized : go.parse;
      std::vector<Accepted> accepted;
      const std::string diff = Differ(b, g, normalized, corpus[i], 0, &accepted);
      if (diff.empty()) {
        for (Accepted a : accepted) ++t.accepted[Name(a)];
        continue;
      }
      if (auto r = RewriteFor(corpus[i], normalized, b, g)) {
        pending.push_back({i, normalized, *r, diff});
        continue;
      }
      t.disagreements.push_back(std::string(normalized ? "ParseNormalizedNamed" : "Parse") +
                                " of \"" + corpus[i] + "\" (hex " + HexEncode(corpus[i]) +
                                "): " + diff);
    }
  }

  // The second question: the rewritten inputs, in one batch.
  if (!pending.empty()) {
    std::vector<std::string> rewritten;
    for (const auto& p : pending) rewritten.push_back(HexEncode(p.rewrite.input));
    const auto second = RunOracle("image_ref", rewritten);
    ASSERT_TRUE(second.has_value());
    for (size_t k = 0; k < pending.size(); ++k) {
      const Pending& p = pending[k];
      Answers go;
      ASSERT_TRUE(ParseGo((*second)[k], &go));
      const Answer g = MapBack(p.normalized ? go.normalized : go.parse, p.rewrite);
      const Answer& b = p.normalized ? mine[p.index].normalized : mine[p.index].parse;
      std::vector<Accepted> accepted;
      std::string diff = Differ(b, g, p.normalized, p.rewrite.input,
                                p.rewrite.input.size() - corpus[p.index].size(), &accepted);
      if (diff.empty() && b.ok && !p.rewrite.original.empty()) {
        // What the rewrite took out, checked against v0.5's production: "[" [0-9A-Fa-f:]+ "]".
        const std::string inside = p.rewrite.original.substr(1, p.rewrite.original.size() - 2);
        if (inside.empty() ||
            inside.find_first_not_of("0123456789abcdefABCDEF:") != std::string::npos) {
          diff = "backstop accepts the IPv6 host " + p.rewrite.original;
        }
      }
      if (diff.empty()) {
        for (Accepted a : p.rewrite.why) ++t.accepted[Name(a)];
        for (Accepted a : accepted) ++t.accepted[Name(a)];
      } else {
        t.disagreements.push_back(std::string(p.normalized ? "ParseNormalizedNamed" : "Parse") +
                                  " of \"" + corpus[p.index] + "\" (hex " +
                                  HexEncode(corpus[p.index]) + "): " + p.first_difference +
                                  "; and rewritten as \"" + p.rewrite.input + "\": " + diff);
      }
    }
  }

  std::cout << "  image_ref oracle: " << corpus.size() << " references (seed 0x" << std::hex
            << kSeed << std::dec << ", " << from_fixtures
            << " of them mutated fixture-table inputs; ParseNormalizedNamed accepts " << go_valid
            << "), " << t.compared << " comparisons, " << pending.size()
            << " asked again rewritten, " << t.disagreements.size() << " disagreements\n";
  for (const auto& [name, count] : t.accepted) {
    std::cout << "  accepted difference " << name << ": " << count << "\n";
  }
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < t.disagreements.size() && i < kShown; ++i) {
    ADD_FAILURE() << t.disagreements[i];
  }
  EXPECT_EQ(t.disagreements.size(), 0u);
  // The corpus reaches both verdicts and the version differences it must explain.
  EXPECT_GT(go_valid, corpus.size() / 10);
  EXPECT_LT(go_valid, corpus.size() * 9 / 10);
  EXPECT_GT(t.accepted[Name(Accepted::kIPv6Host)], 0u);
  EXPECT_GT(t.accepted[Name(Accepted::kUppercaseNamespaceIsHost)], 0u);
}

}  // namespace
}  // namespace backstop::policy
