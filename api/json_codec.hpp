#pragma once
// The two JSON visitors of the field declarations (describe.hpp), shared by every described resource:
// Decoder (lenient building block: decodes what it can and reports every problem with its JSON path) and
// Encoder (absent optionals and empty plain lists omitted). json.cpp instantiates them for RayDogCluster,
// job_json.cpp for RayDogJob; there is one implementation. Internal to api/: include json.hpp or
// job_json.hpp instead.
//
// A described type's describe() overloads must be declared before the point of instantiation (include
// fields.hpp / job_fields.hpp before calling decode_object or encode).
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "api/describe.hpp"
#include "api/field_error.hpp"
#include "api/types.hpp"
#include "controller/util/result.hpp"

namespace raydog::api::codec {


using nlohmann::json;

inline std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}
inline std::string index_path(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}
inline std::string key_path(const std::string& parent, const std::string& key) {
  return parent + "[" + key + "]";
}

inline const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

// Walks one JSON object: every key the caller asks for is marked as known; finish() reports the rest.
class ObjectReader {
 public:
  enum class Unknown { kReject, kIgnore };

  ObjectReader(const json& j, std::string path, FieldErrors& errors, Unknown unknown = Unknown::kReject)
      : j_(j), path_(std::move(path)), errors_(errors), unknown_(unknown) {
    ok_ = j.is_object();
    if (!ok_) errors_.push_back({path_, std::string("must be an object, got ") + type_name(j)});
  }
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;
  ~ObjectReader() {
    if (!ok_ || unknown_ == Unknown::kIgnore) return;
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!known_.count(it.key())) errors_.push_back({join_path(path_, it.key()), "unknown field"});
  }

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  FieldErrors& errors() { return errors_; }

  // Calls fn(value, path) when the key is present and not null (null means absent, as in Kubernetes).
  void field(std::string_view key, const std::function<void(const json&, const std::string&)>& fn) {
    known_.insert(std::string(key));
    if (!ok_) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    fn(*it, join_path(path_, key));
  }

  // Nested objects inherit the mode: a lenient status is lenient all the way down.
  Unknown unknown() const { return unknown_; }
  void ignore_unknown() { unknown_ = Unknown::kIgnore; }

 private:
  const json& j_;
  std::string path_;
  FieldErrors& errors_;
  Unknown unknown_;
  bool ok_ = false;
  std::set<std::string, std::less<>> known_;
};

inline std::optional<std::string> get_string(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_string()) return j.get<std::string>();
  errors.push_back({path, std::string("must be a string, got ") + type_name(j)});
  return std::nullopt;
}

inline std::optional<bool> get_bool(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_boolean()) return j.get<bool>();
  errors.push_back({path, std::string("must be a boolean, got ") + type_name(j)});
  return std::nullopt;
}

inline std::optional<std::int64_t> get_int64(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_number_integer() &&
      (!j.is_number_unsigned() ||
       j.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max())))
    return j.get<std::int64_t>();
  errors.push_back({path, j.is_number() ? std::string("must be an integer in int64 range")
                                        : std::string("must be an integer, got ") + type_name(j)});
  return std::nullopt;
}

inline std::optional<std::int32_t> get_int32(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_number_integer()) {
    // Compare as signed 64 (unsigned values above int64 max are out of range anyway).
    bool fits = j.is_number_unsigned()
                    ? j.get<std::uint64_t>() <= std::uint64_t(INT32_MAX)
                    : (j.get<std::int64_t>() >= INT32_MIN && j.get<std::int64_t>() <= INT32_MAX);
    if (fits) return static_cast<std::int32_t>(j.get<std::int64_t>());
    errors.push_back({path, "must be an integer in int32 range"});
    return std::nullopt;
  }
  errors.push_back({path, std::string("must be an integer, got ") + type_name(j)});
  return std::nullopt;
}

inline std::optional<std::map<std::string, std::string>> get_string_map(const json& j, const std::string& path,
                                                                 FieldErrors& errors) {
  if (!j.is_object()) {
    errors.push_back({path, std::string("must be an object of strings, got ") + type_name(j)});
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_null()) continue;  // null means absent, as for fields
    if (auto s = get_string(it.value(), key_path(path, it.key()), errors)) out[it.key()] = *s;
  }
  return out;
}

inline std::optional<std::vector<std::string>> get_string_list(const json& j, const std::string& path,
                                                        FieldErrors& errors) {
  if (!j.is_array()) {
    errors.push_back({path, std::string("must be an array of strings, got ") + type_name(j)});
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i)
    if (auto s = get_string(j[i], index_path(path, i), errors)) out.push_back(*s);
  return out;
}

using StringMap = std::map<std::string, std::string>;

template <class T>
bool assign(std::optional<T> got, T& out) {
  if (got) out = std::move(*got);
  return got.has_value();
}

// Fills a described struct from the object an ObjectReader walks; every problem goes to the reader's errors.
class Decoder : public FieldVisitor {
 public:
  explicit Decoder(ObjectReader& r) : r_(r) {}

