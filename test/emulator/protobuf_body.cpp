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

}  // namespace

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
  std::unique_ptr<pb::Message> object;
  if (api_version == "v1") {
    if (kind == "Namespace") object = std::make_unique<k8s::Namespace>();
    if (kind == "ConfigMap") object = std::make_unique<k8s::ConfigMap>();
    if (kind == "Secret") object = std::make_unique<k8s::Secret>();
    if (kind == "Service") object = std::make_unique<k8s::Service>();
    if (kind == "ServiceAccount") object = std::make_unique<k8s::ServiceAccount>();
  }
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
