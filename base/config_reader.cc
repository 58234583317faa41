#include "base/config_reader.h"

#include "base/json_util.h"

namespace backstop {

ConfigReader::ConfigReader(const rapidjson::Value* object, std::string path,
                           std::vector<std::string>* errors)
    : object_(object), path_(std::move(path)), errors_(errors) {
  if (object_ != nullptr && !object_->IsObject()) {
    errors_->push_back((path_.empty() ? std::string("config") : path_) +
                       ": must be an object, got " + std::string(TypeName(*object_)));
    object_ = nullptr;
  }
}

std::string ConfigReader::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const rapidjson::Value* ConfigReader::Take(std::string_view key) {
  seen_.emplace(key);
  const rapidjson::Value* v = Member(object_, key);
  if (v != nullptr && v->IsNull()) return nullptr;
  return v;
}

void ConfigReader::Fail(std::string_view key, std::string_view what) {
  errors_->push_back(KeyPath(key) + ": " + std::string(what));
}

void ConfigReader::Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsInt64()) {
    Fail(key,
         "must be an integer, got " + (v->IsNumber() ? ToJson(*v) : std::string(TypeName(*v))));
    return;
  }
  int64_t n = v->GetInt64();
  if (n < min || n > max) {
    Fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                  std::to_string(n));
    return;
  }
  *out = n;
}

void ConfigReader::Bool(std::string_view key, bool* out) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsBool()) {
    Fail(key, "must be a boolean, got " + std::string(TypeName(*v)));
    return;
  }
  *out = v->GetBool();
}

void ConfigReader::String(std::string_view key, std::string* out) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsString()) {
    Fail(key, "must be a string, got " + std::string(TypeName(*v)));
    return;
  }
  *out = std::string(v->GetString(), v->GetStringLength());
}

void ConfigReader::StringList(std::string_view key, std::vector<std::string>* out) {
  const rapidjson::Value* v = Take(key);
  if (v == nullptr) return;
  if (!v->IsArray()) {
    Fail(key, "must be a list of strings, got " + std::string(TypeName(*v)));
    return;
  }
  std::vector<std::string> items;
  for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
    const auto& item = (*v)[i];
    if (!item.IsString()) {
      Fail(std::string(key) + "[" + std::to_string(i) + "]",
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
  const bool had = Member(object_, key) != nullptr;
  String(key, &value);
  if (!had || value.empty()) return;
  for (const auto& a : allowed) {
    if (a == value) {
      *out = value;
      return;
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  Fail(key, "must be one of " + list + ", got \"" + value + "\"");
}

const rapidjson::Value* ConfigReader::Raw(std::string_view key) { return Take(key); }

ConfigReader ConfigReader::Child(std::string_view key) {
  return ConfigReader(Take(key), KeyPath(key), errors_);
}

void ConfigReader::RejectUnknown() {
  if (object_ == nullptr) return;
  for (auto it = object_->MemberBegin(); it != object_->MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (seen_.find(name) == seen_.end()) Fail(name, "unknown key");
  }
}

}  // namespace backstop
