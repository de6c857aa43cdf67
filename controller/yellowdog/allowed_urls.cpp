#include "controller/yellowdog/allowed_urls.hpp"

#include <algorithm>
#include <cctype>

#include "controller/http/url.hpp"
#include "controller/util/strings.hpp"

namespace raydog::yellowdog {
namespace {

// A host the resolver sees as written: a DNS name (letters, digits, '-', '.') or an IP literal. Anything
// else (a '%', a backslash, a space) is a trick or a typo, and refused rather than guessed at.
bool plain_host(std::string_view host) {
  if (host.empty()) return false;
  const bool ipv6 = host.find(':') != std::string_view::npos;
  return std::all_of(host.begin(), host.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '.' || (ipv6 && c == ':');
  });
}

// The authority: what follows "scheme://" up to the path, query or fragment.
std::string_view authority_of(std::string_view text) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const std::string_view rest = text.substr(scheme_end + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

// The host and port of `text` as the HTTP client will use them (http::parse_url, the client's own parse),
// or why `text` cannot be trusted to mean one host.
Result<http::Url, std::string> parse_target(std::string_view text) {
  const std::string_view authority = authority_of(text);
  if (authority.find('@') != std::string_view::npos)
    return unexpected(std::string("user info (user@host) is not allowed in the URL"));
  if (authority.find('%') != std::string_view::npos)
    return unexpected(std::string("a percent-encoded host is not allowed"));
  http::Url u;
  if (!http::parse_url(text, u)) return unexpected(std::string("not an http:// or https:// URL"));
  if (!plain_host(u.host)) return unexpected("host \"" + u.host + "\" is not a plain DNS name or IP address");
  u.host = ascii_lower(u.host);
  return u;
}

// True when the authority of `text` spells a port ("host:443", "[::1]:8080").
bool has_port(std::string_view text) {
  const std::string_view authority = authority_of(text);
  const auto close = authority.rfind(']');
  return authority.find(':', close == std::string_view::npos ? 0 : close) != std::string_view::npos;
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

}  // namespace

AllowedUrls::AllowedUrls()
    : origins_{{"https", "api.yellowdog.ai", "443", std::string(kDefaultAllowedUrls)}} {}

Result<AllowedUrls, std::string> AllowedUrls::parse(std::string_view list) {
  AllowedUrls out;
  out.origins_.clear();
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string entry = trim(std::string(list.substr(start, comma - start)));
    start = comma + 1;
    if (entry.empty()) continue;  // "a,,b" and a trailing comma are harmless
    std::string_view text = entry;
    bool any_port = false;
    if (text.ends_with(":*")) {
      any_port = true;
      text.remove_suffix(2);
    }
    if (text.ends_with("/")) text.remove_suffix(1);  // "https://host/" is still an origin
    auto u = parse_target(text);
    if (!u) return unexpected("--yellowdog-allowed-urls: " + quoted(entry) + ": " + u.error());
    if (!u->prefix.empty())
      return unexpected("--yellowdog-allowed-urls: " + quoted(entry) +
                        ": an origin is scheme://host[:port], without a path");
    if (any_port && has_port(text))
      return unexpected("--yellowdog-allowed-urls: " + quoted(entry) + ": a port and '*'");
    Origin o{u->scheme, u->host, std::nullopt, std::string(entry)};
    if (!any_port) o.port = u->port;
    out.origins_.push_back(std::move(o));
  }
  if (out.origins_.empty()) return unexpected(std::string("--yellowdog-allowed-urls: no origin given"));
  return out;
}

std::optional<std::string> AllowedUrls::refusal(std::string_view api_url) const {
  auto u = parse_target(api_url);
  if (u) {
    for (const auto& o : origins_)
      if (o.scheme == u->scheme && o.host == u->host && (!o.port || *o.port == u->port)) return std::nullopt;
  }
  std::string why = u ? "its origin is not listed" : u.error();
  return "apiURL " + quoted(api_url) + " is not allowed (" + why +
         "): the operator sends YellowDog keys only to the origins in --yellowdog-allowed-urls (" +
         to_string() + ")";
}

std::string AllowedUrls::to_string() const {
  std::string out;
  for (const auto& o : origins_) out += (out.empty() ? "" : ",") + o.text;
  return out;
}

}  // namespace raydog::yellowdog
