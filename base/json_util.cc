#include "base/json_util.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace backstop {

const rapidjson::Value* Member(const rapidjson::Value* v, std::string_view key) {
  if (v == nullptr || !v->IsObject()) return nullptr;
  auto it = v->FindMember(rapidjson::Value(
      rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  if (it == v->MemberEnd()) return nullptr;
  return &it->value;
}

const rapidjson::Value* Find(const rapidjson::Value* v,
                             std::initializer_list<std::string_view> path) {
  for (std::string_view key : path) {
    v = Member(v, key);
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::optional<std::string_view> AsString(const rapidjson::Value* v) {
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::string StringOrEmpty(const rapidjson::Value* v) {
  auto s = AsString(v);
  return s ? std::string(*s) : std::string();
}

std::string_view TypeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return (v.IsInt64() || v.IsUint64()) ? "integer" : "number";
  }
  return "unknown";
}

std::string ToJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string QuoteJson(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace backstop
