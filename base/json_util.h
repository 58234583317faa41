#pragma once

#include <rapidjson/document.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace backstop {

// Member `key` of an object, or null when `v` is not an object or has no such member.
const rapidjson::Value* Member(const rapidjson::Value* v, std::string_view key);
// Walks nested object members; null as soon as one step is missing.
const rapidjson::Value* Find(const rapidjson::Value* v,
                             std::initializer_list<std::string_view> path);

// The string value of `v`, or nullopt when `v` is null or not a string.
std::optional<std::string_view> AsString(const rapidjson::Value* v);
// The string value of `v` copied, or "" when `v` is null or not a string.
std::string StringOrEmpty(const rapidjson::Value* v);

// JSON type name as Kubernetes error messages use it: string, integer, number, boolean,
// object, array, null.
std::string_view TypeName(const rapidjson::Value& v);

// Compact JSON text of a value (for patch values and messages).
std::string ToJson(const rapidjson::Value& v);
// JSON string literal of `s`, quotes included.
std::string QuoteJson(std::string_view s);

// Escapes one JSON Pointer reference token (RFC 6901: "~" -> "~0", "/" -> "~1").
std::string EscapePointerToken(std::string_view token);

}  // namespace backstop
