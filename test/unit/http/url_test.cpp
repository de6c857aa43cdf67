#include <doctest/doctest.h>

#include "controller/http/types.hpp"

using namespace raydog::http;

TEST_CASE("parse_url: schemes, ports, IPv6, prefixes") {
  Url u;
  REQUIRE(parse_url("http://127.0.0.1:8080", u));
  CHECK(u.scheme == "http");
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == "8080");
  CHECK(u.prefix == "");
  CHECK_FALSE(u.tls());
  CHECK(u.host_header() == "127.0.0.1:8080");

  REQUIRE(parse_url("https://api.yellowdog.ai/", u));
  CHECK(u.tls());
  CHECK(u.port == "443");
  CHECK(u.prefix == "");

  REQUIRE(parse_url("https://[::1]:6443/k8s/clusters/c1/", u));
  CHECK(u.host == "::1");
  CHECK(u.port == "6443");
  CHECK(u.prefix == "/k8s/clusters/c1");
  CHECK(u.host_header() == "[::1]:6443");

  Url untouched;
  untouched.host = "keep";
  CHECK_FALSE(parse_url("ftp://x", untouched));
  CHECK_FALSE(parse_url("http://", untouched));
  CHECK_FALSE(parse_url("http://host:0", untouched));
  CHECK_FALSE(parse_url("http://host:99999", untouched));
  CHECK_FALSE(parse_url("http://host:12a", untouched));
  CHECK_FALSE(parse_url("http://::1:80", untouched));
  CHECK_FALSE(parse_url("http://user:pw@host", untouched));
  CHECK_FALSE(parse_url("http://host/path?q=1", untouched));
  CHECK(untouched.host == "keep");
}

TEST_CASE("url_encode/url_decode round trip") {
  CHECK(url_encode("a b/c=d&e~f") == "a%20b%2Fc%3Dd%26e~f");
  CHECK(url_decode("a%20b%2Fc%3Dd%26e~f") == "a b/c=d&e~f");
  CHECK(url_decode("a+b") == "a b");
  CHECK(url_decode("100%") == "100%");
  CHECK(url_decode("%zz%4") == "%zz%4");
  const std::string all = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
    return s;
  }();
  CHECK(url_decode(url_encode(all)) == all);
}

TEST_CASE("percent_encode: unreserved characters and the caller's `keep` set stay literal") {
  CHECK(percent_encode("ydid:wr:1 2/3") == "ydid%3Awr%3A1%202%2F3");
  CHECK(percent_encode("ydid:wr:1 2/3", ":") == "ydid:wr:1%202%2F3");
  CHECK(percent_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(percent_encode(std::string_view("\xff\x00", 2)) == "%FF%00");
  CHECK(percent_encode("a b") == url_encode("a b"));
}

TEST_CASE("percent_decode: a path keeps '+', a query turns it into a space") {
  CHECK(percent_decode("a+b%2Bc") == "a+b+c");
  CHECK(percent_decode("a+b%2Bc", true) == "a b+c");
  CHECK(percent_decode("%e2%9C%93") == "\xe2\x9c\x93");  // either hex case
  CHECK(percent_decode("trailing%2") == "trailing%2");
}
