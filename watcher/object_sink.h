#pragma once

#include <rapidjson/document.h>

#include <string_view>
#include <vector>

namespace backstop::watcher {

enum class WatchEventType { kAdded, kModified, kDeleted };

// Receives what a list/watch loop sees for one resource ("nodes", "pods"). Called from
// the watch thread of that resource; implementations guard their own state.
class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  // A complete (re)list: `items` replace everything known for `resource`.
  virtual void Replace(std::string_view resource, const std::vector<const rapidjson::Value*>& items) = 0;
  // One watch event's object.
  virtual void Apply(std::string_view resource, WatchEventType type, const rapidjson::Value& object) = 0;
  // The initial list of `resource` has been delivered (readiness).
  virtual void MarkSynced(std::string_view resource) = 0;
};

}  // namespace backstop::watcher
