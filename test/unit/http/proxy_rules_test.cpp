// Egress proxy rules (proxy.hpp), pure: proxy URLs, NO_PROXY entries, which route a URL takes.
#include <doctest/doctest.h>

#include <map>

#include "controller/http/proxy.hpp"

using namespace raydog::http;

namespace {

Url url(const std::string& text) {
  Url u;
  REQUIRE(parse_url(text, u));
  return u;
}

EgressProxies proxies(std::string_view https, std::string_view http, std::string_view no_proxy) {
  auto parsed = EgressProxies::parse(https, http, no_proxy);
  INFO(parsed.error);
  REQUIRE(parsed.error.empty());
  return parsed.proxies;
}

std::string parse_error(std::string_view https, std::string_view http, std::string_view no_proxy) {
  auto parsed = EgressProxies::parse(https, http, no_proxy);
  CHECK_FALSE(parsed.proxies.any());  // a failed parse routes nothing anywhere
  return parsed.error;
}

}  // namespace

TEST_CASE("proxy URL: scheme, default port, brackets, credentials as Basic authorization") {
  auto p = parse_proxy_url("http://proxy.corp.example:3128", "HTTPS_PROXY");
  REQUIRE(p.endpoint);
  CHECK(p.endpoint->host == "proxy.corp.example");
  CHECK(p.endpoint->port == "3128");
  CHECK(p.endpoint->authorization.empty());
  CHECK(p.endpoint->display() == "http://proxy.corp.example:3128");

  p = parse_proxy_url("Proxy.Corp.Example", "HTTPS_PROXY");  // no scheme: http://, no port: 80
  REQUIRE(p.endpoint);
  CHECK(p.endpoint->host == "proxy.corp.example");
  CHECK(p.endpoint->port == "80");

  p = parse_proxy_url("http://[::1]:8080/", "HTTPS_PROXY");
  REQUIRE(p.endpoint);
  CHECK(p.endpoint->host == "::1");
  CHECK(p.endpoint->display() == "http://[::1]:8080");

  // user "alice", password "p@ss:w" percent-encoded: Basic base64("alice:p@ss:w")
  p = parse_proxy_url("http://alice:p%40ss%3Aw@10.1.2.3:3128", "HTTPS_PROXY");
  REQUIRE(p.endpoint);
  CHECK(p.endpoint->host == "10.1.2.3");
  CHECK(p.endpoint->authorization == "Basic YWxpY2U6cEBzczp3");
  CHECK(p.endpoint->display() == "http://10.1.2.3:3128");
}

