#pragma once
// The vocabulary of fields.hpp: how one field of an API struct is described, once, for every consumer.
//
// A described struct has an overload `template <class V, Of<T> S> void describe(V& v, S& s)` that calls, in
// field order (the order decode reports errors in):
//   v.field("jsonName", s.member, "description", options...);  // one field
//   v.embed(s.member, options...);                              // a struct whose fields sit inline
//   v.constant("kind", kKind, "description");                   // a fixed value (apiVersion, kind)
//   v.object_rule(Rule{...});                                   // a CEL rule on the enclosing object
//   v.ignore_unknown_fields();                                  // decode: unknown keys are not errors
//   v.required_order({...});                                    // schema: the published order of `required`
// The visitors are: the decoder and encoder (json_codec.hpp), the OpenAPI schema builder (schema_builder.hpp),
// each one implementation for RayDogCluster and RayDogJob; defaults and the README field tables are read off
// the schema. S is T or const T, so encoders visit const objects.
//
// What the C++ type of a member says (no option needed): std::optional = may be absent (omitted when
// absent); a plain std::string = always written; a plain std::vector = omitted when empty; Duration = a Go
// duration string (schema pattern, length and CEL rule included); a SpelledEnum = a string enum.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace raydog::api {

template <class S, class T>
concept Of = std::same_as<std::remove_const_t<S>, T>;

// What visitors ask of a member's type.
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

namespace field {

// Listed in the enclosing object's `required` (validation.cpp reports it; decode does not).
struct Required {};
inline constexpr Required required{};
// Embedded (NodeSpec) fields that are required in this object: the head's template, a pool's template.
struct Requires {
  std::string_view field;
};

struct Pattern {
  std::string_view regex;
};
struct MinLength {
  std::size_t value;
};
struct MaxLength {
  std::size_t value;
};
struct Minimum {
  std::int64_t value;
};
struct Maximum {
  std::int64_t value;
};
struct MaxItems {
  std::size_t value;
};
struct MinProperties {
  std::size_t value;
};
struct MaxProperties {
  std::size_t value;
};
// maxLength of each value of a string map.
struct ValueMaxLength {
  std::size_t value;
};
// pattern of each value of a string map.
struct ValuePattern {
  std::string_view regex;
};
struct Format {
  std::string_view name;  // "date-time"
};
// The allowed values of a plain string (typed enums list theirs by themselves).
struct OneOf {
  std::vector<std::string_view> values;
};
// A CEL rule (x-kubernetes-validations); each has a twin check in validation.cpp.
struct Rule {
  const char* text;
  std::string_view message;
  std::string_view field_path = {};
};
// The default the API server applies (and apply_defaults): written in the CRD's `default:`.
template <class T>
struct Default {
  T value;
};
template <class T>
Default(T) -> Default<T>;  // spelled out for clang 14 (no aggregate deduction before clang 17; make fuzz)
// Description of each item of a list of objects.
struct ItemDoc {
  std::string_view text;
};
// x-kubernetes-list-type: map, keyed by this item field.
struct ListMapKey {
  std::string_view key;
};
// Encode a plain string only when it is not empty (metadata.name of an object not yet named).
struct OmitEmpty {};
inline constexpr OmitEmpty omit_empty{};
// The schema says only `type: object`: the API server owns the contents (metadata).
struct Opaque {};
inline constexpr Opaque opaque{};

// The first option of type X among opts, or nullptr.
template <class X, class... O>
const X* find(const O&... opts) {
  const X* found = nullptr;
  (
      [&](const auto& o) {
        if constexpr (std::is_same_v<std::decay_t<decltype(o)>, X>)
          if (!found) found = &o;
      }(opts),
      ...);
  return found;
}

template <class X, class... O>
constexpr bool has = (std::is_same_v<X, O> || ...);

}  // namespace field

// The no-ops of visitors that only care about fields (decoder, encoder).
struct FieldVisitor {
  void object_rule(const field::Rule&) {}
  void ignore_unknown_fields() {}
  void required_order(std::vector<std::string_view>) {}
};

}  // namespace raydog::api