  template <class T, class... O>
  void field(std::string_view key, T& member, std::string_view, const O&...) {
    r_.field(key, [&](const json& v, const std::string& p) { read(v, p, member); });
  }
  // Inline fields share the enclosing reader, so unknown-field detection sees one set of known keys.
  template <class T, class... O>
  void embed(T& member, const O&...) {
    describe(*this, member);
  }
  void constant(std::string_view key, std::string_view value, std::string_view) {
    r_.field(key, [&](const json& v, const std::string& p) {
      if (auto s = get_string(v, p, errors()); s && *s != value)
        errors().push_back({p, "must be " + std::string(value) + ", got \"" + *s + "\""});
    });
  }
  void ignore_unknown_fields() { r_.ignore_unknown(); }

  // Whether `out` got a value (a struct always does: its own fields report their problems).
  template <class T>
  bool read(const json& j, const std::string& p, T& out) {
    if constexpr (IsOptional<T>::value) {
      typename T::value_type v{};
      if (!read(j, p, v)) return false;
      out = std::move(v);
      return true;
    } else if constexpr (std::is_same_v<T, std::string>) {
      return assign(get_string(j, p, errors()), out);
    } else if constexpr (std::is_same_v<T, bool>) {
      return assign(get_bool(j, p, errors()), out);
    } else if constexpr (std::is_same_v<T, std::int32_t>) {
      return assign(get_int32(j, p, errors()), out);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      return assign(get_int64(j, p, errors()), out);
    } else if constexpr (std::is_same_v<T, Duration>) {
      auto s = get_string(j, p, errors());
      if (s) out = Duration(std::move(*s));  // parsed here, once
      return s.has_value();
    } else if constexpr (SpelledEnum<T>) {
      return read_enum(j, p, out);
    } else if constexpr (std::is_same_v<T, StringMap>) {
      return assign(get_string_map(j, p, errors()), out);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      return assign(get_string_list(j, p, errors()), out);
    } else if constexpr (IsVector<T>::value) {
      if (!j.is_array()) {
        errors().push_back({p, std::string("must be an array, got ") + type_name(j)});
        return false;
      }
      for (size_t i = 0; i < j.size(); ++i) read(j[i], index_path(p, i), out.emplace_back());
      return true;
    } else {
      ObjectReader child(j, p, errors(), r_.unknown());
      Decoder d(child);
      describe(d, out);
      return true;
    }
  }

 private:
  FieldErrors& errors() { return r_.errors(); }

  template <SpelledEnum E>
  bool read_enum(const json& j, const std::string& p, E& out) {
    auto s = get_string(j, p, errors());
    if (!s) return false;
    if (auto e = enum_from_string<E>(*s)) {
      out = *e;
      return true;
    }
    // A user's spec is told what it may say; the operator's own status only which value it does not know.
    std::string message = "unsupported value \"" + *s + "\"";
    if (r_.unknown() == ObjectReader::Unknown::kReject) {
      std::string allowed;
      for (auto name : Spellings<E>::names) allowed += (allowed.empty() ? "" : ", ") + std::string(name);
      message += ": must be one of " + allowed;
    }
    errors().push_back({p, std::move(message)});
    return false;
  }

  ObjectReader& r_;
};

template <class T>
T decode_object(const json& j, const std::string& path, FieldErrors& errors) {
  T out;
  ObjectReader r(j, path, errors);
  Decoder d(r);
  describe(d, out);
  return out;
}

// The all-or-nothing form: the object when every field decoded, else every problem.
template <class T>
Result<T, FieldErrors> decode_all(const json& j, const std::string& path) {
  FieldErrors errors;
  T out = decode_object<T>(j, path, errors);
  if (!errors.empty()) return unexpected(std::move(errors));
  return out;
}

json encode(const auto& v);

// Writes a described struct's fields into a JSON object: absent optionals and empty plain lists are omitted.
class Encoder : public FieldVisitor {
 public:
  explicit Encoder(json& j) : j_(j) {}

  template <class T, class... O>
  void field(std::string_view key, const T& member, std::string_view, const O&...) {
    if constexpr (IsOptional<T>::value) {
      if (member) j_[std::string(key)] = encode(*member);
    } else if constexpr (IsVector<T>::value || field::has<field::OmitEmpty, O...>) {
      if (!member.empty()) j_[std::string(key)] = encode(member);
    } else {
      j_[std::string(key)] = encode(member);
    }
  }
  template <class T, class... O>
  void embed(const T& member, const O&...) {
    describe(*this, member);
  }
  void constant(std::string_view key, std::string_view value, std::string_view) {
    j_[std::string(key)] = value;
  }

 private:
  json& j_;
};

json encode(const auto& v) {
  using T = std::decay_t<decltype(v)>;
  if constexpr (std::is_same_v<T, Duration>) {
    return v.text();
  } else if constexpr (SpelledEnum<T>) {
    return to_string(v);
  } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string> ||
                       std::is_same_v<T, StringMap> || std::is_same_v<T, std::vector<std::string>>) {
    return v;
  } else if constexpr (IsVector<T>::value) {
    json a = json::array();
    for (const auto& item : v) a.push_back(encode(item));
    return a;
  } else {
    json o = json::object();
    Encoder e(o);
    describe(e, v);
    return o;
  }
}

}  // namespace raydog::api::codec
