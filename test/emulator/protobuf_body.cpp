#include "test/emulator/protobuf_body.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <ctime>
#include <memory>

#include "controller/util/base64.hpp"
#include "k8s_subset.pb.h"

namespace raydog::emulator {

namespace pb = google::protobuf;
using nlohmann::json;

namespace {

constexpr std::string_view kMagic("k8s\0", 4);

// "2025-05-01T12:00:00Z"; null for the zero Time (Go writes an empty message for it).
json time_json(const k8s::Time& t) {
  if (!t.has_seconds() || t.seconds() == 0) return nullptr;
  std::time_t s = static_cast<std::time_t>(t.seconds());
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json scalar(const pb::Message& m, const pb::Reflection& r, const pb::FieldDescriptor* f, int index) {
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string v = rep ? r.GetRepeatedString(m, f, index) : r.GetString(m, f);
      if (f->type() == pb::FieldDescriptor::TYPE_BYTES) return base64_encode(v);  // as Kubernetes' JSON
      return v;
    }
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return rep ? r.GetRepeatedInt32(m, f, index) : r.GetInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return rep ? r.GetRepeatedInt64(m, f, index) : r.GetInt64(m, f);
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r.GetRepeatedBool(m, f, index) : r.GetBool(m, f);
    default:
      return nullptr;  // no other scalar type in k8s_subset.proto
  }
}

bool zero(const json& v) {
  return v.is_null() || (v.is_string() && v.get<std::string>().empty()) || (v.is_number() && v == 0) ||
         (v.is_boolean() && !v.get<bool>()) || (v.is_object() && v.empty()) || (v.is_array() && v.empty());
}

json to_json(const pb::Message& m);

json value_of(const pb::Message& m, const pb::Reflection& r, const pb::FieldDescriptor* f, int index) {
  if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return scalar(m, r, f, index);
  return to_json(index >= 0 ? r.GetRepeatedMessage(m, f, index) : r.GetMessage(m, f));
}

// Field names are Kubernetes' JSON names. Go's generated marshalling writes every non-pointer field, so
// zero values are left out, as its JSON encoding (omitempty) leaves them out; map values and list elements
// are kept as they are.
json to_json(const pb::Message& m) {
  if (const auto* t = dynamic_cast<const k8s::Time*>(&m)) return time_json(*t);
  if (const auto* i = dynamic_cast<const k8s::IntOrString*>(&m)) {
    if (i->type() == 1) return i->strval();
    return i->intval();
  }
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection& r = *m.GetReflection();
  json out = json::object();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_map()) {
      json map = json::object();
      for (int k = 0; k < r.FieldSize(m, f); ++k) {
        const pb::Message& entry = r.GetRepeatedMessage(m, f, k);
        const pb::Reflection& er = *entry.GetReflection();
        const pb::Descriptor* ed = entry.GetDescriptor();
        map[er.GetString(entry, ed->field(0))] = scalar(entry, er, ed->field(1), -1);
      }
      if (!map.empty()) out[f->name()] = std::move(map);
    } else if (f->is_repeated()) {
      json list = json::array();
      for (int k = 0; k < r.FieldSize(m, f); ++k) list.push_back(value_of(m, r, f, k));
      if (!list.empty()) out[f->name()] = std::move(list);
    } else if (r.HasField(m, f)) {
      json v = value_of(m, r, f, -1);
      if (!zero(v)) out[f->name()] = std::move(v);
    }
  }
  return out;
}

std::unique_ptr<pb::Message> message_for(const std::string& api_version, const std::string& kind) {
  if (api_version != "v1") return nullptr;
  if (kind == "Namespace") return std::make_unique<k8s::Namespace>();
  if (kind == "ConfigMap") return std::make_unique<k8s::ConfigMap>();
  if (kind == "Secret") return std::make_unique<k8s::Secret>();
  if (kind == "Service") return std::make_unique<k8s::Service>();
  if (kind == "ServiceAccount") return std::make_unique<k8s::ServiceAccount>();
  return nullptr;
}

