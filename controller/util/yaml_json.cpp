#include "controller/util/yaml_json.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <regex>

namespace raydog {
namespace {

using nlohmann::json;

// The core schema's number forms, compiled once: resolving every scalar of a large document (the CRD) must
// not build regexes per scalar.
const std::regex kDecimal("[-+]?[0-9]+");
const std::regex kHex("0x[0-9a-fA-F]+");
const std::regex kOctal("0o[0-7]+");
const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
const std::regex kInf("[-+]?\\.(inf|Inf|INF)");
const std::regex kNan("\\.(nan|NaN|NAN)");

bool could_be_number(const std::string& s) {
  // Cheap pre-check: every number form starts with a digit, a sign or a dot.
  char c = s[0];
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.';
}

// YAML 1.2 core schema resolution of a plain (unquoted) scalar.
json resolve_plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (!could_be_number(s)) return s;
  if (std::regex_match(s, kDecimal)) {
    long long v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return std::stod(s);  // out of int64 range: keep the magnitude
  }
  if (std::regex_match(s, kHex)) return std::stoll(s, nullptr, 16);
  if (std::regex_match(s, kOctal)) return std::stoll(s.substr(2), nullptr, 8);
  if (std::regex_match(s, kFloat)) return std::stod(s);
  if (std::regex_match(s, kInf) || std::regex_match(s, kNan)) return s;  // JSON has no inf/nan
  return s;
}

json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // Tag "!" marks a quoted (non-plain) scalar: always a string. "?" is plain: resolve it.
      if (n.Tag() == "?") return resolve_plain_scalar(n.Scalar());
      if (n.Tag() == "tag:yaml.org,2002:int") return resolve_plain_scalar(n.Scalar());
      if (n.Tag() == "tag:yaml.org,2002:bool") return resolve_plain_scalar(n.Scalar());
      return n.Scalar();
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : n) arr.push_back(to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : n) {
        // Kubernetes objects only have string keys; non-string keys are stringified as kubectl does.
        obj[kv.first.Scalar()] = to_json(kv.second);
      }
      return obj;
    }
  }
  return nullptr;
}

std::string describe(const YAML::Exception& e) {
  if (e.mark.is_null()) return e.msg;
  return "line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) + ": " +
         e.msg;
}

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  json resolved = resolve_plain_scalar(s);
  if (!resolved.is_string()) return true;               // would read back as bool/number/null
  if (s.find('\n') != std::string::npos) return false;  // emitted as a literal block
  static const std::string special = ":#{}[],&*!|>'\"%@`";
  if (special.find(s.front()) != std::string::npos || s.front() == '-' || s.front() == '?' ||
      s.front() == ' ' || s.back() == ' ')
    return true;
  return s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':';
}

void emit(YAML::Emitter& out, const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      out << YAML::Null;
      break;
    case json::value_t::boolean:
      out << (j.get<bool>() ? "true" : "false");
      break;
    case json::value_t::number_integer:
      out << j.get<long long>();
      break;
    case json::value_t::number_unsigned:
      out << j.get<unsigned long long>();
      break;
    case json::value_t::number_float:
      out << j.dump();
      break;
    case json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos)
        out << YAML::Literal << s;
      else if (needs_quotes(s))
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case json::value_t::array:
    case json::value_t::object: {
      const bool seq = j.is_array();
      // Block style cannot write an empty collection: "[]" / "{}" in flow style.
      if (j.empty()) out << YAML::Flow;
      out << (seq ? YAML::BeginSeq : YAML::BeginMap);
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!seq) {
          out << YAML::Key;
          if (needs_quotes(it.key()))
            out << YAML::DoubleQuoted << it.key();
          else
            out << it.key();
          out << YAML::Value;
        }
        emit(out, it.value());
      }
      out << (seq ? YAML::EndSeq : YAML::EndMap);
      break;
    }
    default:
      out << YAML::Null;
  }
}

}  // namespace

Result<json, ParseError> yaml_to_json(std::string_view yaml) {
  try {
    return to_json(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    return unexpected(ParseError{describe(e)});
  }
}

Result<std::vector<json>, ParseError> yaml_documents_to_json(std::string_view yaml) {
  try {
    std::vector<json> docs;
    for (const auto& node : YAML::LoadAll(std::string(yaml))) {
      if (node.IsNull() || !node.IsDefined()) continue;
      docs.push_back(to_json(node));
    }
    return docs;
  } catch (const YAML::Exception& e) {
    return unexpected(ParseError{describe(e)});
  }
}

std::string json_to_yaml(const json& j) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, j);
  std::string s = out.c_str();
  if (s.empty() || s.back() != '\n') s.push_back('\n');
  return s;
}

}  // namespace raydog
