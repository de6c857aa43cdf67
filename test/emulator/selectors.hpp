#pragma once
// Label and field selectors (§8.2): parsed once per request, matched against every candidate object.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/util/result.hpp"
#include "test/emulator/status.hpp"

namespace raydog::emulator {

struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kNotExists } op;
  std::string key;
  std::vector<std::string> values;
};

class LabelSelector {
 public:
  // "" matches everything. Errors are 400 BadRequest Status values.
  static Result<LabelSelector, ApiError> parse(const std::string& text);
  bool matches(const json& object) const;
  bool empty() const { return reqs_.empty(); }

 private:
  std::vector<LabelRequirement> reqs_;
};

struct FieldRequirement {
  std::string field;
  bool equals = true;
  std::string value;
};

class FieldSelector {
 public:
  // `kind` decides which fields are supported: metadata.name/namespace everywhere, more for Events.
  static Result<FieldSelector, ApiError> parse(const std::string& text, const std::string& group,
                                               const std::string& kind);
  bool matches(const json& object) const;
  bool empty() const { return reqs_.empty(); }

 private:
  std::vector<FieldRequirement> reqs_;
};

// The value of a field-selector path on an object ("" when absent).
std::string field_value(const json& object, const std::string& field);

}  // namespace raydog::emulator
