#include "app/config_file.h"

#include "app/documents.h"

namespace backstop::app {

StatusOr<LoadedConfig> LoadConfig(const std::string& path) {
  LoadedConfig out;
  auto doc = std::make_shared<rapidjson::Document>();
  doc->SetObject();
  if (!path.empty()) {
    auto docs = LoadDocuments(path);
    if (!docs) return Status(docs.status().code(), "--config " + docs.status().message());
    if (docs->size() > 1)
      return InvalidArgumentError("--config " + path + ": expected one document, found " +
                                  std::to_string(docs->size()));
    if (!docs->empty()) {
      doc = std::shared_ptr<rapidjson::Document>(std::move((*docs)[0].json));
      if (doc->IsNull()) doc->SetObject();
    }
  }
  auto parsed = policy::ParsePolicyConfig(*doc);
  if (!parsed) {
    std::string where = path.empty() ? "defaults" : path;
    std::string message = "--config " + where + ": invalid configuration:";
    std::string line;
    for (char c : parsed.status().message() + "\n") {
      if (c == '\n') {
        message += "\n  " + line;
        line.clear();
      } else {
        line += c;
      }
    }
    return InvalidArgumentError(message);
  }
  out.policy = std::make_shared<const policy::PolicyConfig>(std::move(*parsed));
  out.document = std::move(doc);
  return out;
}

}  // namespace backstop::app
