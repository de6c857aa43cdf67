#include "test/emulator/selectors.hpp"

#include <algorithm>
#include <cctype>

namespace raydog::emulator {

namespace {

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> split_top(const std::string& text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

bool valid_label_key(const std::string& k) {
  if (k.empty() || k.size() > 253 + 1 + 63) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/'))
      return false;
  return true;
}

bool valid_label_value(const std::string& v) {
  if (v.size() > 63) return false;
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

const json* labels_of(const json& o) {
  auto m = o.find("metadata");
  if (m == o.end() || !m->is_object()) return nullptr;
  auto l = m->find("labels");
  if (l == m->end() || !l->is_object()) return nullptr;
  return &*l;
}

}  // namespace

Result<LabelSelector, ApiError> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  auto fail = [&](const std::string& why) {
    return unexpected(bad_request("unable to parse requirement: " + why));
  };
  for (const auto& part : split_top(text)) {
    if (part.empty()) return fail("found '', expected: identifier");
    LabelRequirement r;
    auto set_pos = [&](const std::string& word) -> size_t {
      // " in (" / " notin (" with at least one space before the keyword.
      auto pos = part.find(" " + word + " ");
      if (pos == std::string::npos) pos = part.find(" " + word + "(");
      return pos;
    };
    if (part[0] == '!') {
      r.op = LabelRequirement::Op::kNotExists;
      r.key = trim(part.substr(1));
    } else if (auto p = part.find("!="); p != std::string::npos) {
      r.op = LabelRequirement::Op::kNotEquals;
      r.key = trim(part.substr(0, p));
      r.values = {trim(part.substr(p + 2))};
    } else if (auto p2 = part.find("=="); p2 != std::string::npos) {
      r.op = LabelRequirement::Op::kEquals;
      r.key = trim(part.substr(0, p2));
      r.values = {trim(part.substr(p2 + 2))};
    } else if (auto p3 = part.find('='); p3 != std::string::npos) {
      r.op = LabelRequirement::Op::kEquals;
      r.key = trim(part.substr(0, p3));
      r.values = {trim(part.substr(p3 + 1))};
    } else if (auto pn = set_pos("notin"); pn != std::string::npos) {
      r.op = LabelRequirement::Op::kNotIn;
      r.key = trim(part.substr(0, pn));
    } else if (auto pi = set_pos("in"); pi != std::string::npos) {
      r.op = LabelRequirement::Op::kIn;
      r.key = trim(part.substr(0, pi));
    } else {
      r.op = LabelRequirement::Op::kExists;
      r.key = trim(part);
    }
    if (r.op == LabelRequirement::Op::kIn || r.op == LabelRequirement::Op::kNotIn) {
      auto open = part.find('(');
      auto close = part.rfind(')');
      if (open == std::string::npos || close == std::string::npos || close < open)
        return fail("found '" + part + "', expected: '(' ... ')'");
      std::string inner = part.substr(open + 1, close - open - 1);
      size_t start = 0;
      while (true) {
        auto comma = inner.find(',', start);
        std::string v =
            trim(inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!valid_label_value(v)) return fail("invalid label value: \"" + v + "\"");
        r.values.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    if (!valid_label_key(r.key)) return fail("invalid label key \"" + r.key + "\"");
    for (const auto& v : r.values)
      if (!valid_label_value(v)) return fail("invalid label value: \"" + v + "\"");
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::matches(const json& object) const {
  const json* labels = labels_of(object);
  for (const auto& r : reqs_) {
    bool has = labels && labels->contains(r.key) && (*labels)[r.key].is_string();
    std::string val = has ? (*labels)[r.key].get<std::string>() : "";
    bool in = has && std::find(r.values.begin(), r.values.end(), val) != r.values.end();
    switch (r.op) {
      case LabelRequirement::Op::kEquals:
      case LabelRequirement::Op::kIn:
        if (!in) return false;
        break;
      case LabelRequirement::Op::kNotEquals:
      case LabelRequirement::Op::kNotIn:
        if (in) return false;
        break;
      case LabelRequirement::Op::kExists:
        if (!has) return false;
        break;
      case LabelRequirement::Op::kNotExists:
        if (has) return false;
        break;
    }
  }
  return true;
}

namespace {

bool field_supported(const std::string& field, const std::string& group, const std::string& kind) {
  if (field == "metadata.name" || field == "metadata.namespace") return true;
  if (kind == "Event" && group.empty()) {
    static const std::vector<std::string> kEvent = {"involvedObject.kind",
                                                    "involvedObject.namespace",
                                                    "involvedObject.name",
                                                    "involvedObject.uid",
                                                    "involvedObject.apiVersion",
                                                    "involvedObject.resourceVersion",
                                                    "involvedObject.fieldPath",
                                                    "reason",
                                                    "reportingComponent",
                                                    "source",
                                                    "type"};
    return std::find(kEvent.begin(), kEvent.end(), field) != kEvent.end();
  }
  if (kind == "Event") {
    static const std::vector<std::string> kEvent = {
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason",
        "type",           "reportingController"};
    return std::find(kEvent.begin(), kEvent.end(), field) != kEvent.end();
  }
  if (kind == "Namespace") return field == "status.phase";
  if (kind == "Secret") return field == "type";
  return false;
}

}  // namespace

Result<FieldSelector, ApiError> FieldSelector::parse(const std::string& text, const std::string& group,
                                                     const std::string& kind) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (const auto& part : split_top(text)) {
    FieldRequirement r;
    size_t p;
    if ((p = part.find("!=")) != std::string::npos) {
      r.equals = false;
      r.field = trim(part.substr(0, p));
      r.value = trim(part.substr(p + 2));
    } else if ((p = part.find("==")) != std::string::npos) {
      r.field = trim(part.substr(0, p));
      r.value = trim(part.substr(p + 2));
    } else if ((p = part.find('=')) != std::string::npos) {
      r.field = trim(part.substr(0, p));
      r.value = trim(part.substr(p + 1));
    } else {
      return unexpected(bad_request("invalid selector: '" + text + "'; can't understand '" + part + "'"));
    }
    if (!field_supported(r.field, group, kind))
      return unexpected(bad_request("field label not supported: " + r.field));
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

std::string field_value(const json& object, const std::string& field) {
  if (field == "source") {
    // core Events: "source" selects on source.component
    auto s = object.find("source");
    if (s != object.end() && s->is_object()) return s->value("component", "");
    return "";
  }
  const json* cur = &object;
  size_t start = 0;
  while (start <= field.size()) {
    auto dot = field.find('.', start);
    std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return "";
    auto it = cur->find(part);
    if (it == cur->end()) return "";
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null()) return "";
  return cur->dump();
}

bool FieldSelector::matches(const json& object) const {
  for (const auto& r : reqs_)
    if ((field_value(object, r.field) == r.value) != r.equals) return false;
  return true;
}

}  // namespace raydog::emulator
