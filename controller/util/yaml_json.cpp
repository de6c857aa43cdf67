#include "controller/util/yaml_json.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
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
// The length of the well-formed UTF-8 sequence at s[i], 0 when there is none: no overlong forms, no UTF-16
// surrogates, nothing past U+10FFFF.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) n = 1, cp = c;
  else if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  return cp >= kMin[n] && !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF ? n : 0;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Numbers beyond what JSON can carry stay the text they were (std::stod/stoll threw instead: found by
// fuzz_kubeconfig). A double overflows to infinity, which JSON has no word for.
json real_or_text(const std::string& s) {
  const double v = std::strtod(s.c_str(), nullptr);
  if (std::isinf(v) || std::isnan(v)) return s;
  return v;
}
// "0x..." or "0o...": unsigned digits after a two-character prefix.
json integer_or_text(const std::string& s, std::size_t prefix, int base) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data() + prefix, s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return s;
  return v;
}

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
    return real_or_text(s);  // out of int64 range: keep the magnitude
  }
  if (std::regex_match(s, kHex)) return integer_or_text(s, 2, 16);
  if (std::regex_match(s, kOctal)) return integer_or_text(s, 2, 8);
  if (std::regex_match(s, kFloat)) return real_or_text(s);
  if (std::regex_match(s, kInf) || std::regex_match(s, kNan)) return s;  // JSON has no inf/nan
  return s;
}

// Aliases make a few lines expand into billions of values ("billion laughs"); no manifest or kubeconfig
// comes near this many.
constexpr std::size_t kMaxValues = 1'000'000;
// An alias inside its own anchor makes yaml-cpp build a cycle (found by fuzz_yaml_json: a stack overflow);
// no Kubernetes object nests anywhere near this deep.
constexpr int kMaxDepth = 256;

json to_json(const YAML::Node& n, std::size_t& budget, int depth) {
  if (budget == 0)
    throw YAML::Exception(n.Mark(), "the document expands to more than " + std::to_string(kMaxValues) +
                                        " values (nested aliases?)");
  if (depth > kMaxDepth)
    throw YAML::Exception(n.Mark(), "nesting deeper than " + std::to_string(kMaxDepth) +
                                        " levels (an alias inside its own anchor?)");
  --budget;
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // Escapes can make what the text check let through invalid ("\\uD800" is a lone surrogate).
      if (!valid_utf8(n.Scalar())) throw YAML::Exception(n.Mark(), "the string is not valid UTF-8 once unescaped");
      // Tag "!" marks a quoted (non-plain) scalar: always a string. "?" is plain: resolve it.
      if (n.Tag() == "?") return resolve_plain_scalar(n.Scalar());
      if (n.Tag() == "tag:yaml.org,2002:int") return resolve_plain_scalar(n.Scalar());
      if (n.Tag() == "tag:yaml.org,2002:bool") return resolve_plain_scalar(n.Scalar());
      return n.Scalar();
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : n) arr.push_back(to_json(item, budget, depth + 1));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : n) {
        // Kubernetes objects only have string keys; non-string keys are stringified as kubectl does.
        if (!valid_utf8(kv.first.Scalar()))
          throw YAML::Exception(kv.first.Mark(), "the key is not valid UTF-8 once unescaped");
        obj[kv.first.Scalar()] = to_json(kv.second, budget, depth + 1);
      }
      return obj;
    }
  }
  return nullptr;
}

json to_json(const YAML::Node& n) {
  std::size_t budget = kMaxValues;
  return to_json(n, budget, 0);
}

// `first_line`: the line (0-based) the parsed text starts at in the whole stream.
std::string describe(const YAML::Exception& e, int first_line = 0) {
  if (e.mark.is_null()) return e.msg;
  return "line " + std::to_string(first_line + e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) +
         ": " + e.msg;
}

// yaml-cpp writes a literal block as "|" (clip chomping): it reads back with exactly one final newline, and a
// first line that starts with a space would need an indentation indicator yaml-cpp does not write. Other
// multi-line strings go double-quoted (found by fuzz_yaml_json).
bool literal_block_reads_back(const std::string& s) {
  if (s.find('\n') == std::string::npos || s.front() == ' ' || s.front() == '\n') return false;
  return s.back() == '\n' && (s.size() < 2 || s[s.size() - 2] != '\n');
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
      // Control characters (a NUL, a tab, CR) only survive inside double quotes, as escapes; written
      // plain or as a literal block they did not read back (found by fuzz_yaml_json).
      const bool controls = std::any_of(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f;
      });
      if (controls)
        out << YAML::DoubleQuoted << s;
      else if (literal_block_reads_back(s))
        out << YAML::Literal << s;
      else if (needs_quotes(s) || s.find('\n') != std::string::npos)
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

// YAML is printable UTF-8 text (the API server's decoder refuses anything else, and so must we: JSON strings
// holding invalid UTF-8 throw later, when dumped). nullopt when valid, else where the first bad byte is.
std::optional<ParseError> invalid_utf8(std::string_view s) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_length(s, i);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return ParseError{"line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": invalid UTF-8 (byte " + hex + "): YAML must be UTF-8 text"};
    }
    // YAML streams hold printable characters only (YAML 1.2 §5.1): no C0 control but TAB, LF and CR (DEL is
    // let through: yaml-cpp writes it raw inside double quotes). A leading NUL would also make yaml-cpp
    // guess UTF-32 and invent characters (found by fuzz_yaml_json).
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return ParseError{"line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": control character " + hex + " is not allowed in YAML"};
    }
    if (c == '\n') line += 1, column = 1;
    else column += 1;
    i += n;
  }
  return std::nullopt;
}

}  // namespace

Result<json, ParseError> yaml_to_json(std::string_view yaml) {
  if (auto bad = invalid_utf8(yaml)) return unexpected(std::move(*bad));
  try {
    return to_json(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    return unexpected(ParseError{describe(e)});
  }
}

Result<std::vector<json>, ParseError> yaml_documents_to_json(std::string_view yaml) {
  if (auto bad = invalid_utf8(yaml)) return unexpected(std::move(*bad));
  // Split at "---" lines ourselves, as kubectl's YAML reader does, and load each document on its own:
  // yaml-cpp 0.7's LoadAll never returns (and allocates without bound) on a stream that starts with a
  // stray ',' (found by fuzz_yaml_json), while Load reports it.
  std::vector<json> docs;
  std::size_t start = 0;
  int start_line = 0, line = 0;
  auto load = [&](std::size_t end) -> std::optional<ParseError> {
    const std::string_view text = yaml.substr(start, end - start);
    try {
      YAML::Node node = YAML::Load(std::string(text));
      if (node.IsDefined() && !node.IsNull()) docs.push_back(to_json(node));
    } catch (const YAML::Exception& e) {
      return ParseError{describe(e, start_line)};
    }
    return std::nullopt;
  };
  for (std::size_t pos = 0; pos <= yaml.size();) {
    const std::size_t nl = yaml.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? yaml.size() : nl + 1;
    std::string_view l = yaml.substr(pos, end - pos);
    const bool separator = l.substr(0, 3) == "---" && l.substr(3).find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (separator) {
      if (auto e = load(pos)) return unexpected(std::move(*e));
      start = end;
      start_line = line + 1;
    }
    ++line;
    if (nl == std::string_view::npos) break;
    pos = end;
  }
  if (auto e = load(yaml.size())) return unexpected(std::move(*e));
  return docs;
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
