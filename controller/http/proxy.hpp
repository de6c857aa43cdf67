#pragma once
// Egress proxies: which HTTP proxy (if any) a request to a URL goes through, from the standard environment
// variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) or a kubeconfig's proxy-url. Pure (no Asio/Beast): the
// transport (client.cpp) opens the CONNECT tunnel; every client of the project takes its route from here,
// so the YellowDog, DALiuGE, Kubernetes and later Ray clients agree on one set of rules.
//
// Rules (curl's, with Go's CIDR entries; README "Egress proxies"):
// - https:// targets use https_proxy, else HTTPS_PROXY; http:// targets use http_proxy, else HTTP_PROXY.
//   Unset or empty: direct. Loopback is NOT exempt implicitly (as curl; Go exempts it): list it in NO_PROXY.
// - A proxy URL is "[http://][user:password@]host[:port][/]"; no scheme means http://, no port means 80.
//   https://, socks and other schemes are refused with a message (TLS to the proxy itself is not supported;
//   the tunnel through it to an https target is still end-to-end TLS).
// - Both http and https targets travel through a CONNECT tunnel (like curl --proxytunnel), so a streamed
//   response and connection reuse behave exactly as direct; the proxy must allow CONNECT to those ports.
// - no_proxy, else NO_PROXY: comma- or space-separated entries, case-insensitive. "*" bypasses every host.
//   "example.com", ".example.com" and "*.example.com" match example.com and every subdomain; an IP address
//   matches itself; "10.0.0.0/8" or "fd00::/8" match addresses in the range; "host:port" or "[v6]:port"
//   match only that port. A trailing dot on the target host is ignored.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/http/url.hpp"

namespace raydog::http {

// One proxy to tunnel through.
struct ProxyEndpoint {
  std::string host;           // without brackets
  std::string port;           // "3128"
  std::string authorization;  // "Basic ..." from the URL's userinfo, or empty; never logged
  std::string userinfo;       // that userinfo as written ("user:pass", percent-encoded), for gRPC's proxy URI
  std::string display() const;  // "http://host:port", credentials left out (for logs and errors)
  bool operator==(const ProxyEndpoint&) const = default;
};

// Parses a proxy URL; the error names what is wrong but never echoes a password. `source` names the
// setting in the message ("HTTPS_PROXY", "kubeconfig proxy-url").
struct ProxyParse {
  std::optional<ProxyEndpoint> endpoint;
  std::string error;  // set when endpoint is empty
};
ProxyParse parse_proxy_url(std::string_view text, std::string_view source);

class EgressProxies {
 public:
  EgressProxies();  // direct for every URL

  // What the environment says, through `getenv` (std::getenv by default). error is set (naming the variable
  // and the entry) when a proxy URL or a NO_PROXY entry is malformed; the process should not start then.
  struct FromEnvironment;
  static FromEnvironment from_environment(const std::function<const char*(const char*)>& getenv = {});
  // The same from explicit values (empty: unset).
  static FromEnvironment parse(std::string_view https_proxy, std::string_view http_proxy,
                               std::string_view no_proxy);
  // Every URL through this one proxy, no exceptions (a kubeconfig's proxy-url).
  static EgressProxies always(ProxyEndpoint proxy);

  // The proxy for a request to `target`, nullopt for a direct connection.
  std::optional<ProxyEndpoint> route(const Url& target) const;
  bool any() const;  // false when every route is direct
  std::string describe() const;  // one line for the start-up log, credentials left out

 private:
  struct Rules;
  std::shared_ptr<const Rules> rules_;  // shared: every client copy of the settings costs a pointer
};

struct EgressProxies::FromEnvironment {
  EgressProxies proxies;
  std::string error;
};

}  // namespace raydog::http