TEST_CASE("proxy URL: refusals name the setting and never echo the password") {
  const std::map<std::string, std::string> cases{
      {"https://u:hunter2@proxy:3128", "https:// proxies (TLS to the proxy) are not supported"},
      {"socks5://u:hunter2@proxy:1080", "the proxy scheme 'socks5' is not supported"},
      {"http://u:hunter2@proxy:3128/path", "has no path or query"},
      {"http://u:hunter2@proxy:99999", "is not a proxy URL"},
      {"http://u:hunter2@", "is not a proxy URL"},
      {"http://u:hunter2@pro%78y:3128", "not a host name or IP address"},
      {"http://u:hunter2@prox y:3128", "not a host name or IP address"},
  };
  for (const auto& [text, expected] : cases) {
    auto p = parse_proxy_url(text, "HTTPS_PROXY");
    INFO(text << " -> " << p.error);
    CHECK_FALSE(p.endpoint);
    CHECK(p.error.starts_with("HTTPS_PROXY: "));
    CHECK(p.error.find(expected) != std::string::npos);
    CHECK(p.error.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("routes: https and http targets take their own proxy, unset means direct") {
  auto e = proxies("http://secure-proxy:3128", "", "");
  REQUIRE(e.route(url("https://api.yellowdog.ai")));
  CHECK(e.route(url("https://api.yellowdog.ai"))->host == "secure-proxy");
  CHECK_FALSE(e.route(url("http://10.0.0.7:8001")));  // no HTTP_PROXY: plain http goes direct

  e = proxies("http://a:1", "http://b:2", "");
  CHECK(e.route(url("https://x.example"))->host == "a");
  CHECK(e.route(url("http://x.example"))->host == "b");
  // Loopback is not exempt unless listed (curl's rule): tests rely on it to prove the tunnel.
  CHECK(e.route(url("http://127.0.0.1:8080")));

  CHECK_FALSE(EgressProxies().any());
  CHECK_FALSE(EgressProxies().route(url("https://api.yellowdog.ai")));
  CHECK(EgressProxies().describe().find("direct") != std::string::npos);
  CHECK(EgressProxies::always(*parse_proxy_url("http://k:3128", "kubeconfig proxy-url").endpoint)
            .route(url("http://127.0.0.1:6443"))
            ->host == "k");
}

TEST_CASE("NO_PROXY: domains with subdomains, IPs, CIDR ranges, ports, star, case and trailing dots") {
  const auto e = proxies("http://p:3128", "http://p:3128",
                         " .internal.example, Corp.Example ,*.svc.cluster.local  10.0.0.0/8,192.168.1.7, "
                         "fd00::/8,[::1]:6443,127.0.0.1:7000,registry.example:5000");
  const std::map<std::string, bool> direct{
      {"https://internal.example", true},
      {"https://a.b.internal.example", true},
      {"https://corp.example.", true},  // trailing dot ignored
      {"https://API.CORP.EXAMPLE", true},
      {"https://notcorp.example", false},  // a suffix, not a subdomain
      {"https://corp.example.evil", false},
      {"https://kubernetes.default.svc.cluster.local", true},
      {"http://10.200.3.4:8001", true},
      {"http://11.0.0.1:8001", false},
      {"http://192.168.1.7", true},
      {"http://192.168.1.8", false},
      {"https://[fd12::1]:443", true},
      {"https://[fe80::1]:443", false},
      {"https://[::1]:6443", true},
      {"https://[::1]:6444", false},
      {"http://127.0.0.1:7000", true},
      {"http://127.0.0.1:7001", false},
      {"https://registry.example:5000", true},
      {"https://registry.example", false},
      {"https://api.yellowdog.ai", false},
  };
  for (const auto& [target, expect_direct] : direct) {
    INFO(target);
    CHECK(!e.route(url(target)).has_value() == expect_direct);
  }
  CHECK(e.describe().find("9 NO_PROXY entries") != std::string::npos);

  const auto all = proxies("http://p:3128", "", "*");
  CHECK_FALSE(all.route(url("https://api.yellowdog.ai")));
  // A name entry never matches an IP literal, and the other way round.
  const auto names = proxies("http://p:3128", "", "localhost,10.0.0.1");
  CHECK(names.route(url("https://127.0.0.1")));
  CHECK(names.route(url("https://10.0.0.1.example")));
}

TEST_CASE("NO_PROXY and proxy variables: malformed input is a precise error, nothing is half-applied") {
  const std::map<std::string, std::string> bad_no_proxy{
      {"10.0.0.0/33", "NO_PROXY: entry \"10.0.0.0/33\": the prefix length must be 0-32"},
      {"fd00::/129", "NO_PROXY: entry \"fd00::/129\": the prefix length must be 0-128"},
      {"10.0.0.0/x", "the prefix length must be 0-32"},
      {"example.com/8", "the part before '/' is not an IP address"},
      {"host:http", "NO_PROXY: entry \"host:http\": the port must be 1-65535"},
      {"host:0", "the port must be 1-65535"},
      {"[::1", "an opening '[' without ']'"},
      {"[::1]x", "the port must be 1-65535"},
      {"exa%mple.com", "not a host name, IP address or CIDR range"},
      {"good.example,bad!", "NO_PROXY: entry \"bad!\""},
  };
  for (const auto& [no_proxy, expected] : bad_no_proxy) {
    const std::string why = parse_error("http://p:3128", "", no_proxy);
    INFO(no_proxy << " -> " << why);
    CHECK(why.find(expected) != std::string::npos);
  }
  CHECK(parse_error("", "ftp://p", "").starts_with("HTTP_PROXY: "));
  CHECK(parse_error("https://p", "", "").starts_with("HTTPS_PROXY: "));
}

TEST_CASE("from_environment: lower case first, then upper case, ALL_PROXY as the fallback") {
  std::map<std::string, std::string> env{{"HTTPS_PROXY", "http://upper:1"}, {"https_proxy", "http://lower:2"},
                                         {"ALL_PROXY", "http://all:3"}, {"NO_PROXY", "direct.example"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto e = EgressProxies::from_environment(getenv);
  REQUIRE(e.error.empty());
  CHECK(e.proxies.route(url("https://x.example"))->host == "lower");
  CHECK(e.proxies.route(url("http://x.example"))->host == "all");
  CHECK_FALSE(e.proxies.route(url("https://direct.example")));

  env = {{"HTTP_PROXY", "http://p:1"}, {"no_proxy", "10.0.0.0/99"}};
  e = EgressProxies::from_environment(getenv);
  CHECK(e.error.find("NO_PROXY: entry \"10.0.0.0/99\"") != std::string::npos);

  env.clear();
  e = EgressProxies::from_environment(getenv);
  CHECK(e.error.empty());
  CHECK_FALSE(e.proxies.any());
}
