#include "watcher/watch_decoder.h"

namespace backstop::watcher {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

std::string StringMember(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

LineDecoder::Status LineDecoder::Feed(std::string_view chunk,
                                      const std::function<bool(std::string_view)>& on_line) {
  while (!chunk.empty()) {
    const size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (pending_.size() + chunk.size() > max_line_bytes_) {
        pending_.clear();
        return Status::kTooLarge;
      }
      pending_.append(chunk);
      return Status::kOk;
    }
    if (pending_.size() + nl > max_line_bytes_) {
      pending_.clear();
      return Status::kTooLarge;
    }
    bool keep_going = true;
    if (pending_.empty()) {
      // Common case: the whole line is inside this chunk; no copy.
      std::string_view line = chunk.substr(0, nl);
      if (!IsBlank(line)) keep_going = on_line(line);
    } else {
      pending_.append(chunk.substr(0, nl));
      std::string line;
      line.swap(pending_);
      if (!IsBlank(line)) keep_going = on_line(line);
    }
    chunk.remove_prefix(nl + 1);
    if (!keep_going) return Status::kStopped;
  }
  return Status::kOk;
}

StatusOr<DecodedEvent> ParseWatchEvent(std::string_view line) {
  DecodedEvent ev;
  ev.doc = std::make_unique<rapidjson::Document>();
  ev.doc->Parse(line.data(), line.size());
  if (ev.doc->HasParseError()) {
    return InvalidArgumentError("watch event is not valid JSON (offset " +
                                std::to_string(ev.doc->GetErrorOffset()) + ")");
  }
  if (!ev.doc->IsObject()) return InvalidArgumentError("watch event is not a JSON object");
  ev.type_name = StringMember(*ev.doc, "type");
  if (ev.type_name.empty()) return InvalidArgumentError("watch event has no \"type\"");
  auto obj = ev.doc->FindMember("object");
  if (obj == ev.doc->MemberEnd() || !obj->value.IsObject()) {
    return InvalidArgumentError("watch event " + ev.type_name + " has no \"object\"");
  }
  ev.object = &obj->value;
  if (ev.type_name == "ADDED") {
    ev.type = RawEventType::kAdded;
  } else if (ev.type_name == "MODIFIED") {
    ev.type = RawEventType::kModified;
  } else if (ev.type_name == "DELETED") {
    ev.type = RawEventType::kDeleted;
  } else if (ev.type_name == "BOOKMARK") {
    ev.type = RawEventType::kBookmark;
  } else if (ev.type_name == "ERROR") {
    ev.type = RawEventType::kError;
  } else {
    ev.type = RawEventType::kUnknown;
  }
  return ev;
}

bool ParseApiStatus(const rapidjson::Value& v, ApiStatus* out) {
  if (!v.IsObject() || StringMember(v, "kind") != "Status") return false;
  out->reason = StringMember(v, "reason");
  out->message = StringMember(v, "message");
  out->code = 0;
  auto code = v.FindMember("code");
  if (code != v.MemberEnd() && code->value.IsInt()) out->code = code->value.GetInt();
  return true;
}

bool ParseApiStatusBody(std::string_view body, ApiStatus* out) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) return false;
  return ParseApiStatus(doc, out);
}

std::string ResourceVersionOf(const rapidjson::Value& object) {
  if (!object.IsObject()) return {};
  auto md = object.FindMember("metadata");
  if (md == object.MemberEnd()) return {};
  return StringMember(md->value, "resourceVersion");
}

}  // namespace backstop::watcher
