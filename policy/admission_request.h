#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

namespace backstop::policy {

struct GroupVersionKind {
  std::string group;
  std::string version;
  std::string kind;
};

struct GroupVersionResource {
  std::string group;
  std::string version;
  std::string resource;
};

enum class Operation { kUnknown, kCreate, kUpdate, kDelete, kConnect };

std::string_view OperationName(Operation op);
Operation ParseOperation(std::string_view name);  // kUnknown when not one of the four

struct UserInfo {
  std::string username;
  std::string uid;
  std::vector<std::string> groups;
};

// A decoded AdmissionRequest (admission.k8s.io v1 or v1beta1). The object, oldObject
// and options point into the JSON document that the codec owns; they stay valid as long
// as the decoded review lives. A pointer is null when the field is absent or JSON null.
struct AdmissionRequest {
  std::string uid;
  GroupVersionKind kind;
  GroupVersionResource resource;
  std::string sub_resource;
  GroupVersionKind request_kind;
  GroupVersionResource request_resource;
  std::string name;
  std::string ns;  // request.namespace
  Operation operation = Operation::kUnknown;
  UserInfo user_info;
  const rapidjson::Value* object = nullptr;
  const rapidjson::Value* old_object = nullptr;
  const rapidjson::Value* options = nullptr;
  bool dry_run = false;
};

}  // namespace backstop::policy
