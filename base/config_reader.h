#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace backstop {

// Reads one object of the policy configuration, recording every problem as
// "<dotted.path>: <what is wrong>" instead of stopping at the first. Keys that no reader
// asked for are reported by RejectUnknown(), so a typo never silently drops a setting.
class ConfigReader {
 public:
  ConfigReader(const rapidjson::Value* object, std::string path, std::vector<std::string>* errors);

  bool present() const { return object_ != nullptr; }
  const std::string& path() const { return path_; }

  // Each reader leaves *out untouched when the key is absent.
  void Int(std::string_view key, int64_t* out, int64_t min, int64_t max);
  void Bool(std::string_view key, bool* out);
  void String(std::string_view key, std::string* out);
  void StringList(std::string_view key, std::vector<std::string>* out);
  // One of `allowed` (e.g. deny|warn|dryrun).
  void Enum(std::string_view key, std::string* out, const std::vector<std::string>& allowed);
  // The raw value, marked as read; null when absent.
  const rapidjson::Value* Raw(std::string_view key);
  // A nested object reader; not present when absent. Reports a non-object value.
  ConfigReader Child(std::string_view key);

  void Fail(std::string_view key, std::string_view what);
  void RejectUnknown();

 private:
  const rapidjson::Value* Take(std::string_view key);
  std::string KeyPath(std::string_view key) const;

  const rapidjson::Value* object_;
  std::string path_;
  std::vector<std::string>* errors_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace backstop