void set_scalar(pb::Message& m, const pb::Reflection& r, const pb::FieldDescriptor* f, const json& v, bool add) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      if (!v.is_string()) return;
      std::string s = v.get<std::string>();
      if (f->type() == pb::FieldDescriptor::TYPE_BYTES) s = base64_decode(s).value_or("");
      add ? r.AddString(&m, f, s) : r.SetString(&m, f, s);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_INT32:
      if (v.is_number_integer()) add ? r.AddInt32(&m, f, v.get<std::int32_t>()) : r.SetInt32(&m, f, v.get<std::int32_t>());
      return;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      if (v.is_number_integer()) add ? r.AddInt64(&m, f, v.get<std::int64_t>()) : r.SetInt64(&m, f, v.get<std::int64_t>());
      return;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      if (v.is_boolean()) add ? r.AddBool(&m, f, v.get<bool>()) : r.SetBool(&m, f, v.get<bool>());
      return;
    default:
      return;
  }
}

// JSON -> message by the same names; fields the subset lacks are dropped.
void from_json(const json& j, pb::Message& m) {
  if (auto* t = dynamic_cast<k8s::Time*>(&m)) {
    std::tm tm{};
    if (j.is_string() && strptime(j.get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) t->set_seconds(timegm(&tm));
    return;
  }
  if (auto* i = dynamic_cast<k8s::IntOrString*>(&m)) {
    if (j.is_string()) {
      i->set_type(1);
      i->set_strval(j.get<std::string>());
    } else if (j.is_number_integer()) {
      i->set_type(0);
      i->set_intval(j.get<std::int32_t>());
    }
    return;
  }
  if (!j.is_object()) return;
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection& r = *m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    auto it = j.find(f->name());
    if (it == j.end() || it->is_null()) continue;
    if (f->is_map()) {
      if (!it->is_object()) continue;
      for (const auto& [k, v] : it->items()) {
        pb::Message* entry = r.AddMessage(&m, f);
        const pb::Descriptor* ed = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, ed->field(0), k);
        set_scalar(*entry, *entry->GetReflection(), ed->field(1), v, false);
      }
    } else if (f->is_repeated()) {
      if (!it->is_array()) continue;
      for (const auto& v : *it) {
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE)
          from_json(v, *r.AddMessage(&m, f));
        else
          set_scalar(m, r, f, v, true);
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      from_json(*it, *r.MutableMessage(&m, f));
    } else {
      set_scalar(m, r, f, *it, false);
    }
  }
}

}  // namespace

std::optional<std::string> encode_protobuf_object(const json& object) {
  if (!object.is_object()) return std::nullopt;
  const std::string api_version = object.value("apiVersion", ""), kind = object.value("kind", "");
  auto message = message_for(api_version, kind);
  if (!message) return std::nullopt;
  from_json(object, *message);
  k8s::Unknown unknown;
  unknown.mutable_typemeta()->set_apiversion(api_version);
  unknown.mutable_typemeta()->set_kind(kind);
  unknown.set_raw(message->SerializeAsString());
  unknown.set_contenttype("");
  return std::string(kMagic) + unknown.SerializeAsString();
}

bool accepts_only_protobuf(const std::string& accept) {
  return accept.find("application/vnd.kubernetes.protobuf") != std::string::npos &&
         accept.find("json") == std::string::npos && accept.find("*/*") == std::string::npos;
}

Result<json, ProtobufBodyError> decode_protobuf_body(const std::string& body) {
  if (body.size() < kMagic.size() || std::string_view(body).substr(0, kMagic.size()) != kMagic)
    return unexpected(ProtobufBodyError{"protobuf body without the Kubernetes envelope (magic \"k8s\\0\")"});
  k8s::Unknown unknown;
  if (!unknown.ParseFromArray(body.data() + kMagic.size(), static_cast<int>(body.size() - kMagic.size())))
    return unexpected(ProtobufBodyError{"protobuf body: the runtime.Unknown envelope does not parse"});
  if (!unknown.contentencoding().empty())
    return unexpected(ProtobufBodyError{"protobuf body: contentEncoding \"" + unknown.contentencoding() +
                                        "\" is not supported"});
  const std::string api_version = unknown.typemeta().apiversion(), kind = unknown.typemeta().kind();
  std::unique_ptr<pb::Message> object = message_for(api_version, kind);
  if (!object)
    return unexpected(ProtobufBodyError{"the emulator decodes protobuf bodies of v1 Namespace, ConfigMap, Secret, "
                                        "Service and ServiceAccount only, not " +
                                        (api_version.empty() ? std::string() : api_version + " ") + kind +
                                        ": send it as JSON or YAML"});
  if (!object->ParseFromString(unknown.raw()))
    return unexpected(ProtobufBodyError{"protobuf body: the " + kind + " message does not parse"});
  json j = to_json(*object);
  j["apiVersion"] = api_version;
  j["kind"] = kind;
  return j;
}

}  // namespace raydog::emulator
