#include "test/emulator/builtin_admission.hpp"

#include <arpa/inet.h>

#include <set>
#include <string>

namespace raydog::emulator {

using nlohmann::json;

namespace {

FieldError required(const std::string& field) {
  return {"FieldValueRequired", field, "Required value"};
}
FieldError invalid_value(const std::string& field, const json& value, const std::string& why) {
  return {"FieldValueInvalid", field, "Invalid value: " + value.dump() + ": " + why};
}
FieldError duplicate(const std::string& field, const json& value) {
  return {"FieldValueDuplicate", field, "Duplicate value: " + value.dump()};
}
FieldError not_supported(const std::string& field, const json& value, const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + json(a).dump();
  return {"FieldValueNotSupported", field, "Unsupported value: " + value.dump() + ": supported values: " + list};
}

bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

const json& array_or_empty(const json& o, const char* key) {
  static const json empty = json::array();
  return o.is_object() && o.contains(key) && o[key].is_array() ? o[key] : empty;
}

// A port's number: 1-65535.
void check_port_number(const json& port, const std::string& field, std::vector<FieldError>& errs) {
  if (!port.is_number_integer() || port.get<std::int64_t>() < 1 || port.get<std::int64_t>() > 65535)
    errs.push_back(invalid_value(field, port, "must be between 1 and 65535, inclusive"));
}

void check_protocol(json& p, const std::string& field, std::vector<FieldError>& errs) {
  if (!p.contains("protocol") || p["protocol"] == "") p["protocol"] = "TCP";
  if (!p["protocol"].is_string() ||
      (p["protocol"] != "TCP" && p["protocol"] != "UDP" && p["protocol"] != "SCTP"))
    errs.push_back(not_supported(field + ".protocol", p["protocol"], {"SCTP", "TCP", "UDP"}));
}

}  // namespace

std::string endpoint_address_problem(const std::string& address, bool ipv6, bool allow_loopback) {
  unsigned char b[16] = {};
  if (!ipv6) {
    if (::inet_pton(AF_INET, address.c_str(), b) != 1) return "must be a valid IPv4 address";
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return "may not be unspecified (0.0.0.0, ::)";
    if (b[0] == 127 && !allow_loopback) return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
    if (b[0] == 169 && b[1] == 254) return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
    if (b[0] == 224 && b[1] == 0 && b[2] == 0)
      return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
    return "";
  }
  if (::inet_pton(AF_INET6, address.c_str(), b) != 1) return "must be a valid IPv6 address";
  bool zero = true, loopback = true;
  for (int i = 0; i < 16; ++i) {
    zero = zero && b[i] == 0;
    loopback = loopback && b[i] == (i == 15 ? 1 : 0);
  }
  if (zero) return "may not be unspecified (0.0.0.0, ::)";
  if (loopback && !allow_loopback) return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
  if (b[0] == 0xff && (b[1] & 0x0f) == 0x02 && (b[1] & 0xf0) == 0x00)
    return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
  return "";
}

std::vector<FieldError> BuiltinAdmission::admit(const ResourceInfo& info, json& obj, const json* stored) {
  if (info.custom) return {};
  if (info.group.empty() && info.kind == "Service") return service(obj, stored);
  if (info.group.empty() && info.kind == "Endpoints") return endpoints(obj);
  if (info.group == "discovery.k8s.io" && info.kind == "EndpointSlice") return endpoint_slice(obj);
  return {};
}

std::string BuiltinAdmission::allocate_cluster_ip() {
  const std::uint32_t n = next_ip_++ % (1u << 20);  // 10.96.0.0/12 holds 2^20 addresses
  const std::uint32_t ip = (10u << 24) | (96u << 16) | n;
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

int BuiltinAdmission::allocate_node_port() {
  const int p = next_node_port_;
  next_node_port_ = next_node_port_ >= 32767 ? 30000 : next_node_port_ + 1;
  return p;
}

std::vector<FieldError> BuiltinAdmission::service(json& obj, const json* stored) {
  std::vector<FieldError> errs;
  if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = json::object();
  json& spec = obj["spec"];
  const json old = stored && stored->contains("spec") ? (*stored)["spec"] : json::object();
  if (!spec.contains("type") || spec["type"] == "") spec["type"] = "ClusterIP";
  const json type = spec["type"];
  if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" && type != "ExternalName") {
    errs.push_back(not_supported("spec.type", type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}));
    return errs;
  }
  if (!spec.contains("sessionAffinity") || spec["sessionAffinity"] == "") spec["sessionAffinity"] = "None";
  if (type == "ExternalName") {
    if (!spec.contains("externalName") || spec["externalName"] == "")
      errs.push_back(required("spec.externalName"));
    return errs;
  }
  // Allocated once, kept by updates that leave it out (the real server's patchAllocatedValues).
  if ((!spec.contains("clusterIP") || spec["clusterIP"] == "") && old.contains("clusterIP"))
    spec["clusterIP"] = old["clusterIP"];
  if (!spec.contains("clusterIP") || spec["clusterIP"] == "") spec["clusterIP"] = allocate_cluster_ip();
  if (old.contains("clusterIP") && old["clusterIP"] != spec["clusterIP"])
    errs.push_back(invalid_value("spec.clusterIPs[0]", spec["clusterIP"], "may not change once set"));
  spec["clusterIPs"] = json::array({spec["clusterIP"]});
  const bool headless = spec["clusterIP"] == "None";
  if (!spec.contains("ipFamilies")) spec["ipFamilies"] = json::array({"IPv4"});
  if (!spec.contains("ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
  if (!spec.contains("internalTrafficPolicy")) spec["internalTrafficPolicy"] = "Cluster";
  const bool node_ports = type == "NodePort" || type == "LoadBalancer";
  if (node_ports && !spec.contains("externalTrafficPolicy")) spec["externalTrafficPolicy"] = "Cluster";
  if (type == "LoadBalancer" && !spec.contains("allocateLoadBalancerNodePorts"))
    spec["allocateLoadBalancerNodePorts"] = true;

  if (!spec.contains("ports") || !spec["ports"].is_array() || spec["ports"].empty()) {
    if (!headless) errs.push_back(required("spec.ports"));
  } else {
    std::set<std::string> names;
    json& ports = spec["ports"];
    for (std::size_t i = 0; i < ports.size(); ++i) {
      json& p = ports[i];
      const std::string f = "spec.ports[" + std::to_string(i) + "]";
      if (!p.is_object()) {
        errs.push_back(invalid_value(f, p, "must be an object"));
        continue;
      }
      const std::string name = p.value("name", "");
      if (ports.size() > 1 && name.empty()) errs.push_back(required(f + ".name"));
      if (!name.empty() && !is_dns_label(name))
        errs.push_back(invalid_value(f + ".name", name,
                                     "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                                     "characters or '-', and must start and end with an alphanumeric character"));
      if (!name.empty() && !names.insert(name).second) errs.push_back(duplicate(f + ".name", name));
      check_port_number(p.value("port", json()), f + ".port", errs);
      check_protocol(p, f, errs);
      if (!p.contains("targetPort") || p["targetPort"] == 0 || p["targetPort"] == "") p["targetPort"] = p.value("port", json());
      if (node_ports && (!p.contains("nodePort") || p["nodePort"] == 0)) {
        for (const auto& o : array_or_empty(old, "ports"))
          if (o.value("name", "") == name && o.contains("nodePort")) p["nodePort"] = o["nodePort"];
        if (!p.contains("nodePort") || p["nodePort"] == 0) p["nodePort"] = allocate_node_port();
      }
    }
  }
  if (!obj.contains("status")) obj["status"] = {{"loadBalancer", json::object()}};
  return errs;
}

std::vector<FieldError> BuiltinAdmission::endpoint_slice(json& obj) {
  std::vector<FieldError> errs;
  if (!obj.contains("addressType") || obj["addressType"] == "") {
    errs.push_back(required("addressType"));
    return errs;
  }
  const json type = obj["addressType"];
  if (type != "IPv4" && type != "IPv6" && type != "FQDN") {
    errs.push_back(not_supported("addressType", type, {"FQDN", "IPv4", "IPv6"}));
    return errs;
  }
  if (obj.contains("endpoints") && !obj["endpoints"].is_null()) {
    if (!obj["endpoints"].is_array()) {
      errs.push_back(invalid_value("endpoints", obj["endpoints"], "must be a list"));
    } else if (obj["endpoints"].size() > 1000) {
      errs.push_back({"FieldValueTooMany", "endpoints", "Too many: " + std::to_string(obj["endpoints"].size()) +
                                                            ": must have at most 1000 items"});
    } else {
      for (std::size_t i = 0; i < obj["endpoints"].size(); ++i) {
        const json& e = obj["endpoints"][i];
        const std::string f = "endpoints[" + std::to_string(i) + "].addresses";
        const json& addrs = array_or_empty(e, "addresses");
        if (addrs.empty() || addrs.size() > 100) {
          errs.push_back(addrs.empty() ? required(f)
                                       : FieldError{"FieldValueTooMany", f, "Too many: " +
                                                                                std::to_string(addrs.size()) +
                                                                                ": must have at most 100 items"});
          continue;
        }
        for (std::size_t j = 0; j < addrs.size(); ++j) {
          const std::string af = f + "[" + std::to_string(j) + "]";
          if (!addrs[j].is_string()) {
            errs.push_back(invalid_value(af, addrs[j], "must be a string"));
            continue;
          }
          if (type == "FQDN") continue;
          const std::string why =
              endpoint_address_problem(addrs[j].get<std::string>(), type == "IPv6", options_.allow_loopback_endpoints);
          if (!why.empty()) errs.push_back(invalid_value(af, addrs[j], why));
        }
      }
    }
  }
  if (obj.contains("ports") && obj["ports"].is_array()) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < obj["ports"].size(); ++i) {
      json& p = obj["ports"][i];
      const std::string f = "ports[" + std::to_string(i) + "]";
      if (!p.is_object()) continue;
      if (!p.contains("name") || p["name"].is_null()) p["name"] = "";
      const std::string name = p["name"].is_string() ? p["name"].get<std::string>() : "";
      if (!names.insert(name).second) errs.push_back(duplicate(f + ".name", name));
      if (!name.empty() && !is_dns_label(name))
        errs.push_back(invalid_value(f + ".name", name, "must be a valid port name (an RFC 1123 label)"));
      if (p.contains("port") && !p["port"].is_null()) check_port_number(p["port"], f + ".port", errs);
      check_protocol(p, f, errs);
    }
  }
  return errs;
}

std::vector<FieldError> BuiltinAdmission::endpoints(json& obj) {
  std::vector<FieldError> errs;
  const json& subsets = array_or_empty(obj, "subsets");
  for (std::size_t i = 0; i < subsets.size(); ++i)
    for (const char* list : {"addresses", "notReadyAddresses"}) {
      const json& addrs = array_or_empty(subsets[i], list);
      for (std::size_t j = 0; j < addrs.size(); ++j) {
        const std::string f = "subsets[" + std::to_string(i) + "]." + list + "[" + std::to_string(j) + "].ip";
        const std::string ip = addrs[j].value("ip", "");
        const std::string why =
            endpoint_address_problem(ip, ip.find(':') != std::string::npos, options_.allow_loopback_endpoints);
        if (!why.empty()) errs.push_back(invalid_value(f, ip, why));
      }
    }
  return errs;
}

}  // namespace raydog::emulator
