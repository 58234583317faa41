#include "webhook/codec.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/json_util.h"
#include "webhook/base64.h"

namespace backstop::webhook {
namespace {

using rapidjson::Value;

constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";

// Reads typed fields of one object, stopping at the first problem with its field path.
class FieldReader {
 public:
  FieldReader(const Value& object, std::string path, Status* error)
      : object_(object), path_(std::move(path)), error_(error) {}

  bool failed() const { return !error_->ok(); }

  // Optional string: absent or null leaves `out` empty.
  bool String(const char* key, std::string* out, bool required = false) {
    if (failed()) return false;
    const Value* v = Member(&object_, key);
    if (v == nullptr || v->IsNull()) {
      if (required) return Fail(key, "is required");
      return true;
    }
    if (!v->IsString()) return Fail(key, "must be a string, got " + std::string(TypeName(*v)));
    out->assign(v->GetString(), v->GetStringLength());
    return true;
  }

  bool Bool(const char* key, bool* out) {
    if (failed()) return false;
    const Value* v = Member(&object_, key);
    if (v == nullptr || v->IsNull()) return true;
    if (!v->IsBool()) return Fail(key, "must be a boolean, got " + std::string(TypeName(*v)));
    *out = v->GetBool();
    return true;
  }

  // Optional object: absent or null gives nullptr.
  bool Object(const char* key, const Value** out, bool required = false) {
    if (failed()) return false;
    const Value* v = Member(&object_, key);
    if (v == nullptr || v->IsNull()) {
      if (required) return Fail(key, "is required");
      *out = nullptr;
      return true;
    }
    if (!v->IsObject()) return Fail(key, "must be an object, got " + std::string(TypeName(*v)));
    *out = v;
    return true;
  }

  bool Gvk(const char* key, policy::GroupVersionKind* out, bool required) {
    const Value* v = nullptr;
    if (!Object(key, &v, required) || v == nullptr) return !failed();
    FieldReader r(*v, Path(key), error_);
    return r.String("group", &out->group) && r.String("version", &out->version) &&
           r.String("kind", &out->kind, true);
  }

  bool Gvr(const char* key, policy::GroupVersionResource* out, bool required) {
    const Value* v = nullptr;
    if (!Object(key, &v, required) || v == nullptr) return !failed();
    FieldReader r(*v, Path(key), error_);
    return r.String("group", &out->group) && r.String("version", &out->version) &&
           r.String("resource", &out->resource, true);
  }

  bool StringList(const char* key, std::vector<std::string>* out) {
    if (failed()) return false;
    const Value* v = Member(&object_, key);
    if (v == nullptr || v->IsNull()) return true;
    if (!v->IsArray()) return Fail(key, "must be an array, got " + std::string(TypeName(*v)));
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      if (!(*v)[i].IsString()) {
        return Fail(std::string(key) + "[" + std::to_string(i) + "]",
                    "must be a string, got " + std::string(TypeName((*v)[i])));
      }
      out->emplace_back((*v)[i].GetString(), (*v)[i].GetStringLength());
    }
    return true;
  }

  std::string Path(std::string_view key) const { return path_ + "." + std::string(key); }

  bool Fail(std::string_view key, const std::string& what) {
    // Top-level keys have an empty path: no leading ".".
    std::string path = Path(key);
    if (path_.empty()) path.erase(0, 1);
    *error_ = InvalidArgumentError(path + ": " + what);
    return false;
  }

