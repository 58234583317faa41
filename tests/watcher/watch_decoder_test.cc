#include "watcher/watch_decoder.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/fixtures.h"

namespace backstop::watcher {
namespace {

using backstop::testing::ReadFixture;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

TEST(LineDecoderTest, SplitsTheRealWatchStreamAtEveryChunkBoundary) {
  BACKSTOP_REQUIRE_FIXTURES();
  const std::string stream = ReadFixture("watch/kubeclient_watch_stream.ndjson");
  const auto expected = Lines(stream);
  ASSERT_EQ(expected.size(), 3u);
  for (size_t cut = 0; cut <= stream.size(); cut += 7) {
    LineDecoder d(4096);
    std::vector<std::string> got;
    auto on_line = [&](std::string_view l) {
      got.emplace_back(l);
      return true;
    };
    ASSERT_EQ(d.Feed(std::string_view(stream).substr(0, cut), on_line), LineDecoder::Status::kOk);
    ASSERT_EQ(d.Feed(std::string_view(stream).substr(cut), on_line), LineDecoder::Status::kOk);
    EXPECT_EQ(got, expected) << "cut at " << cut;
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(LineDecoderTest, ByteByByte) {
  const std::string stream = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\"";
  LineDecoder d(64);
  std::vector<std::string> got;
  for (char c : stream) {
    ASSERT_EQ(d.Feed(std::string_view(&c, 1),
                     [&](std::string_view l) {
                       got.emplace_back(l);
                       return true;
                     }),
              LineDecoder::Status::kOk);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "{\"a\":1}");
  EXPECT_EQ(got[1], "{\"b\":2}\r");
  EXPECT_EQ(d.buffered(), 4u);  // the incomplete third event is held back
}

TEST(LineDecoderTest, OversizeLineIsAnErrorNotABuffer) {
  LineDecoder d(100);
  std::string big(60, 'x');
  auto ignore = [](std::string_view) { return true; };
  EXPECT_EQ(d.Feed(big, ignore), LineDecoder::Status::kOk);
  EXPECT_EQ(d.Feed(big, ignore), LineDecoder::Status::kTooLarge);
  EXPECT_EQ(d.buffered(), 0u);
  // Also when the newline arrives in the same chunk.
  LineDecoder d2(100);
  EXPECT_EQ(d2.Feed(std::string(150, 'y') + "\n", ignore), LineDecoder::Status::kTooLarge);
  // Exactly at the limit is fine.
  LineDecoder d3(100);
  int n = 0;
  EXPECT_EQ(d3.Feed(std::string(100, 'z') + "\n", [&](std::string_view) { return ++n > 0; }),
            LineDecoder::Status::kOk);
  EXPECT_EQ(n, 1);
}

TEST(LineDecoderTest, ConsumerCanStop) {
  LineDecoder d(100);
  int n = 0;
  EXPECT_EQ(d.Feed("a\nb\nc\n", [&](std::string_view) { return ++n < 2; }),
            LineDecoder::Status::kStopped);
  EXPECT_EQ(n, 2);
}

TEST(ParseWatchEventTest, RealEventsAndTypes) {
  BACKSTOP_REQUIRE_FIXTURES();
  const auto lines = Lines(ReadFixture("watch/kubeclient_watch_stream.ndjson"));
  const RawEventType types[] = {RawEventType::kAdded, RawEventType::kModified,
                                RawEventType::kDeleted};
  const char* rvs[] = {"1389", "1390", "1398"};
  for (size_t i = 0; i < lines.size(); ++i) {
    auto ev = ParseWatchEvent(lines[i]);
    ASSERT_TRUE(ev.ok()) << ev.status().message();
    EXPECT_EQ(ev->type, types[i]);
    EXPECT_EQ(ResourceVersionOf(*ev->object), rvs[i]);
  }
}

TEST(ParseWatchEventTest, ErrorEventCarriesExpiredStatus) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto lines = Lines(ReadFixture("watch/wso2-apk-issue571_watch_error_410_expired.json"));
  ASSERT_EQ(lines.size(), 1u);
  auto ev = ParseWatchEvent(lines[0]);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->type, RawEventType::kError);
  ApiStatus st;
  ASSERT_TRUE(ParseApiStatus(*ev->object, &st));
  EXPECT_EQ(st.code, 410);
  EXPECT_EQ(st.reason, "Expired");
  EXPECT_EQ(st.message, "too old resource version: 657887 (680402)");
}

TEST(ParseWatchEventTest, ListExpiredStatusBody) {
  BACKSTOP_REQUIRE_FIXTURES();
  ApiStatus st;
  ASSERT_TRUE(
      ParseApiStatusBody(ReadFixture("watch/kubeclient_pods_410_expired_status.json"), &st));
  EXPECT_EQ(st.code, 410);
  EXPECT_EQ(st.reason, "Expired");
  EXPECT_FALSE(ParseApiStatusBody(ReadFixture("watch/kubeclient_podlist_page2.json"), &st));
}

TEST(ParseWatchEventTest, MalformedInput) {
  EXPECT_FALSE(ParseWatchEvent("{not json").ok());
  EXPECT_FALSE(ParseWatchEvent("[1,2]").ok());
  EXPECT_FALSE(ParseWatchEvent(R"({"object":{}})").ok());
  EXPECT_FALSE(ParseWatchEvent(R"({"type":"ADDED"})").ok());
  EXPECT_FALSE(ParseWatchEvent(R"({"type":"ADDED","object":"x"})").ok());
  auto unknown = ParseWatchEvent(R"({"type":"SURPRISE","object":{}})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->type, RawEventType::kUnknown);
  EXPECT_EQ(unknown->type_name, "SURPRISE");
}

}  // namespace
}  // namespace backstop::watcher
