#include "controller/http/proxy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "controller/util/base64.hpp"
#include "controller/util/strings.hpp"

namespace raydog::http {
namespace {

// An IPv4 or IPv6 address in network order, the way inet_pton gives it.
struct Address {
  int family = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
  int bits() const { return family == AF_INET ? 32 : 128; }
};

std::optional<Address> parse_address(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

bool same_prefix(const Address& a, const Address& b, int prefix) {
  if (a.family != b.family) return false;
  const int whole = prefix / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a.bytes[static_cast<std::size_t>(whole)] & mask) == (b.bytes[static_cast<std::size_t>(whole)] & mask);
}

// A DNS name as NO_PROXY lists it: letters, digits, '-', '_', '.'.
bool plain_domain(std::string_view d) {
  if (d.empty()) return false;
  for (char c : d) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string host_key(std::string host) {
  host = ascii_lower(std::move(host));
  if (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

struct Bypass {
  bool everything = false;
  std::string domain;              // matches itself and its subdomains
  std::optional<Address> address;  // with prefix_bits: a CIDR range or one address
  int prefix_bits = 0;
  std::string port;  // empty: any port

  bool matches(const std::string& host, const std::optional<Address>& host_address,
               const std::string& target_port) const {
    if (everything) return true;
    if (!port.empty() && port != target_port) return false;
    if (address) return host_address && same_prefix(*address, *host_address, prefix_bits);
    if (host_address) return false;  // a name entry never matches an IP literal
    return host == domain ||
           (host.size() > domain.size() && host.ends_with(domain) && host[host.size() - domain.size() - 1] == '.');
  }
};

// One NO_PROXY entry; error set when it is malformed.
std::optional<Bypass> parse_bypass(std::string entry, std::string& error) {
  const std::string shown = entry;
  auto fail = [&](const std::string& why) {
    error = "entry \"" + shown + "\": " + why;
    return std::nullopt;
  };
  Bypass b;
  if (entry == "*") {
    b.everything = true;
    return b;
  }
  std::string host = entry;
  if (entry.front() == '[') {  // [v6] or [v6]:port
    const auto close = entry.find(']');
    if (close == std::string::npos) return fail("an opening '[' without ']'");
    host = entry.substr(1, close - 1);
    const std::string after = entry.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':' || !is_port(after.substr(1))) return fail("the port must be 1-65535");
      b.port = after.substr(1);
    }
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {  // host:port or v4:port
    const auto colon = entry.find(':');
    host = entry.substr(0, colon);
    if (!is_port(entry.substr(colon + 1))) return fail("the port must be 1-65535");
    b.port = entry.substr(colon + 1);
  }
  if (const auto slash = host.find('/'); slash != std::string::npos) {  // CIDR
    auto address = parse_address(host.substr(0, slash));
    if (!address) return fail("the part before '/' is not an IP address");
    const std::string bits = host.substr(slash + 1);
    const bool digits = !bits.empty() && bits.size() <= 3 && bits.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(bits) > address->bits())
      return fail("the prefix length must be 0-" + std::to_string(address->bits()));
    b.address = address;
    b.prefix_bits = std::stoi(bits);
    return b;
  }
  if (auto address = parse_address(host)) {
    b.address = address;
    b.prefix_bits = address->bits();
    return b;
  }
  if (host.starts_with("*.")) host = host.substr(2);
  else if (host.starts_with(".")) host = host.substr(1);
  host = host_key(host);
  if (!plain_domain(host)) return fail("not a host name, IP address or CIDR range");
  b.domain = host;
  return b;
}

// What a proxy URL looks like without its userinfo: what messages may show.
std::string without_userinfo(std::string_view text) {
  const auto scheme_end = text.find("://");
  const std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto at = text.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(text);
  return std::string(text.substr(0, start)) + "***@" + std::string(text.substr(at + 1));
}

}  // namespace

std::string ProxyEndpoint::display() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "http://" + h + ":" + port;
}

ProxyParse parse_proxy_url(std::string_view text_in, std::string_view source) {
  const std::string text = trim(std::string(text_in));
  const std::string src(source);
  const std::string shown = without_userinfo(text);
  auto fail = [&](const std::string& why) { return ProxyParse{std::nullopt, src + ": " + why}; };
  std::string rest = text;
  if (const auto sep = text.find("://"); sep != std::string::npos) {
    const std::string scheme = ascii_lower(text.substr(0, sep));
    if (scheme == "https") {
      return fail("'" + shown + "': https:// proxies (TLS to the proxy) are not supported; use an http:// proxy URL " +
                  "(the tunnel through it to an https target is still end-to-end TLS)");
    }
    if (scheme != "http") return fail("'" + shown + "': the proxy scheme '" + scheme + "' is not supported; use http://");
    rest = text.substr(sep + 3);
  }
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/") return fail("'" + shown + "': a proxy URL has no path or query");
    rest.resize(slash);
  }
  ProxyEndpoint p;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    const std::string user = percent_decode(userinfo.substr(0, colon));
    const std::string password = colon == std::string::npos ? "" : percent_decode(userinfo.substr(colon + 1));
    p.authorization = "Basic " + base64_encode(user + ":" + password);
    p.userinfo = userinfo;
  }
  Url u;
  if (rest.empty() || !parse_url("http://" + rest, u) || !u.prefix.empty())
    return fail("'" + shown + "' is not a proxy URL (expected http://host:port)");
  const std::string host = host_key(u.host);
  if (!parse_address(host) && !plain_domain(host))
    return fail("'" + shown + "': the proxy host is not a host name or IP address");
  p.host = host;
  p.port = u.port;
  return ProxyParse{std::move(p), {}};
}

