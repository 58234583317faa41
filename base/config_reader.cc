#include "base/config_reader.h"

#include "base/json_util.h"

namespace backstop {

Status ConfigProblems::ErrorStatus() const {
  if (errors.empty()) return OkStatus();
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
  return InvalidArgumentError(message);
}

ConfigReader::ConfigReader(const rapidjson::Value* object, std::string path,
                           ConfigProblems* problems)
    : object_(object), path_(std::move(path)), problems_(problems) {
  if (object_ != nullptr && !object_->IsObject()) {
    problems_->errors.push_back((path_.empty() ? std::string("config") : path_) +
                                ": must be an object, got " + std::string(TypeName(*object_)));
    object_ = nullptr;
  }
}

std::string ConfigReader::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const rapidjson::Value* ConfigReader::Take(std::string_view key) {
  seen_.emplace(key);
  found_key_ = std::string(key);
  const rapidjson::Value* v = Member(object_, key);
  if (v != nullptr && v->IsNull()) v = nullptr;
  for (const auto& [old_key, new_key] : renamed_) {
    if (new_key != key) continue;
    seen_.emplace(old_key);
    const rapidjson::Value* old_value = Member(object_, old_key);
    if (old_value == nullptr || old_value->IsNull()) continue;
    if (v != nullptr) {
      Fail(old_key, "was renamed to " + new_key + ", which is also set; remove " + old_key);
      continue;
    }
    Warn(old_key, "is deprecated: rename it to " + new_key + " (same meaning)");
    v = old_value;
    found_key_ = old_key;
  }
  return v;
}

void ConfigReader::Renamed(std::string_view old_key, std::string_view new_key) {
  renamed_.emplace_back(old_key, new_key);
}

void ConfigReader::Fail(std::string_view key, std::string_view what) {
  problems_->errors.push_back(KeyPath(key) + ": " + std::string(what));
}

void ConfigReader::Warn(std::string_view key, std::string_view what) {
  problems_->warnings.push_back(KeyPath(key) + ": " + std::string(what));
}

void ConfigReader::Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsInt64()) {
    Fail(found_key_,
         "must be an integer, got " + (v->IsNumber() ? ToJson(*v) : std::string(TypeName(*v))));
    return;
  }
  int64_t n = v->GetInt64();
  if (n < min || n > max) {
    Fail(found_key_, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         ", got " + std::to_string(n));
    return;
  }
  *out = n;
}

void ConfigReader::Bool(std::string_view key, bool* out) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsBool()) {
    Fail(found_key_, "must be a boolean, got " + std::string(TypeName(*v)));
    return;
  }
  *out = v->GetBool();
}

void ConfigReader::String(std::string_view key, std::string* out) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsString()) {
    Fail(found_key_, "must be a string, got " + std::string(TypeName(*v)));
    return;
  }
  *out = std::string(v->GetString(), v->GetStringLength());
}

void ConfigReader::StringList(std::string_view key, std::vector<std::string>* out) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsArray()) {
    Fail(found_key_, "must be a list of strings, got " + std::string(TypeName(*v)));
    return;
  }
  std::vector<std::string> items;
  for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
    const auto& item = (*v)[i];
    if (!item.IsString()) {
      Fail(found_key_ + "[" + std::to_string(i) + "]",
           "must be a string, got " + std::string(TypeName(item)));
      return;
    }
    items.emplace_back(item.GetString(), item.GetStringLength());
  }
  *out = std::move(items);
}

void ConfigReader::Enum(std::string_view key, std::string* out,
                        const std::vector<std::string>& allowed) {
  std::string value;
  String(key, &value);
  if (value.empty()) return;  // absent (or ""): the default stays
  for (const auto& a : allowed) {
    if (a == value) {
      *out = value;
      return;
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  Fail(found_key_, "must be one of " + list + ", got \"" + value + "\"");
}

const rapidjson::Value* ConfigReader::Raw(std::string_view key) { return Take(key); }

ConfigReader ConfigReader::Child(std::string_view key) {
  const rapidjson::Value* v = Take(key);
  return ConfigReader(v, KeyPath(found_key_), problems_);
}

ConfigReader ConfigReader::Nested(std::string_view key, const rapidjson::Value* object) {
  return ConfigReader(object, KeyPath(key), problems_);
}

void ConfigReader::RejectUnknown() {
  if (object_ == nullptr) return;
  for (auto it = object_->MemberBegin(); it != object_->MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (seen_.find(name) == seen_.end()) Fail(name, "unknown key");
  }
}

}  // namespace backstop
