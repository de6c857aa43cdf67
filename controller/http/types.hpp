#pragma once
// Common names for the HTTP layer. Every HTTP byte goes through Beast (design: no hand-rolled HTTP).
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace raydog::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using ResponseHead = bhttp::response_header<>;

// Parsed "scheme://host:port/prefix" (IPv6 hosts in brackets). `prefix` has no trailing slash.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets
  std::string port;    // defaulted from the scheme when absent
  std::string prefix;  // path prefix ("" or "/api" ...)
  bool tls() const { return scheme == "https"; }
  std::string host_header() const;  // "host:port" with brackets for IPv6
};
// nullopt-like: returns false and leaves `out` untouched when `text` is not an http(s) URL.
bool parse_url(std::string_view text, Url& out);

// Query-string helpers shared by both servers and both clients.
std::string url_encode(std::string_view s);  // RFC 3986 unreserved kept, everything else %XX
std::string url_decode(std::string_view s);  // %XX and '+' -> ' ' (query semantics)

}  // namespace raydog::http
