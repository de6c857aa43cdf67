#include "controller/kube/label_selector.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>

namespace raydog::kube {

namespace {

using Op = LabelRequirement::Op;

bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters (a label value may also be empty).
bool qualified_part(std::string_view s) {
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A DNS-1123 subdomain: lower-case labels of [a-z0-9-] joined by dots, at most 253 characters.
bool dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  for (;;) {
    const auto dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back())) return false;
    if (!std::all_of(label.begin(), label.end(), [&](char c) { return lower_alnum(c) || c == '-'; }))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<std::string> key_error(const std::string& key) {
  const auto slash = key.find('/');
  const std::string_view name =
      slash == std::string::npos ? std::string_view(key) : std::string_view(key).substr(slash + 1);
  if (slash != std::string::npos && !dns_subdomain(std::string_view(key).substr(0, slash)))
    return "invalid label key \"" + key + "\": the prefix must be a DNS subdomain (lower case, at most 253)";
  if (!qualified_part(name))
    return "invalid label key \"" + key +
           "\": the name must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric";
  return std::nullopt;
}

std::optional<std::string> value_error(const std::string& value) {
  if (value.empty() || qualified_part(value)) return std::nullopt;
  return "invalid label value \"" + value +
         "\": at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric";
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// apimachinery's lexer: identifiers run until whitespace or one of = ! ( ) , < >; `in`/`notin` are
// keywords only where an operator is expected.
struct Token {
  enum Kind {
    kEnd,
    kIdentifier,
    kNot,
    kEquals,
    kDoubleEquals,
    kNotEquals,
    kOpen,
    kClose,
    kComma,
    kGreater,
    kLess
  };
  Kind kind = kEnd;
  std::string text;
};

bool special(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>';
}

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == '=' && next == '=') {
      out.push_back({Token::kDoubleEquals, "=="});
      i += 2;
    } else if (c == '!' && next == '=') {
      out.push_back({Token::kNotEquals, "!="});
      i += 2;
    } else if (special(c)) {
      static const std::string_view kinds = "=!(),><";
      static const Token::Kind kind_of[] = {Token::kEquals, Token::kNot,     Token::kOpen, Token::kClose,
                                            Token::kComma,  Token::kGreater, Token::kLess};
      out.push_back({kind_of[kinds.find(c)], std::string(1, c)});
      ++i;
    } else {
      std::size_t j = i;
      while (j < s.size() && !special(s[j]) && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      out.push_back({Token::kIdentifier, std::string(s.substr(i, j - i))});
      i = j;
    }
  }
  out.push_back({Token::kEnd, ""});
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<std::vector<LabelRequirement>, std::string> parse() {
    std::vector<LabelRequirement> out;
    for (;;) {
      auto r = requirement();
      if (!r) return unexpected(r.error());
      out.push_back(std::move(*r));
      const Token t = take();
      if (t.kind == Token::kEnd) return out;
      if (t.kind != Token::kComma) return unexpected(found(t, "',' or 'end of string'"));
      const auto k = peek().kind;
      if (k != Token::kIdentifier && k != Token::kNot)
        return unexpected(found(peek(), "identifier after ','"));
    }
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  Token take() { return pos_ + 1 < tokens_.size() ? tokens_[pos_++] : tokens_.back(); }
  static std::string found(const Token& t, const std::string& expected) {
    return "found '" + (t.kind == Token::kEnd ? std::string("end of string") : t.text) +
           "', expected: " + expected;
  }
  static bool ends_requirement(const Token& t) { return t.kind == Token::kEnd || t.kind == Token::kComma; }

  Result<LabelRequirement, std::string> requirement() {
    LabelRequirement r;
    Token t = take();
    const bool negated = t.kind == Token::kNot;
    if (negated) t = take();
    if (t.kind != Token::kIdentifier) return unexpected(found(t, "identifier"));
    r.key = t.text;
    if (auto e = key_error(r.key)) return unexpected(*e);
    if (ends_requirement(peek())) {
      r.op = negated ? Op::kDoesNotExist : Op::kExists;
      return r;
    }
    if (negated) return unexpected(found(peek(), "',' or 'end of string' after '!" + r.key + "'"));
    const Token op = take();
    if (op.kind == Token::kIdentifier && (op.text == "in" || op.text == "notin")) {
      r.op = op.text == "in" ? Op::kIn : Op::kNotIn;
      auto values = set_values();
      if (!values) return unexpected(values.error());
      r.values = std::move(*values);
      if (r.values.empty()) return unexpected("for 'in', 'notin' operators, values set can't be empty");
    } else {
      switch (op.kind) {
        case Token::kEquals:
        case Token::kDoubleEquals:
          r.op = Op::kEquals;
          break;
        case Token::kNotEquals:
          r.op = Op::kNotEquals;
          break;
        case Token::kGreater:
          r.op = Op::kGreaterThan;
          break;
        case Token::kLess:
          r.op = Op::kLessThan;
          break;
        default:
          return unexpected(found(op, "one of =, ==, !=, in, notin, >, <"));
      }
      std::string value;  // `k=` selects an empty value
      if (!ends_requirement(peek())) {
        const Token v = take();
        if (v.kind != Token::kIdentifier) return unexpected(found(v, "identifier"));
        value = v.text;
      }
      if ((r.op == Op::kGreaterThan || r.op == Op::kLessThan) && !to_int(value))
        return unexpected("for '>', '<' operators, the value must be an integer: \"" + value + "\"");
      r.values = {value};
    }
    for (const auto& v : r.values)
      if (auto e = value_error(v)) return unexpected(*e);
    return r;
  }

  // "(" [value] ("," [value])* ")": an empty slot between commas is the empty value, as in apimachinery.
  Result<std::vector<std::string>, std::string> set_values() {
    const Token open = take();
    if (open.kind != Token::kOpen) return unexpected(found(open, "'('"));
    std::vector<std::string> values;
    if (peek().kind == Token::kClose) {
      take();
      return values;
    }
    bool want_value = true;
    for (;;) {
      const Token t = take();
      if (t.kind == Token::kIdentifier && want_value) {
        values.push_back(t.text);
        want_value = false;
      } else if (t.kind == Token::kComma) {
        if (want_value) values.emplace_back();
        want_value = true;
      } else if (t.kind == Token::kClose) {
        if (want_value) values.emplace_back();
        break;
      } else {
        return unexpected(found(t, want_value ? "identifier" : "',' or ')'"));
      }
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<LabelSelector, std::string> LabelSelector::parse(std::string_view text) {
  LabelSelector s;
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
    return s;
  auto reqs = Parser(lex(text)).parse();
  if (!reqs) return unexpected("unable to parse requirement: " + reqs.error());
  s.requirements_ = std::move(*reqs);
  std::stable_sort(s.requirements_.begin(), s.requirements_.end(),
                   [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
  return s;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : requirements_) {
    const auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool listed = has && std::binary_search(r.values.begin(), r.values.end(), it->second);
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!listed) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (listed) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
      case Op::kGreaterThan:
      case Op::kLessThan: {
        const auto have = has ? to_int(it->second) : std::nullopt;
        const auto want = to_int(r.values.front());
        if (!have || !want) return false;
        if (r.op == Op::kGreaterThan ? !(*have > *want) : !(*have < *want)) return false;
        break;
      }
    }
  }
  return true;
}

std::string LabelSelector::normalized() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    auto join = [&] {
      std::string s;
      for (const auto& v : r.values) s += (s.empty() ? "" : ",") + v;
      return s;
    };
    switch (r.op) {
      case Op::kExists:
        out += r.key;
        break;
      case Op::kDoesNotExist:
        out += "!" + r.key;
        break;
      case Op::kEquals:
        out += r.key + "=" + r.values.front();
        break;
      case Op::kNotEquals:
        out += r.key + "!=" + r.values.front();
        break;
      case Op::kIn:
        out += r.key + " in (" + join() + ")";
        break;
      case Op::kNotIn:
        out += r.key + " notin (" + join() + ")";
        break;
      case Op::kGreaterThan:
        out += r.key + ">" + r.values.front();
        break;
      case Op::kLessThan:
        out += r.key + "<" + r.values.front();
        break;
    }
  }
  return out;
}

}  // namespace raydog::kube
