#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/admission_request.h"
#include "policy/decision.h"

namespace backstop::policy {

inline constexpr int64_t kInt32Max = 2147483647;
inline constexpr int64_t kInt32Min = -2147483647 - 1;

// Where a field lives inside an object: member names from the root, shown dotted
// ("spec.failurePolicy.maxRetriesPerItem").
class FieldPath {
 public:
  FieldPath() = default;
  FieldPath(std::initializer_list<std::string_view> segments);

  FieldPath Child(std::string_view key) const;
  std::string String() const;
  const std::vector<std::string>& segments() const { return segments_; }

  // The value at this path under `root` (JSON null included); null when a step is missing.
  const rapidjson::Value* Resolve(const rapidjson::Value* root) const;

 private:
  std::vector<std::string> segments_;
};

// A value as messages show it: -1, 1.5, "5m", true, null; objects and arrays by type only.
std::string DescribeValue(const rapidjson::Value& v);

// The result of reading a JSON value as an integer within bounds.
struct IntCheck {
  enum class Status { kOk, kNotInteger, kBelowMin, kAboveMax };
  Status status = Status::kNotInteger;
  int64_t value = 0;    // the integer (when kOk, and when out of bounds but within int64)
  std::string problem;  // empty when kOk, else e.g. "must be >= 0, got -1"
  bool ok() const { return status == Status::kOk; }
};

// Reads `v` as an integer in [min, max]. Strings, booleans and numbers with a fraction
// (including 2.0, which Go's JSON decoder rejects for integer fields) are kNotInteger.
// When max is kInt32Max the bound is named "(int32)" in the problem text.
IntCheck CheckInteger(const rapidjson::Value& v, int64_t min, int64_t max);

// One problem with one field of the reviewed object.
struct FieldViolation {
  std::string rule;    // stable rule id, e.g. "taskspawner.failurePolicy"
  FieldPath path;      // the offending field
  std::string detail;  // what is wrong, with the value received
  std::string Message() const { return path.String() + ": " + detail; }
};

// Collects every problem of one object and answers once, like Kubernetes field
// validation: all violations in one denial (422 Invalid), each with its path.
//
// UPDATE ratchets: a violation whose field holds the same value in oldObject is turned
// into a warning, so objects stored before a rule existed (or before a stricter setting)
// keep accepting unrelated edits; a changed invalid value is denied.
class FieldRules {
 public:
  explicit FieldRules(const AdmissionRequest& request);

  const rapidjson::Value* object() const { return object_; }
  // The value at `path` in the object; null when absent or JSON null (unset).
  const rapidjson::Value* Get(const FieldPath& path) const;

  void Violate(std::string rule, FieldPath path, std::string detail);
  // A warning that does not block; `rule` names it when the answer is an allowance.
  void Warn(std::string rule, std::string warning);

  // Reads an optional object field: unset gives null; anything but an object is a
  // violation ("must be an object, got ...") and gives null.
  const rapidjson::Value* OptionalObject(std::string_view rule, const FieldPath& path);
  // Reads an optional string field: unset gives nullopt; a non-string is a violation.
  std::optional<std::string_view> OptionalString(std::string_view rule, const FieldPath& path);
  // Reads an optional integer field in [min, max]: unset gives nullopt; a problem is a
  // violation and gives nullopt.
  std::optional<int64_t> OptionalInt(std::string_view rule, const FieldPath& path, int64_t min,
                                     int64_t max);
  // Reads an optional boolean field: unset gives nullopt; a non-boolean is a violation.
  std::optional<bool> OptionalBool(std::string_view rule, const FieldPath& path);
  // Reports every member of the object at `path` whose name is not in `known`.
  void RejectUnknownMembers(std::string_view rule, const FieldPath& path,
                            std::initializer_list<std::string_view> known);

  const std::vector<FieldViolation>& violations() const { return violations_; }

  // Allowed (with warnings, rule = the first warning's rule) when nothing is left after
  // ratcheting, otherwise Denied with code 422, reason "Invalid", the rule of the first
  // denied violation, and every denied violation's message joined with "; ". Ratcheted
  // violations come first among the warnings, as "<message> (unchanged, allowed)".
  Decision Finish() const;

 private:
  bool Unchanged(const FieldPath& path) const;

  const rapidjson::Value* object_;
  const rapidjson::Value* old_object_;  // only for UPDATE
  std::vector<FieldViolation> violations_;
  std::vector<std::pair<std::string, std::string>> warnings_;  // rule, text
};

}  // namespace backstop::policy
