#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backstop::watcher {

// Splits a watch response body (newline-delimited JSON, arriving in arbitrary chunks)
// into complete lines. Memory is bounded: a partial line longer than `max_line_bytes`
// is an error (kTooLarge) rather than a growing buffer.
class LineDecoder {
 public:
  enum class Status { kOk, kTooLarge, kStopped };

  explicit LineDecoder(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Calls `on_line` for every complete line (without the newline; blank lines are
  // skipped). `on_line` returning false stops decoding (kStopped).
  Status Feed(std::string_view chunk, const std::function<bool(std::string_view)>& on_line);

  // Bytes of an incomplete trailing line held back.
  size_t buffered() const { return pending_.size(); }
  void Clear() { pending_.clear(); }

 private:
  size_t max_line_bytes_;
  std::string pending_;  // the incomplete line so far
};

enum class RawEventType { kAdded, kModified, kDeleted, kBookmark, kError, kUnknown };

// One decoded watch event: {"type": ..., "object": {...}}.
struct DecodedEvent {
  RawEventType type = RawEventType::kUnknown;
  std::string type_name;                     // as sent ("ADDED", ...)
  std::unique_ptr<rapidjson::Document> doc;  // owns `object`
  const rapidjson::Value* object = nullptr;
};

// Parses one line of a watch stream. Errors describe what is malformed.
StatusOr<DecodedEvent> ParseWatchEvent(std::string_view line);

// A metav1.Status (HTTP error bodies and ERROR events).
struct ApiStatus {
  int code = 0;
  std::string reason;  // e.g. "Expired", "Gone", "Forbidden"
  std::string message;
};

// True when `v` is an object with kind "Status"; fills `out`.
bool ParseApiStatus(const rapidjson::Value& v, ApiStatus* out);
// Same on a raw body; false when it is not a Status document.
bool ParseApiStatusBody(std::string_view body, ApiStatus* out);

// metadata.resourceVersion of an object ("" when absent).
std::string ResourceVersionOf(const rapidjson::Value& object);

}  // namespace backstop::watcher
