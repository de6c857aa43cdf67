#include "test/emulator/table.hpp"

#include <algorithm>
#include <cctype>

#include "test/emulator/meta.hpp"

namespace raydog::emulator {

std::string meta_str_or(const json& o, const char* field);

namespace {

// Tokenises ".a.b[0][?(@.type=="Ready")].c" into steps.
struct Step {
  enum class Kind { kField, kIndex, kAll, kFilter } kind;
  std::string field;
  long index = 0;
  std::string filter_path;  // relative path inside @ (".type")
  std::string filter_op;    // "==" or "!="
  json filter_value;
};

Step make_step(Step::Kind kind, std::string field = "") {
  Step s;
  s.kind = kind;
  s.field = std::move(field);
  return s;
}

std::vector<Step> parse_path(std::string p) {
  std::vector<Step> steps;
  if (!p.empty() && p.front() == '{' && p.back() == '}') p = p.substr(1, p.size() - 2);
  size_t i = 0;
  if (!p.empty() && p[0] == '$') i = 1;
  while (i < p.size()) {
    if (p[i] == '.') {
      ++i;
      size_t j = i;
      while (j < p.size() && p[j] != '.' && p[j] != '[') ++j;
      if (j > i) steps.push_back(make_step(Step::Kind::kField, p.substr(i, j - i)));
      i = j;
    } else if (p[i] == '[') {
      size_t close = p.find(']', i);
      if (p.compare(i, 3, "[?(") == 0) close = p.find(")]", i) + 1;
      if (close == std::string::npos || close == 0) break;
      std::string inner = p.substr(i + 1, close - i - 1);
      if (inner == "*") {
        steps.push_back(make_step(Step::Kind::kAll));
      } else if (inner.rfind("?(", 0) == 0) {
        std::string expr = inner.substr(2, inner.size() - 3);  // @.type=="Ready"
        Step s = make_step(Step::Kind::kFilter);
        size_t op = expr.find("==");
        s.filter_op = "==";
        if (op == std::string::npos) {
          op = expr.find("!=");
          s.filter_op = "!=";
        }
        if (op != std::string::npos) {
          std::string lhs = expr.substr(0, op);
          std::string rhs = expr.substr(op + 2);
          auto trim = [](std::string x) {
            while (!x.empty() && std::isspace(static_cast<unsigned char>(x.back()))) x.pop_back();
            while (!x.empty() && std::isspace(static_cast<unsigned char>(x.front()))) x.erase(0, 1);
            return x;
          };
          lhs = trim(lhs);
          rhs = trim(rhs);
          s.filter_path = lhs.rfind("@", 0) == 0 ? lhs.substr(1) : lhs;
          if (rhs.size() >= 2 && (rhs.front() == '"' || rhs.front() == '\''))
            s.filter_value = rhs.substr(1, rhs.size() - 2);
          else
            s.filter_value = json::parse(rhs, nullptr, false);
        }
        steps.push_back(s);
      } else if (inner.size() > 1 && (inner.front() == '\'' || inner.front() == '"')) {
        steps.push_back(make_step(Step::Kind::kField, inner.substr(1, inner.size() - 2)));
      } else {
        Step s = make_step(Step::Kind::kIndex);
        s.index = std::strtol(inner.c_str(), nullptr, 10);
        steps.push_back(s);
      }
      i = close + 1;
    } else {
      size_t j = i;
      while (j < p.size() && p[j] != '.' && p[j] != '[') ++j;
      steps.push_back(make_step(Step::Kind::kField, p.substr(i, j - i)));
      i = j;
    }
  }
  return steps;
}

}  // namespace

std::vector<json> eval_json_path(const json& object, const std::string& path) {
  std::vector<const json*> cur{&object};
  for (const auto& step : parse_path(path)) {
    std::vector<const json*> next;
    for (const json* c : cur) {
      switch (step.kind) {
        case Step::Kind::kField:
          if (c->is_object() && c->contains(step.field)) next.push_back(&(*c)[step.field]);
          break;
        case Step::Kind::kIndex:
          if (c->is_array()) {
            long n = static_cast<long>(c->size());
            long idx = step.index < 0 ? n + step.index : step.index;
            if (idx >= 0 && idx < n) next.push_back(&(*c)[idx]);
          }
          break;
        case Step::Kind::kAll:
          if (c->is_array())
            for (const auto& e : *c) next.push_back(&e);
          else if (c->is_object())
            for (const auto& e : c->items()) next.push_back(&e.value());
          break;
        case Step::Kind::kFilter:
          if (c->is_array())
            for (const auto& e : *c) {
              auto vals = eval_json_path(e, step.filter_path);
              bool eq = !vals.empty() && vals[0] == step.filter_value;
              if ((step.filter_op == "==") == eq) next.push_back(&e);
            }
          break;
      }
    }
    cur = std::move(next);
  }
  std::vector<json> out;
  for (const json* c : cur) out.push_back(*c);
  return out;
}

std::string human_duration(std::chrono::seconds d) {
  long long s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return std::to_string(s) + "s";
  long long m = s / 60;
  if (m < 10)
    return s % 60 == 0 ? std::to_string(m) + "m" : std::to_string(m) + "m" + std::to_string(s % 60) + "s";
  if (m < 180) return std::to_string(m) + "m";
  long long h = s / 3600;
  if (h < 8)
    return m % 60 == 0 ? std::to_string(h) + "h" : std::to_string(h) + "h" + std::to_string(m % 60) + "m";
  if (h < 48) return std::to_string(h) + "h";
  long long days = h / 24;
  if (h < 192)
    return h % 24 == 0 ? std::to_string(days) + "d"
                       : std::to_string(days) + "d" + std::to_string(h % 24) + "h";
  if (h < 24 * 365 * 2) return std::to_string(days) + "d";
  long long y = days / 365;
  if (h < 24 * 365 * 8)
    return days % 365 == 0 ? std::to_string(y) + "y"
                           : std::to_string(y) + "y" + std::to_string(days % 365) + "d";
  return std::to_string(y) + "y";
}

std::string human_age(const std::string& timestamp, std::chrono::system_clock::time_point now) {
  if (timestamp.empty()) return "<unknown>";
  auto t = parse_time(timestamp);
  if (!t) return "<invalid>";
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

namespace {

json col(const std::string& name, const std::string& type, const std::string& format, const std::string& desc,
         int priority = 0) {
  return {{"name", name}, {"type", type}, {"format", format}, {"description", desc}, {"priority", priority}};
}

struct BuiltinColumn {
  std::string name, type, path;
  int priority = 0;
};

std::vector<BuiltinColumn> builtin_columns(const ResourceInfo& info) {
  if (info.kind == "Event" && info.group.empty())
    return {{"Last Seen", "string", "@lastSeen"},
            {"Type", "string", ".type"},
            {"Reason", "string", ".reason"},
            {"Object", "string", "@object"},
            {"Message", "string", ".message"},
            {"Subobject", "string", ".involvedObject.fieldPath", 1},
            {"Source", "string", ".source.component", 1},
            {"First Seen", "string", "@firstSeen", 1},
            {"Count", "string", ".count", 1},
            {"Name", "string", ".metadata.name", 1}};
  if (info.kind == "Event")
    return {{"Last Seen", "string", "@lastSeen"},
            {"Type", "string", ".type"},
            {"Reason", "string", ".reason"},
            {"Object", "string", "@object"},
            {"Message", "string", ".note"}};
  if (info.kind == "Lease")
    return {{"Holder", "string", ".spec.holderIdentity"}, {"Age", "date", ".metadata.creationTimestamp"}};
  if (info.kind == "Namespace")
    return {{"Status", "string", ".status.phase"}, {"Age", "date", ".metadata.creationTimestamp"}};
  if (info.kind == "Secret")
    return {{"Type", "string", ".type"},
            {"Data", "integer", "@datalen"},
            {"Age", "date", ".metadata.creationTimestamp"}};
  if (info.kind == "ConfigMap")
    return {{"Data", "integer", "@datalen"}, {"Age", "date", ".metadata.creationTimestamp"}};
  if (info.kind == "CustomResourceDefinition") return {{"Created At", "date", "@createdAt"}};
  // kubectl's own printers for these (pkg/printers/internalversion).
  if (info.kind == "Service" && info.group.empty())
    return {{"Type", "string", ".spec.type"},
            {"Cluster-IP", "string", ".spec.clusterIP"},
            {"External-IP", "string", "@externalIP"},
            {"Port(s)", "string", "@servicePorts"},
            {"Age", "date", ".metadata.creationTimestamp"},
            {"Selector", "string", "@selector", 1}};
  if (info.kind == "Endpoints" && info.group.empty())
    return {{"Endpoints", "string", "@endpoints"}, {"Age", "date", ".metadata.creationTimestamp"}};
  if (info.kind == "EndpointSlice")
    return {{"AddressType", "string", ".addressType"},
            {"Ports", "string", "@slicePorts"},
            {"Endpoints", "string", "@sliceEndpoints"},
            {"Age", "date", ".metadata.creationTimestamp"}};
  return {{"Age", "date", ".metadata.creationTimestamp"}};
}

std::string cell_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "<none>";
  return v.dump();
}

json first_or_null(const json& object, const std::string& path) {
  auto vals = eval_json_path(object, path);
  return vals.empty() ? json() : vals[0];
}

// "a, b, c + 2 more...": how kubectl lists addresses.
std::string first_three(const std::vector<std::string>& items) {
  if (items.empty()) return "<none>";
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < 3; ++i) out += (i ? "," : "") + items[i];
  if (items.size() > 3) out += " + " + std::to_string(items.size() - 3) + " more...";
  return out;
}

json network_cell(const std::string& what, const json& o) {
  const json spec = o.value("spec", json::object());
  if (what == "@externalIP") {
    const std::string type = spec.value("type", "ClusterIP");
    std::vector<std::string> ips;
    for (const auto& ip : spec.value("externalIPs", json::array())) ips.push_back(ip.get<std::string>());
    if (type == "ExternalName") return spec.value("externalName", "<none>");
    if (type == "LoadBalancer") {
      for (const auto& in : o.value("status", json::object()).value("loadBalancer", json::object()).value("ingress", json::array()))
        ips.push_back(in.value("ip", in.value("hostname", "")));
      if (ips.empty()) return "<pending>";
    }
    if (ips.empty()) return "<none>";
    std::string out;
    for (const auto& ip : ips) out += (out.empty() ? "" : ",") + ip;
    return out;
  }
  if (what == "@servicePorts") {
    std::string out;
    for (const auto& p : spec.value("ports", json::array())) {
      out += (out.empty() ? "" : ",") + std::to_string(p.value("port", 0));
      if (p.contains("nodePort")) out += ":" + std::to_string(p.value("nodePort", 0));
      out += "/" + p.value("protocol", std::string("TCP"));
    }
    return out.empty() ? "<none>" : out;
  }
  if (what == "@selector") {
    std::string out;
    const json selector = spec.value("selector", json::object());
    for (const auto& [k, v] : selector.items())
      out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    return out.empty() ? "<none>" : out;
  }
  if (what == "@endpoints") {
    std::vector<std::string> items;
    for (const auto& ss : o.value("subsets", json::array())) {
      const auto ports = ss.value("ports", json::array());
      for (const auto& a : ss.value("addresses", json::array())) {
        if (ports.empty()) items.push_back(a.value("ip", ""));
        for (const auto& p : ports) items.push_back(a.value("ip", "") + ":" + std::to_string(p.value("port", 0)));
      }
    }
    return first_three(items);
  }
  if (what == "@slicePorts") {
    std::string out;
    for (const auto& p : o.value("ports", json::array()))
      out += (out.empty() ? "" : ",") + (p.contains("port") && p["port"].is_number() ? std::to_string(p["port"].get<int>()) : "<unset>");
    return out.empty() ? "<unset>" : out;
  }
  std::vector<std::string> items;  // @sliceEndpoints
  for (const auto& e : o.value("endpoints", json::array()))
    for (const auto& a : e.value("addresses", json::array())) items.push_back(a.get<std::string>());
  return items.empty() ? "<unset>" : first_three(items);
}

json builtin_cell(const BuiltinColumn& c, const json& o, std::chrono::system_clock::time_point now) {
  if (c.path == "@datalen") {
    size_t n = 0;
    for (const char* f : {"data", "binaryData", "stringData"})
      if (o.contains(f) && o[f].is_object()) n += o[f].size();
    return n;
  }
  if (c.path == "@createdAt") return meta_str_or(o, "creationTimestamp");
  if (c.path == "@externalIP" || c.path == "@servicePorts" || c.path == "@selector" || c.path == "@endpoints" ||
      c.path == "@slicePorts" || c.path == "@sliceEndpoints")
    return network_cell(c.path, o);
  if (c.path == "@object") {
    const json ref =
        o.contains("involvedObject") ? o["involvedObject"] : o.value("regarding", json::object());
    std::string kind = ref.value("kind", "");
    std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
    return kind + "/" + ref.value("name", "");
  }
  if (c.path == "@lastSeen" || c.path == "@firstSeen") {
    std::string ts;
    for (const char* f :
         c.path == "@lastSeen"
             ? std::vector<const char*>{"lastTimestamp", "deprecatedLastTimestamp", "eventTime"}
             : std::vector<const char*>{"firstTimestamp", "deprecatedFirstTimestamp", "eventTime"})
      if (o.contains(f) && o[f].is_string() && !o[f].get<std::string>().empty()) {
        ts = o[f].get<std::string>();
        break;
      }
    if (ts.empty()) ts = meta_str_or(o, "creationTimestamp");
    return human_age(ts, now);
  }
  json v = first_or_null(o, c.path);
  if (c.type == "date") return human_age(v.is_string() ? v.get<std::string>() : "", now);
  if (c.name == "Count") return v.is_null() ? json("") : json(cell_string(v));
  if (v.is_null()) return c.type == "string" ? json("<none>") : json();
  return c.type == "string" ? json(cell_string(v)) : v;
}

}  // namespace

