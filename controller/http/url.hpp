#pragma once
// URLs and percent-encoding, the pure half of the HTTP layer: no Asio/Beast, so pure libraries (the
// YellowDog model's request building, the Kubernetes client's paths) use it without linking the transport.
// Library target raydog_http_url; raydog_http links it and types.hpp includes this header.
#include <string>
#include <string_view>

namespace raydog::http {

// Parsed "scheme://host:port/prefix" (IPv6 hosts in brackets). `prefix` has no trailing slash.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets
  std::string port;    // defaulted from the scheme when absent
  std::string prefix;  // path prefix ("" or "/api" ...)
  bool tls() const { return scheme == "https"; }
  std::string host_header() const;  // "host:port" with brackets for IPv6
};
// A TCP port as URLs and NO_PROXY entries spell it: 1-5 digits, 1-65535.
bool is_port(std::string_view p);
// nullopt-like: returns false and leaves `out` untouched when `text` is not an http(s) URL.
bool parse_url(std::string_view text, Url& out);

// Percent-encoding, the one implementation in the project: RFC 3986 unreserved characters (letters,
// digits, "-._~") and any character in `keep` stay literal, everything else becomes %XX (upper case).
std::string percent_encode(std::string_view s, std::string_view keep = {});
// Query-string helpers shared by both servers and all clients.
inline std::string url_encode(std::string_view s) {
  return percent_encode(s);
}
// %XX -> the byte, for either direction of percent_encode; a stray '%' stays literal. '+' becomes ' ' only
// with plus_is_space (query semantics, application/x-www-form-urlencoded); in a path '+' is itself.
std::string percent_decode(std::string_view s, bool plus_is_space = false);
inline std::string url_decode(std::string_view s) {  // a query's key or value
  return percent_decode(s, true);
}

}  // namespace raydog::http