struct EgressProxies::Rules {
  std::optional<ProxyEndpoint> https;  // for https:// targets
  std::optional<ProxyEndpoint> http;   // for http:// targets
  std::vector<Bypass> bypass;
  std::size_t bypass_entries = 0;
};

EgressProxies::EgressProxies() : rules_(std::make_shared<Rules>()) {}

EgressProxies EgressProxies::always(ProxyEndpoint proxy) {
  auto rules = std::make_shared<Rules>();
  rules->https = proxy;
  rules->http = std::move(proxy);
  EgressProxies e;
  e.rules_ = std::move(rules);
  return e;
}

EgressProxies::FromEnvironment EgressProxies::parse(std::string_view https_proxy, std::string_view http_proxy,
                                                    std::string_view no_proxy) {
  auto rules = std::make_shared<Rules>();
  FromEnvironment out;
  for (auto [value, name, slot] : {std::tuple{https_proxy, "HTTPS_PROXY", &rules->https},
                                   std::tuple{http_proxy, "HTTP_PROXY", &rules->http}}) {
    if (trim(std::string(value)).empty()) continue;
    ProxyParse parsed = parse_proxy_url(value, name);
    if (!parsed.endpoint) {
      out.error = parsed.error;
      return out;
    }
    *slot = std::move(parsed.endpoint);
  }
  std::string entry;
  auto flush = [&]() -> bool {
    if (entry.empty()) return true;
    std::string why;
    auto b = parse_bypass(entry, why);
    entry.clear();
    if (!b) {
      out.error = "NO_PROXY: " + why;
      return false;
    }
    rules->bypass.push_back(std::move(*b));
    ++rules->bypass_entries;
    return true;
  };
  for (char c : no_proxy) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!flush()) return out;
    } else {
      entry.push_back(c);
    }
  }
  if (!flush()) return out;
  out.proxies.rules_ = std::move(rules);
  return out;
}

EgressProxies::FromEnvironment EgressProxies::from_environment(
    const std::function<const char*(const char*)>& getenv_fn) {
  auto get = [&](const char* lower, const char* upper) -> std::string_view {
    for (const char* name : {lower, upper}) {
      const char* v = getenv_fn ? getenv_fn(name) : std::getenv(name);
      if (v != nullptr && *v != '\0') return v;
    }
    return {};
  };
  const std::string_view all = get("all_proxy", "ALL_PROXY");
  std::string_view https = get("https_proxy", "HTTPS_PROXY");
  std::string_view http = get("http_proxy", "HTTP_PROXY");
  if (https.empty()) https = all;
  if (http.empty()) http = all;
  return parse(https, http, get("no_proxy", "NO_PROXY"));
}

std::optional<ProxyEndpoint> EgressProxies::route(const Url& target) const {
  const auto& proxy = target.tls() ? rules_->https : rules_->http;
  if (!proxy) return std::nullopt;
  const std::string host = host_key(target.host);
  const auto address = parse_address(host);
  for (const auto& b : rules_->bypass) {
    if (b.matches(host, address, target.port)) return std::nullopt;
  }
  return proxy;
}

bool EgressProxies::any() const {
  return rules_->https || rules_->http;
}

std::string EgressProxies::describe() const {
  if (!any()) return "direct (no HTTPS_PROXY/HTTP_PROXY)";
  std::string s = "https targets via " + (rules_->https ? rules_->https->display() : std::string("direct")) +
                  ", http targets via " + (rules_->http ? rules_->http->display() : std::string("direct"));
  s += ", " + std::to_string(rules_->bypass_entries) + " NO_PROXY entries";
  return s;
}

}  // namespace raydog::http