json table_columns(const ResourceInfo& info) {
  json cols = json::array();
  cols.push_back(
      col("Name", "string", "name",
          "Name must be unique within a namespace. Is required when creating resources, although some "
          "resources may allow a client to request the generation of an appropriate name automatically."));
  if (info.custom) {
    if (info.columns.empty()) cols.push_back(col("Age", "date", "", "Creation timestamp"));
    for (const auto& c : info.columns)
      cols.push_back(col(c.name, c.type, c.format, c.description, c.priority));
    return cols;
  }
  for (const auto& c : builtin_columns(info)) {
    if (c.name == "Name") {
      cols.push_back(col("Name", "string", "", "", c.priority));
      continue;
    }
    cols.push_back(col(c.name, c.type == "date" ? "string" : c.type, "", c.name, c.priority));
  }
  return cols;
}

json table_row(const ResourceInfo& info, const json& object, IncludeObject include,
               std::chrono::system_clock::time_point now) {
  json cells = json::array();
  cells.push_back(meta_str_or(object, "name"));
  if (info.custom) {
    if (info.columns.empty()) cells.push_back(human_age(meta_str_or(object, "creationTimestamp"), now));
    for (const auto& c : info.columns) {
      auto vals = eval_json_path(object, c.json_path);
      if (vals.empty() || vals[0].is_null()) {
        cells.push_back(nullptr);
        continue;
      }
      const json& v = vals[0];
      if (c.type == "date")
        cells.push_back(human_age(v.is_string() ? v.get<std::string>() : "", now));
      else if (c.type == "string")
        cells.push_back(cell_string(v));
      else
        cells.push_back(v);
    }
  } else {
    for (const auto& c : builtin_columns(info)) cells.push_back(builtin_cell(c, object, now));
  }
  json row = {{"cells", cells}};
  if (include == IncludeObject::kObject) {
    row["object"] = object;
  } else if (include == IncludeObject::kMetadata) {
    row["object"] = {{"kind", "PartialObjectMetadata"},
                     {"apiVersion", "meta.k8s.io/v1"},
                     {"metadata", object.value("metadata", json::object())}};
  }
  return row;
}

json make_table(const ResourceInfo& info, const std::vector<const json*>& objects, const json& list_metadata,
                IncludeObject include, std::chrono::system_clock::time_point now, bool with_columns) {
  json t = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", list_metadata}};
  if (with_columns) t["columnDefinitions"] = table_columns(info);
  json rows = json::array();
  for (const json* o : objects) rows.push_back(table_row(info, *o, include, now));
  t["rows"] = rows;
  return t;
}

std::string meta_str_or(const json& o, const char* field) {
  auto m = o.find("metadata");
  if (m == o.end() || !m->is_object()) return "";
  auto f = m->find(field);
  return f != m->end() && f->is_string() ? f->get<std::string>() : "";
}

}  // namespace raydog::emulator
