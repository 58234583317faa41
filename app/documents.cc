#include "app/documents.h"

#include <rapidjson/error/en.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace backstop::app {
namespace {

using rapidjson::Value;

bool IsPlain(const YAML::Node& n) { return n.Tag() == "?" || n.Tag().empty(); }

bool ParseInteger(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  int base = 10;
  if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o')) {
    base = s[i + 1] == 'x' ? 16 : 8;
    i += 2;
  }
  for (size_t j = i; j < s.size(); ++j) {
    char c = s[j];
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                         : (c >= '0' && c <= (base == 8 ? '7' : '9'));
    if (!ok) return false;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str() + i, &end, base);
  if (errno == ERANGE) return false;
  *out = s[0] == '-' ? -v : v;
  return true;
}

bool ParseFloat(const std::string& s, double* out) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") {
    *out = HUGE_VAL;
    return true;
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    *out = -HUGE_VAL;
    return true;
  }
  // YAML 1.2 core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  bool exp = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    exp = true;
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t e = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++e;
    if (e == 0) return false;
  }
  if (i != s.size() || (!dot && !exp)) return false;
  *out = std::strtod(s.c_str(), nullptr);
  return true;
}

void Convert(const YAML::Node& node, Value* out, rapidjson::Document::AllocatorType& alloc) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out->SetNull();
      return;
    case YAML::NodeType::Sequence:
      out->SetArray();
      for (const auto& item : node) {
        Value v;
        Convert(item, &v, alloc);
        out->PushBack(v, alloc);
      }
      return;
    case YAML::NodeType::Map:
      out->SetObject();
      for (const auto& kv : node) {
        Value key(kv.first.Scalar().c_str(),
                  static_cast<rapidjson::SizeType>(kv.first.Scalar().size()), alloc);
        Value v;
        Convert(kv.second, &v, alloc);
        out->AddMember(key, v, alloc);
      }
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (IsPlain(node)) {
        if (s.empty() || s == "null" || s == "Null" || s == "NULL" || s == "~") {
          out->SetNull();
          return;
        }
        if (s == "true" || s == "True" || s == "TRUE") {
          out->SetBool(true);
          return;
        }
        if (s == "false" || s == "False" || s == "FALSE") {
          out->SetBool(false);
          return;
        }
        int64_t i = 0;
        if (ParseInteger(s, &i)) {
          out->SetInt64(i);
          return;
        }
        double d = 0;
        if (ParseFloat(s, &d)) {
          out->SetDouble(d);
          return;
        }
      }
      out->SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
      return;
    }
  }
}

}  // namespace

StatusOr<std::vector<SourceDocument>> ParseDocuments(std::string_view text,
                                                     std::string_view source) {
  std::vector<SourceDocument> docs;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    SourceDocument d;
    d.source = std::string(source);
    d.index = 1;
    d.line = 1;
    d.json = std::make_unique<rapidjson::Document>();
    d.json->Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
    if (d.json->HasParseError()) {
      size_t offset = d.json->GetErrorOffset();
      int line = 1;
      for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
      return InvalidArgumentError(
          std::string(source) + ":" + std::to_string(line) +
          ": invalid JSON: " + rapidjson::GetParseError_En(d.json->GetParseError()));
    }
    docs.push_back(std::move(d));
    return docs;
  }
  try {
    std::vector<YAML::Node> nodes = YAML::LoadAll(std::string(text));
    int index = 0;
    for (const auto& node : nodes) {
      ++index;
      if (!node.IsDefined() || node.IsNull()) continue;
      SourceDocument d;
      d.source = std::string(source);
      d.index = index;
      d.line = node.Mark().line + 1;
      d.json = std::make_unique<rapidjson::Document>();
      Convert(node, d.json.get(), d.json->GetAllocator());
      docs.push_back(std::move(d));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string(source) + ":" + std::to_string(e.mark.line + 1) +
                                ": invalid YAML: " + e.msg);
  }
  return docs;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  if (path == "-") {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return data;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError(path + ": cannot open: " + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return InvalidArgumentError(path + ": read failed: " + std::strerror(errno));
  return data;
}

StatusOr<std::vector<SourceDocument>> LoadDocuments(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return text.status();
  return ParseDocuments(*text, path);
}

}  // namespace backstop::app