 private:
  const Value& object_;
  std::string path_;
  Status* error_;
};

// Reads the request; on failure *error says why and out->uid keeps the uid when it was read.
bool DecodeRequest(const Value& req, const std::string& path, policy::AdmissionRequest* out,
                   Status* error) {
  FieldReader r(req, path, error);
  if (!r.String("uid", &out->uid, true)) return false;
  if (out->uid.empty()) return r.Fail("uid", "must not be empty");
  std::string operation;
  r.Gvk("kind", &out->kind, true) && r.Gvr("resource", &out->resource, true) &&
      r.String("subResource", &out->sub_resource) &&
      r.Gvk("requestKind", &out->request_kind, false) &&
      r.Gvr("requestResource", &out->request_resource, false) && r.String("name", &out->name) &&
      r.String("namespace", &out->ns) && r.String("operation", &operation, true);
  if (r.failed()) return false;
  out->operation = policy::ParseOperation(operation);
  if (out->operation == policy::Operation::kUnknown) {
    return r.Fail("operation",
                  "must be one of CREATE, UPDATE, DELETE, CONNECT, got \"" + operation + "\"");
  }
  const Value* user = nullptr;
  if (!r.Object("userInfo", &user)) return false;
  if (user != nullptr) {
    FieldReader u(*user, r.Path("userInfo"), error);
    if (!(u.String("username", &out->user_info.username) && u.String("uid", &out->user_info.uid) &&
          u.StringList("groups", &out->user_info.groups))) {
      return false;
    }
  }
  return r.Object("object", &out->object) && r.Object("oldObject", &out->old_object) &&
         r.Object("options", &out->options) && r.Bool("dryRun", &out->dry_run);
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Longest prefix of `s` no longer than `max` bytes that does not split a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

Status DecodeAdmissionReview(std::string_view body, DecodedReview* out, bool allow_bare_request) {
  out->api_version.clear();
  out->kind.clear();
  out->request = policy::AdmissionRequest{};
  if (body.empty()) {
    return InvalidArgumentError("request body is empty: expected an AdmissionReview JSON object");
  }
  out->document = std::make_unique<rapidjson::Document>();
  rapidjson::Document& doc = *out->document;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError("invalid JSON at byte " + std::to_string(doc.GetErrorOffset()) +
                                ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) {
    return InvalidArgumentError("body must be a JSON object (an AdmissionReview), got " +
                                std::string(TypeName(doc)));
  }
  Status error;
  const Value* request = nullptr;
  const bool bare =
      allow_bare_request && Member(&doc, "request") == nullptr && Member(&doc, "uid") != nullptr;
  if (bare) {
    out->api_version = std::string(kV1);
    out->kind = "AdmissionReview";
    request = &doc;
  } else {
    FieldReader top(doc, "", &error);
    std::string api_version;
    std::string kind;
    if (!top.String("apiVersion", &api_version, true) || !top.String("kind", &kind, true)) {
      return error;
    }
    if (api_version != kV1 && api_version != kV1beta1) {
      return InvalidArgumentError(
          "apiVersion: unsupported \"" + api_version +
          "\": backstop answers admission.k8s.io/v1 and admission.k8s.io/v1beta1");
    }
    out->api_version = std::move(api_version);
    if (kind != "AdmissionReview") {
      return InvalidArgumentError("kind: must be AdmissionReview, got \"" + kind + "\"");
    }
    out->kind = std::move(kind);
    request = Member(&doc, "request");
    if (request == nullptr || request->IsNull()) {
      return InvalidArgumentError("request: is required (an AdmissionReview without a request)");
    }
    if (!request->IsObject()) {
      return InvalidArgumentError("request: must be an object, got " +
                                  std::string(TypeName(*request)));
    }
  }
  if (!DecodeRequest(*request, "request", &out->request, &error)) return error;
  return OkStatus();
}

std::vector<std::string> SanitizeWarnings(const std::vector<std::string>& warnings) {
  constexpr size_t kMaxEach = 256;
  constexpr size_t kMaxTotal = 4096;
  constexpr size_t kReserve = 64;  // room for the "N more" note
  std::vector<std::string> out;
  size_t total = 0;
  size_t dropped = 0;
  for (const auto& raw : warnings) {
    std::string w;
    w.reserve(raw.size());
    for (char c : raw) w += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    std::string_view view(w);
    while (view.size() >= 8 &&
           (view.substr(0, 8) == "Warning:" || view.substr(0, 8) == "warning:")) {
      view.remove_prefix(8);
      while (!view.empty() && view.front() == ' ') view.remove_prefix(1);
    }
    view = Utf8Prefix(view, kMaxEach);
    if (view.empty()) continue;
    if (dropped > 0 || total + view.size() > kMaxTotal - kReserve) {
      ++dropped;
      continue;
    }
    total += view.size();
    out.emplace_back(view);
  }
  if (dropped > 0) {
    out.push_back(std::to_string(dropped) + " more warning(s) left out (4096-byte limit)");
  }
  return out;
}

std::string PatchJson(const std::vector<policy::PatchOp>& ops) {
  std::string out = "[";
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& op = ops[i];
    if (i > 0) out += ',';
    out += "{\"op\":" + QuoteJson(op.op) + ",\"path\":" + QuoteJson(op.path);
    if (!op.value_json.empty()) out += ",\"value\":" + op.value_json;
    out += '}';
  }
  out += ']';
  return out;
}

std::string EncodeAdmissionResponse(std::string_view api_version, std::string_view uid,
                                    const policy::Decision& decision, bool allow_patch) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("apiVersion");
  WriteString(w, api_version.empty() ? kV1 : api_version);
  w.Key("kind");
  w.String("AdmissionReview");
  w.Key("response");
  w.StartObject();
  w.Key("uid");
  WriteString(w, uid);
  w.Key("allowed");
  w.Bool(decision.allowed);
  if (!decision.allowed || !decision.message.empty()) {
    w.Key("status");
    w.StartObject();
    int code = decision.code;
    if (!decision.allowed && code < 400) code = 400;
    w.Key("code");
    w.Int(code);
    if (!decision.allowed) {
      w.Key("status");
      w.String("Failure");
    }
    if (!decision.message.empty()) {
      w.Key("message");
      WriteString(w, decision.message);
    }
    if (!decision.reason.empty()) {
      w.Key("reason");
      WriteString(w, decision.reason);
    }
    w.EndObject();
  }
  if (allow_patch && decision.allowed && !decision.patch.empty()) {
    w.Key("patchType");
    w.String("JSONPatch");
    w.Key("patch");
    WriteString(w, Base64Encode(PatchJson(decision.patch)));
  }
  auto warnings = SanitizeWarnings(decision.warnings);
  if (!warnings.empty()) {
    w.Key("warnings");
    w.StartArray();
    for (const auto& s : warnings) WriteString(w, s);
    w.EndArray();
  }
  if (!decision.audit_annotations.empty()) {
    w.Key("auditAnnotations");
    w.StartObject();
    for (const auto& [k, v] : decision.audit_annotations) {
      WriteString(w, k);
      WriteString(w, v);
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string EncodeStatus(int code, std::string_view reason, std::string_view message) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("apiVersion");
  w.String("v1");
  w.Key("kind");
  w.String("Status");
  w.Key("status");
  w.String("Failure");
  w.Key("code");
  w.Int(code);
  w.Key("reason");
  WriteString(w, reason);
  w.Key("message");
  WriteString(w, message);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace backstop::webhook
