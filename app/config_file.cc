#include "app/config_file.h"

#include "app/documents.h"

namespace backstop::app {

Result<LoadedConfig> LoadConfig(const std::string& path) {
  LoadedConfig out;
  auto doc = std::make_shared<rapidjson::Document>();
  doc->SetObject();
  if (!path.empty()) {
    auto docs = LoadDocuments(path);
    if (!docs) return Error{"--config " + docs.error().message};
    if (docs->size() > 1)
      return Error{"--config " + path + ": expected one document, found " +
                   std::to_string(docs->size())};
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
    for (char c : parsed.error().message + "\n") {
      if (c == '\n') {
        message += "\n  " + line;
        line.clear();
      } else {
        line += c;
      }
    }
    return Error{message};
  }
  out.policy = std::make_shared<const policy::PolicyConfig>(std::move(*parsed));
  out.document = std::move(doc);
  return out;
}

}  // namespace backstop::app
