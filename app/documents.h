#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace backstop::app {

// One document read from a file: JSON, or one YAML document of a multi-document stream,
// converted to JSON with YAML 1.2 core-schema typing (unquoted true, 12, null, 1.5 are
// typed; quoted scalars stay strings).
struct SourceDocument {
  std::string source;  // file name (or "-")
  int index = 0;       // 1-based document number within the file
  int line = 0;        // 1-based line where the document starts (YAML), 1 for JSON
  std::unique_ptr<rapidjson::Document> json;
};

// Parses `text` as JSON when it starts with '{' or '[', otherwise as YAML (all
// documents; empty documents are skipped). Errors name the source, document and line.
StatusOr<std::vector<SourceDocument>> ParseDocuments(std::string_view text,
                                                     std::string_view source);

// Reads a whole file ("-" is standard input). Errors name the path and the reason.
StatusOr<std::string> ReadFile(const std::string& path);

// ReadFile then ParseDocuments.
StatusOr<std::vector<SourceDocument>> LoadDocuments(const std::string& path);

}  // namespace backstop::app
