#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace backstop {

// What reading a configuration found: errors stop the program from starting, warnings
// (e.g. a deprecated key that still works) are shown and the program goes on.
struct ConfigProblems {
  std::vector<std::string> errors;    // "<dotted.path>: <what is wrong>"
  std::vector<std::string> warnings;  // "<dotted.path>: <what to change>"

  // OK without errors, else InvalidArgument with every error, one per line.
  Status ErrorStatus() const;
};

// Reads one object of a configuration file, recording every problem as
// "<dotted.path>: <what is wrong>" instead of stopping at the first. Keys that no reader
// asked for are reported by RejectUnknown(), so a typo never silently drops a setting.
// Child and Nested readers share their parent's problem list.
class ConfigReader {
 public:
  // `object` may be null (the section is absent: every read leaves its default).
  ConfigReader(const rapidjson::Value* object, std::string path, ConfigProblems* problems);

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
  // A reader for `object` found by the caller under `key` (e.g. "rules[2]", an item of a
  // list read with Raw): its problems are reported as "<path>.<key>.<field>".
  ConfigReader Nested(std::string_view key, const rapidjson::Value* object);

  // `old_key` was renamed to `new_key`: reading `new_key` falls back to `old_key` with a
  // deprecation warning; setting both is an error. Call before reading `new_key`.
  void Renamed(std::string_view old_key, std::string_view new_key);

  void Fail(std::string_view key, std::string_view what);
  void Warn(std::string_view key, std::string_view what);
  void RejectUnknown();

 private:
  const rapidjson::Value* Take(std::string_view key);
  std::string KeyPath(std::string_view key) const;

  const rapidjson::Value* object_;
  std::string path_;
  ConfigProblems* problems_;
  std::set<std::string, std::less<>> seen_;
  std::vector<std::pair<std::string, std::string>> renamed_;  // old key, new key
  std::string found_key_;  // the key the last Take() read (an old name when renamed)
};

}  // namespace backstop
