#include "policy/admission_request.h"

namespace backstop::policy {

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kCreate:
      return "CREATE";
    case Operation::kUpdate:
      return "UPDATE";
    case Operation::kDelete:
      return "DELETE";
    case Operation::kConnect:
      return "CONNECT";
    case Operation::kUnknown:
      break;
  }
  return "UNKNOWN";
}

Operation ParseOperation(std::string_view name) {
  if (name == "CREATE") return Operation::kCreate;
  if (name == "UPDATE") return Operation::kUpdate;
  if (name == "DELETE") return Operation::kDelete;
  if (name == "CONNECT") return Operation::kConnect;
  return Operation::kUnknown;
}

}  // namespace backstop::policy
