#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backstop::obs {

enum class LogFormat { kText, kJson };
enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };

using LogFields = std::vector<std::pair<std::string_view, std::string>>;

// Parses "debug|info|warn|error|off" and "text|json"; false when not one of them.
bool ParseLogLevel(std::string_view s, LogLevel* out);
bool ParseLogFormat(std::string_view s, LogFormat* out);

// Sets up the process-wide logger (stderr). Safe to call again (tests, flag changes).
void ConfigureLogging(LogLevel level, LogFormat format);

bool LogEnabled(LogLevel level);

// One structured line: a message and key/value fields. In json format every field is a
// JSON string member; in text format fields follow as key="value".
void Log(LogLevel level, std::string_view message, const LogFields& fields = {});

}  // namespace backstop::obs
