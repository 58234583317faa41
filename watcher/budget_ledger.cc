#include "watcher/budget_ledger.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "base/json_util.h"
#include "policy/work_item.h"

namespace backstop::watcher {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A stored value larger than this is garbage (a record is a few hundred bytes).
constexpr size_t kMaxRecordBytes = 4096;

void Put(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// Cut to `max` bytes without splitting a UTF-8 sequence.
std::string Bounded(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// Reads one stored record; the problem, or "" when it decoded.
std::string DecodeRecord(std::string_view text, LedgerRecord* out) {
  if (text.size() > kMaxRecordBytes) {
    return "value of " + std::to_string(text.size()) + " bytes, more than a record can be";
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return "not a JSON object";
  const Value* count = Member(&doc, "count");
  if (count == nullptr || !count->IsInt64() || count->GetInt64() < 1) {
    return "count must be a whole number of at least 1";
  }
  out->entry.count = count->GetInt64();
  for (auto [key, field] : {std::pair{"first", &out->entry.first_failure},
                            std::pair{"last", &out->entry.last_failure}}) {
    auto text_value = AsString(Member(&doc, key));
    auto parsed = text_value ? ParseTimestamp(*text_value) : std::nullopt;
    if (!parsed) return std::string(key) + " must be an RFC 3339 time";
    *field = *parsed;
  }
  for (auto [key, field] :
       {std::pair{"reason", &out->entry.last_reason}, std::pair{"object", &out->entry.last_object},
        std::pair{"uid", &out->entry.last_uid}, std::pair{"owner", &out->entry.owner},
        std::pair{"promptHash", &out->entry.prompt_hash}}) {
    const Value* v = Member(&doc, key);
    if (v == nullptr || v->IsNull()) continue;
    if (!v->IsString()) return std::string(key) + " must be a string";
    *field = Bounded(std::string_view(v->GetString(), v->GetStringLength()), kMaxReasonBytes);
  }
  if (const Value* uids = Member(&doc, "uids"); uids != nullptr && !uids->IsNull()) {
    if (!uids->IsArray()) return "uids must be a list of strings";
    for (const Value& u : uids->GetArray()) {
      if (!u.IsString()) return "uids must be a list of strings";
      out->uids.emplace_back(u.GetString(), u.GetStringLength());
    }
    if (out->uids.size() > kMaxRememberedUids) {
      out->uids.erase(out->uids.begin(), out->uids.end() - kMaxRememberedUids);
    }
  }
  return "";
}

void RememberUid(LedgerRecord* r, const std::string& uid) {
  if (uid.empty()) return;
  r->uids.push_back(uid);
  if (r->uids.size() > kMaxRememberedUids) r->uids.erase(r->uids.begin());
}

bool Counted(const LedgerRecord& r, const std::string& uid) {
  return !uid.empty() && std::find(r.uids.begin(), r.uids.end(), uid) != r.uids.end();
}

// Drops the record with the oldest last failure; false when none is left.
bool EvictOldest(Ledger* ledger) {
  auto oldest = std::min_element(ledger->records.begin(), ledger->records.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.second.entry.last_failure < b.second.entry.last_failure;
                                 });
  if (oldest == ledger->records.end()) return false;
  ledger->records.erase(oldest);
  return true;
}

}  // namespace

std::string EncodeRecord(const LedgerRecord& record) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  const policy::BudgetEntry& e = record.entry;
  w.StartObject();
  w.Key("count");
  w.Int64(e.count);
  Put(w, "first", FormatTimestamp(e.first_failure));
  Put(w, "last", FormatTimestamp(e.last_failure));
  Put(w, "reason", Bounded(e.last_reason, kMaxReasonBytes));
  Put(w, "object", e.last_object);
  Put(w, "uid", e.last_uid);
  w.Key("uids");
  w.StartArray();
  for (const std::string& u : record.uids)
    w.String(u.data(), static_cast<rapidjson::SizeType>(u.size()));
  w.EndArray();
  if (!e.owner.empty()) Put(w, "owner", e.owner);
  if (!e.prompt_hash.empty()) Put(w, "promptHash", e.prompt_hash);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Ledger DecodeLedger(const rapidjson::Value& configmap, std::vector<LedgerProblem>* problems) {
  Ledger ledger;
  ledger.name = StringOrEmpty(Find(&configmap, {"metadata", "name"}));
  ledger.namespace_name = StringOrEmpty(Find(&configmap, {"metadata", "namespace"}));
  ledger.resource_version = StringOrEmpty(Find(&configmap, {"metadata", "resourceVersion"}));
  const Value* labels = Find(&configmap, {"metadata", "labels"});
  if (StringOrEmpty(Member(labels, kLedgerLabel)) != "true") return ledger;
  ledger.source = StringOrEmpty(Member(labels, kLedgerSourceLabel));
  ledger.item_namespace = StringOrEmpty(Member(labels, kLedgerNamespaceLabel));
  if (ledger.source.empty() || ledger.item_namespace.empty()) {
    problems->push_back({"", "labels " + std::string(kLedgerSourceLabel) + " and " +
                                 std::string(kLedgerNamespaceLabel) + " are required"});
    ledger.source.clear();
    return ledger;
  }
  if (const Value* data = Find(&configmap, {"data"}); data != nullptr && data->IsObject()) {
    for (auto it = data->MemberBegin(); it != data->MemberEnd(); ++it) {
      const std::string key(it->name.GetString(), it->name.GetStringLength());
      if (!policy::IsValidDataKey(key)) {
        problems->push_back({key, "not a work item key"});
        continue;
      }
      if (!it->value.IsString()) {
        problems->push_back({key, "value is not a string"});
        continue;
      }
      LedgerRecord record;
      const std::string_view value(it->value.GetString(), it->value.GetStringLength());
      const std::string problem = DecodeRecord(value, &record);
      if (!problem.empty()) {
        problems->push_back({key, problem});
        ledger.undecoded.emplace(key, std::string(value));
        continue;
      }
      ledger.records.emplace(key, std::move(record));
    }
  }
  if (auto resets = AsString(
          Member(Find(&configmap, {"metadata", "annotations"}), kLedgerResetsAnnotation))) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(resets->data(), resets->size());
    if (doc.HasParseError() || !doc.IsObject()) {
      problems->push_back({std::string(kLedgerResetsAnnotation), "not a JSON object"});
    } else {
      for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        auto when = it->value.IsString() ? ParseTimestamp(it->value.GetString()) : std::nullopt;
        if (!when) {
          problems->push_back({std::string(kLedgerResetsAnnotation) + "." + it->name.GetString(),
                               "not an RFC 3339 time"});
          continue;
        }
        ledger.resets[it->name.GetString()] = *when;
      }
    }
  }
  return ledger;
}

