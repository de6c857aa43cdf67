// --yellowdog-allowed-urls: which apiURLs may receive YellowDog keys. The tricks an attacker who may create
// a RayDogCluster would try are each refused, and the refusal names the URL and the flag.
#include "controller/yellowdog/allowed_urls.hpp"

#include <doctest/doctest.h>

using raydog::yellowdog::AllowedUrls;

namespace {
AllowedUrls list(std::string_view text) {
  auto r = AllowedUrls::parse(text);
  REQUIRE_MESSAGE(static_cast<bool>(r), (r ? std::string() : r.error()));
  return *r;
}
bool allowed(const AllowedUrls& a, std::string_view url) {
  return !a.refusal(url).has_value();
}
}  // namespace

TEST_CASE("allowed urls: the default is the public YellowDog API over https only") {
  const AllowedUrls a;
  CHECK(allowed(a, "https://api.yellowdog.ai"));
  CHECK(allowed(a, "https://api.yellowdog.ai/"));
  CHECK(allowed(a, "https://API.YellowDog.AI"));  // host compared case-insensitively
  CHECK(allowed(a, "https://api.yellowdog.ai:443"));
  CHECK_FALSE(allowed(a, "http://api.yellowdog.ai"));  // clear text only when listed
  CHECK_FALSE(allowed(a, "https://api.yellowdog.ai:8443"));
  CHECK(a.to_string() == "https://api.yellowdog.ai");
}

TEST_CASE("allowed urls: prefix, user info, percent-encoding and trailing-dot tricks are refused") {
  const AllowedUrls a;
  for (const char* url : {
           "https://api.yellowdog.ai.evil.example",     // the listed host as a prefix
           "https://api.yellowdog.ai@evil.example",     // user info: the host is evil.example
           "https://user:pw@api.yellowdog.ai",          // user info even with the right host
           "https://api%2Eyellowdog%2Eai",              // percent-encoded host
           "https://api.yellowdog.ai%2F@evil.example",  // both
           "https://api.yellowdog.ai.",                 // trailing dot: another name for the resolver
           "https://evil.example/api.yellowdog.ai",     // the listed host in the path
           "https://evil.example?https://api.yellowdog.ai",
           "https://evil.example#api.yellowdog.ai",
           "https://api.yellowdog.ai\\@evil.example",  // backslash
           "https://api.yellowdog.ai:443@evil.example",
           "https://[::1]",             // an address that is not listed
           "HTTPS://api.yellowdog.ai",  // the client does not speak this either
           "ftp://api.yellowdog.ai",
           "api.yellowdog.ai",
           "",
       }) {
    CAPTURE(url);
    CHECK_FALSE(allowed(a, url));
  }
}

TEST_CASE("allowed urls: the refusal names the URL and the flag, with the reason") {
  const AllowedUrls a;
  auto why = a.refusal("https://api.yellowdog.ai@evil.example");
  REQUIRE(why);
  CHECK(why->find("\"https://api.yellowdog.ai@evil.example\"") != std::string::npos);
  CHECK(why->find("--yellowdog-allowed-urls") != std::string::npos);
  CHECK(why->find("user info") != std::string::npos);
  why = a.refusal("http://127.0.0.1:9000");
  REQUIRE(why);
  CHECK(why->find("not listed") != std::string::npos);
  CHECK(why->find("(https://api.yellowdog.ai)") != std::string::npos);
}

TEST_CASE("allowed urls: a listed port, any port, IPv6 and several origins") {
  const AllowedUrls a =
      list(" https://yd.example.com:8443 , http://127.0.0.1:*,http://[::1]:*,https://API.example/");
  CHECK(allowed(a, "https://yd.example.com:8443/api"));
  CHECK_FALSE(allowed(a, "https://yd.example.com"));  // 443 is not 8443
  CHECK_FALSE(allowed(a, "http://yd.example.com:8443"));
  CHECK(allowed(a, "http://127.0.0.1:40123"));
  CHECK(allowed(a, "http://127.0.0.1"));
  CHECK_FALSE(allowed(a, "https://127.0.0.1:40123"));  // the scheme is part of the origin
  CHECK_FALSE(allowed(a, "http://127.0.0.2:40123"));
  CHECK(allowed(a, "http://[::1]:8080"));
  CHECK(allowed(a, "https://api.example:443"));
  CHECK(a.to_string() ==
        "https://yd.example.com:8443,http://127.0.0.1:*,http://[::1]:*,https://API.example/");
  // A YAML block scalar puts a newline (and indentation) after each comma.
  const AllowedUrls block = list("https://yd.example.com,\n  http://127.0.0.1:*\n");
  CHECK(allowed(block, "http://127.0.0.1:4000"));
  CHECK(allowed(block, "https://yd.example.com"));
}

TEST_CASE("allowed urls: a flag value that is not a list of origins is an error naming the entry") {
  for (const char* bad :
       {"", " , ", "api.yellowdog.ai", "https://api.yellowdog.ai/v1", "https://a.example:443:*",
        "https://user@a.example", "https://a%2Eexample", "https://a.example:0", "https://a.example:99999",
        "https://a.example?x=1", "https://a b.example"}) {
    CAPTURE(bad);
    auto r = AllowedUrls::parse(bad);
    REQUIRE_FALSE(static_cast<bool>(r));
    CHECK(r.error().find("--yellowdog-allowed-urls") != std::string::npos);
  }
  auto r = AllowedUrls::parse("https://ok.example,https://x.example/path");
  REQUIRE_FALSE(static_cast<bool>(r));
  CHECK(r.error().find("\"https://x.example/path\"") != std::string::npos);
  CHECK(r.error().find("without a path") != std::string::npos);
}
