#pragma once
// How model.cpp turns one field list per object into both JSON directions (internal to the model library).
// Each object's fields are declared once, as a visit(io, v) that calls io(key, member) per property; the
// Writer (v const) puts them into JSON, the Reader (v mutable) takes them out of it. io.number() marks a
// double written as an integer when integral; io.nonempty() a list or map omitted when empty.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "controller/yellowdog/model.hpp"

namespace raydog::yellowdog::json_fields {

// Reads the known properties of one object in place; rest() copies only the others, which become `extra`
// (written back unchanged). A null counts as absent (some servers send null for "none"). Wrong types throw
// with the property name in the message. It used to copy the whole object and erase what it read: a deep
// copy of every response, ~7% of the operator's CPU on a steady poll.
class Reader {
 public:
  Reader(const Json& j, const char* type) : j_(j), type_(type) {
    if (!j_.is_object()) throw std::invalid_argument(std::string(type) + ": expected a JSON object");
  }
  template <class T>
  void operator()(const char* key, T& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return;
    read_.emplace_back(key);
    if (!it->is_null()) convert(key, *it, out);
  }
  template <class T>
  void operator()(const char* key, std::optional<T>& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return;
    read_.emplace_back(key);
    if (!it->is_null()) {
      T v{};
      convert(key, *it, v);
      out = std::move(v);
    }
  }
  // Reading does not care how a value is written.
  template <class T>
  void number(const char* key, T& out) {
    (*this)(key, out);
  }
  template <class T>
  void nonempty(const char* key, T& out) {
    (*this)(key, out);
  }
  Json rest() const {
    Json out = Json::object();
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (std::find(read_.begin(), read_.end(), it.key()) == read_.end()) out[it.key()] = *it;
    return out;
  }

 private:
  template <class T>
  void convert(const char* key, const Json& j, T& out) {
    try {
      from_json_any(j, out);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string(type_) + "." + key + ": " + e.what());
    }
  }
  // Numbers may arrive as floats for integer fields (a Java server never does that, a simulator might).
  static void from_json_any(const Json& j, std::int64_t& out) {
    if (j.is_number_float()) {
      out = static_cast<std::int64_t>(std::llround(j.get<double>()));
    } else {
      out = j.get<std::int64_t>();
    }
  }
  template <class T>
  static void from_json_any(const Json& j, T& out) {
    j.get_to(out);
  }
  const Json& j_;
  const char* type_;
  std::vector<std::string_view> read_;  // keys operator() found
};

// Starts from the object's `extra` (what the server sent that is not typed) and puts every typed field
// over it; absent optionals are erased, so they are omitted.
class Writer {
 public:
  explicit Writer(const Json& extra) : j_(extra.is_object() ? extra : Json::object()) {}
  template <class T>
  void operator()(const char* key, const T& v) {
    j_[key] = v;
  }
  template <class T>
  void operator()(const char* key, const std::optional<T>& v) {
    if (v) {
      j_[key] = *v;
    } else {
      j_.erase(key);
    }
  }
  // Integral doubles (priority 0, targetCount 1) are written as integers, as the SDK's examples show them.
  void number(const char* key, double v) {
    if (std::trunc(v) == v && std::fabs(v) < 9e15) {
      j_[key] = static_cast<std::int64_t>(v);
    } else {
      j_[key] = v;
    }
  }
  // Lists and maps: an empty one is the same as absent; omit it.
  template <class T>
  void nonempty(const char* key, const T& v) {
    if (!v.empty()) {
      j_[key] = v;
    } else {
      j_.erase(key);
    }
  }
  Json done() { return std::move(j_); }

 private:
  Json j_;
};

// Fields<T>::kName (the type's name in error messages) and Fields<T>::visit(io, v): specialised per object
// in model.cpp.
template <class T>
struct Fields;

template <class T>
Json write(const T& v) {
  static const Json kNoExtra = Json::object();
  const Json* extra = &kNoExtra;
  if constexpr (requires { v.extra; }) extra = &v.extra;
  Writer w(*extra);
  Fields<T>::visit(w, v);
  return w.done();
}

template <class T>
void read(const Json& j, T& v) {
  Reader r(j, Fields<T>::kName);
  Fields<T>::visit(r, v);
  if constexpr (requires { v.extra; }) v.extra = r.rest();
}

}  // namespace raydog::yellowdog::json_fields