std::string EncodeLedger(const Ledger& ledger) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  Put(w, "apiVersion", "v1");
  Put(w, "kind", "ConfigMap");
  w.Key("metadata");
  w.StartObject();
  Put(w, "name", ledger.name);
  Put(w, "namespace", ledger.namespace_name);
  if (!ledger.resource_version.empty()) Put(w, "resourceVersion", ledger.resource_version);
  w.Key("labels");
  w.StartObject();
  Put(w, "app.kubernetes.io/managed-by", "backstop");
  Put(w, kLedgerLabel, "true");
  Put(w, kLedgerSourceLabel, ledger.source);
  Put(w, kLedgerNamespaceLabel, ledger.item_namespace);
  w.EndObject();
  if (!ledger.resets.empty()) {
    rapidjson::StringBuffer resets_buf;
    Writer rw(resets_buf);
    rw.StartObject();
    for (const auto& [key, when] : ledger.resets) Put(rw, key, FormatTimestamp(when));
    rw.EndObject();
    w.Key("annotations");
    w.StartObject();
    Put(w, kLedgerResetsAnnotation, std::string_view(resets_buf.GetString(), resets_buf.GetSize()));
    w.EndObject();
  }
  w.EndObject();
  w.Key("data");
  w.StartObject();
  for (const auto& [key, record] : ledger.records) Put(w, key, EncodeRecord(record));
  for (const auto& [key, value] : ledger.undecoded) {
    if (ledger.records.count(key) == 0) Put(w, key, value);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ApplyResult ApplyChanges(Ledger* ledger, const std::vector<LedgerChange>& changes,
                         size_t max_records, std::chrono::seconds reset_after, WallTime now) {
  ApplyResult result;
  for (const LedgerChange& c : changes) {
    auto it = ledger->records.find(c.key);
    switch (c.kind) {
      case LedgerChange::Kind::kFailure: {
        if (auto reset = ledger->resets.find(c.key);
            reset != ledger->resets.end() && c.at <= reset->second) {
          break;  // failed before a person reset the item
        }
        if (it != ledger->records.end() && Counted(it->second, c.uid)) break;
        ledger->undecoded.erase(c.key);  // a garbage value is replaced by a real record
        LedgerRecord& r = ledger->records[c.key];
        policy::BudgetEntry& e = r.entry;
        if (e.count == 0) e.first_failure = c.at;
        ++e.count;
        if (c.at >= e.last_failure) {
          e.last_failure = c.at;
          e.last_reason = Bounded(c.reason, kMaxReasonBytes);
          e.last_object = c.object;
          e.last_uid = c.uid;
          if (!c.owner.empty()) e.owner = c.owner;
          if (!c.prompt_hash.empty()) e.prompt_hash = c.prompt_hash;
        }
        RememberUid(&r, c.uid);
        result.changed = true;
        result.counted.push_back(c.key);
        break;
      }
      case LedgerChange::Kind::kSuccess:
        // A success ends the run of failures; one older than the last failure does not.
        if (it != ledger->records.end() && c.at >= it->second.entry.last_failure) {
          ledger->records.erase(it);
          result.changed = true;
        }
        break;
      case LedgerChange::Kind::kPromptChanged:
        if (it != ledger->records.end() && !it->second.entry.prompt_hash.empty() &&
            it->second.entry.prompt_hash != c.prompt_hash) {
          ledger->records.erase(it);
          result.changed = true;
        }
        break;
      case LedgerChange::Kind::kReset:
        if (it != ledger->records.end()) ledger->records.erase(it);
        ledger->undecoded.erase(c.key);
        ledger->resets[c.key] = c.at;
        result.changed = true;
        break;
    }
  }
  if (reset_after.count() > 0) {
    for (auto it = ledger->records.begin(); it != ledger->records.end();) {
      if (now - it->second.entry.last_failure >= reset_after) {
        it = ledger->records.erase(it);
        result.changed = true;
      } else {
        ++it;
      }
    }
  }
  // Reset marks matter only while a failure from before them could still be seen again
  // (a failed attempt that still exists); a week is far beyond any TTL that matters here.
  for (auto it = ledger->resets.begin(); it != ledger->resets.end();) {
    if (now - it->second > std::chrono::hours(24 * 7)) {
      it = ledger->resets.erase(it);
      result.changed = true;
    } else {
      ++it;
    }
  }
  while (ledger->resets.size() > max_records) {
    ledger->resets.erase(
        std::min_element(ledger->resets.begin(), ledger->resets.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
    result.changed = true;
  }
  while (ledger->records.size() > max_records && EvictOldest(ledger)) ++result.evicted;
  while (EncodeLedger(*ledger).size() > kMaxLedgerBytes && EvictOldest(ledger)) ++result.evicted;
  if (result.evicted > 0) result.changed = true;
  return result;
}

}  // namespace backstop::watcher
