#include "policy/field_rules.h"

#include <cmath>
#include <utility>

#include "base/json_util.h"

namespace backstop::policy {
namespace {

// 2^63 as a double: integral doubles at or beyond it do not fit int64.
constexpr double kTwoTo63 = 9223372036854775808.0;

std::string MaxText(int64_t max) {
  return std::to_string(max) + (max == kInt32Max ? " (int32)" : "");
}

std::string TypeAndValue(const rapidjson::Value& v) {
  if (v.IsObject() || v.IsArray() || v.IsNull()) return std::string(TypeName(v));
  return std::string(TypeName(v)) + " " + DescribeValue(v);
}

}  // namespace

FieldPath::FieldPath(std::initializer_list<std::string_view> segments) {
  for (std::string_view s : segments) segments_.emplace_back(s);
}

FieldPath FieldPath::Child(std::string_view key) const {
  FieldPath child = *this;
  child.segments_.emplace_back(key);
  return child;
}

std::string FieldPath::String() const {
  std::string out;
  for (const auto& s : segments_) {
    if (!out.empty()) out += '.';
    out += s;
  }
  return out;
}

const rapidjson::Value* FieldPath::Resolve(const rapidjson::Value* root) const {
  const rapidjson::Value* v = root;
  for (const auto& s : segments_) {
    v = Member(v, s);
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::string DescribeValue(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kObjectType:
    case rapidjson::kArrayType:
      return std::string(TypeName(v));
    case rapidjson::kStringType:
      return QuoteJson(std::string_view(v.GetString(), v.GetStringLength()));
    default:
      return ToJson(v);
  }
}

IntCheck CheckInteger(const rapidjson::Value& v, int64_t min, int64_t max) {
  IntCheck c;
  const auto below = [&](std::string got) {
    c.status = IntCheck::Status::kBelowMin;
    c.problem = "must be >= " + std::to_string(min) + ", got " + std::move(got);
  };
  const auto above = [&](std::string got) {
    c.status = IntCheck::Status::kAboveMax;
    c.problem = "must be <= " + MaxText(max) + ", got " + std::move(got);
  };
  if (!v.IsNumber()) {
    c.problem = "must be an integer, got " + TypeAndValue(v);
    return c;
  }
  int64_t n = 0;
  if (v.IsInt64()) {
    n = v.GetInt64();
  } else if (v.IsUint64()) {
    above(ToJson(v));  // beyond int64, so beyond any bound
    return c;
  } else {
    // A double. An integral one is the integer it spells (the apiserver stores 2.0 as 2);
    // a fraction is not an integer.
    const double d = v.GetDouble();
    if (!std::isfinite(d) || std::trunc(d) != d) {
      c.problem = "must be an integer, got " + ToJson(v);
      return c;
    }
    if (d >= kTwoTo63) {
      above(ToJson(v));
      return c;
    }
    if (d < -kTwoTo63) {
      below(ToJson(v));
      return c;
    }
    n = static_cast<int64_t>(d);
  }
  c.value = n;
  if (n < min) {
    below(std::to_string(n));
  } else if (n > max) {
    above(std::to_string(n));
  } else {
    c.status = IntCheck::Status::kOk;
  }
  return c;
}

FieldRules::FieldRules(const AdmissionRequest& request)
    : object_(request.object),
      old_object_(request.operation == Operation::kUpdate ? request.old_object : nullptr) {}

const rapidjson::Value* FieldRules::Get(const FieldPath& path) const {
  const rapidjson::Value* v = path.Resolve(object_);
  if (v == nullptr || v->IsNull()) return nullptr;
  return v;
}

void FieldRules::Violate(std::string rule, FieldPath path, std::string detail) {
  violations_.push_back(FieldViolation{std::move(rule), std::move(path), std::move(detail)});
}

void FieldRules::Warn(std::string rule, std::string warning) {
  warnings_.emplace_back(std::move(rule), std::move(warning));
}

const rapidjson::Value* FieldRules::OptionalObject(std::string_view rule, const FieldPath& path) {
  const rapidjson::Value* v = Get(path);
  if (v == nullptr) return nullptr;
  if (!v->IsObject()) {
    Violate(std::string(rule), path, "must be an object, got " + TypeAndValue(*v));
    return nullptr;
  }
  return v;
}

std::optional<std::string_view> FieldRules::OptionalString(std::string_view rule,
                                                           const FieldPath& path) {
  const rapidjson::Value* v = Get(path);
  if (v == nullptr) return std::nullopt;
  if (!v->IsString()) {
    Violate(std::string(rule), path, "must be a string, got " + TypeAndValue(*v));
    return std::nullopt;
  }
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> FieldRules::OptionalInt(std::string_view rule, const FieldPath& path,
                                               int64_t min, int64_t max) {
  const rapidjson::Value* v = Get(path);
  if (v == nullptr) return std::nullopt;
  IntCheck c = CheckInteger(*v, min, max);
  if (!c.ok()) {
    Violate(std::string(rule), path, std::move(c.problem));
    return std::nullopt;
  }
  return c.value;
}

std::optional<bool> FieldRules::OptionalBool(std::string_view rule, const FieldPath& path) {
  const rapidjson::Value* v = Get(path);
  if (v == nullptr) return std::nullopt;
  if (!v->IsBool()) {
    Violate(std::string(rule), path, "must be a boolean, got " + TypeAndValue(*v));
    return std::nullopt;
  }
  return v->GetBool();
}

void FieldRules::RejectUnknownMembers(std::string_view rule, const FieldPath& path,
                                      std::initializer_list<std::string_view> known) {
  const rapidjson::Value* v = Get(path);
  if (v == nullptr || !v->IsObject()) return;
  std::string known_list;
  for (std::string_view k : known) known_list += (known_list.empty() ? "" : ", ") + std::string(k);
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    bool found = false;
    for (std::string_view k : known) found = found || k == name;
    if (!found) {
      Violate(std::string(rule), path.Child(name),
              "unknown field, got " + DescribeValue(it->value) + " (known: " + known_list + ")");
    }
  }
}

bool FieldRules::Unchanged(const FieldPath& path) const {
  if (old_object_ == nullptr) return false;
  const rapidjson::Value* now = path.Resolve(object_);
  const rapidjson::Value* before = path.Resolve(old_object_);
  return now != nullptr && before != nullptr && *now == *before;
}

Decision FieldRules::Finish() const {
  std::vector<std::string> warnings;
  std::string warning_rule;
  std::string message;
  std::string rule;
  for (const auto& v : violations_) {
    if (Unchanged(v.path)) {
      if (warning_rule.empty()) warning_rule = v.rule;
      warnings.push_back(v.Message() + " (unchanged, allowed)");
      continue;
    }
    if (rule.empty()) rule = v.rule;
    message += (message.empty() ? "" : "; ") + v.Message();
  }
  for (const auto& [warn_rule, text] : warnings_) {
    if (warning_rule.empty()) warning_rule = warn_rule;
    warnings.push_back(text);
  }
  Decision d;
  if (message.empty()) {
    d = Decision::Allowed();
    d.rule = std::move(warning_rule);
  } else {
    d = Decision::Denied(std::move(rule), std::move(message), 422, "Invalid");
  }
  d.WithWarnings(std::move(warnings));
  return d;
}

}  // namespace backstop::policy
