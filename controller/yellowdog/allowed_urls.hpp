#pragma once
// The YellowDog API origins the operator may send keys to (--yellowdog-allowed-urls).
//
// Why: a RayDogCluster names both a Secret and spec.yellowdog.apiURL, and the operator sends the Secret's
// two values to that URL as `Authorization: yd-key ID:SECRET`. Without this list anyone allowed to create
// a RayDogCluster (but not to read Secrets) could have the operator deliver a Secret of their namespace to a
// server of their own. The check runs before the Secret is read, on the host and port the HTTP client
// will connect to (http::parse_url, the same parse the client uses), so no spelling of a URL can pass the
// check and reach another server.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog::yellowdog {

inline constexpr std::string_view kDefaultAllowedUrls = "https://api.yellowdog.ai";

class AllowedUrls {
 public:
  // The default list: the public YellowDog API only.
  AllowedUrls();

  // A comma-separated list of origins `scheme://host[:port]`: scheme http or https (http only when written
  // so), host compared exactly and case-insensitively (no wildcard, no trailing-dot folding), port a
  // number or `*` for any port; absent, the scheme's default port. No path, query, user info or
  // percent-encoding. The error names the first entry that is not an origin and why.
  static Result<AllowedUrls, std::string> parse(std::string_view list);

  // nullopt when `api_url` may receive keys; otherwise why not, naming the URL and the flag (never a key).
  std::optional<std::string> refusal(std::string_view api_url) const;

  // The list as the flag gave it, without blanks ("https://api.yellowdog.ai,http://127.0.0.1:*").
  std::string to_string() const;

 private:
  struct Origin {
    std::string scheme;               // "http" | "https"
    std::string host;                 // lower case; IPv6 without brackets
    std::optional<std::string> port;  // nullopt: any port
    std::string text;                 // as the flag spelled it, for messages
  };
  std::vector<Origin> origins_;
};

}  // namespace raydog::yellowdog
