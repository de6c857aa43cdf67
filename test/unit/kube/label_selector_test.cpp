// Label selectors as the API server parses them (--shard-selector): grammar, errors, matching and the
// normalized text the shard's Lease is named after.
#include "controller/kube/label_selector.hpp"

#include <doctest/doctest.h>

using raydog::kube::LabelSelector;

namespace {

std::string normalized(const std::string& text) {
  auto s = LabelSelector::parse(text);
  REQUIRE_MESSAGE(s.ok(), text << ": " << (s.ok() ? "" : s.error()));
  return s->normalized();
}

std::string error_of(const std::string& text) {
  auto s = LabelSelector::parse(text);
  REQUIRE_MESSAGE(!s.ok(), text << " parsed as " << (s.ok() ? s->normalized() : ""));
  return s.error();
}

bool matches(const std::string& text, const std::map<std::string, std::string>& labels) {
  auto s = LabelSelector::parse(text);
  REQUIRE(s.ok());
  return s->matches(labels);
}

}  // namespace

TEST_CASE("label selector: every operator, normalized as apimachinery prints it") {
  CHECK(normalized("raydog.io/shard=a") == "raydog.io/shard=a");
  CHECK(normalized(" raydog.io/shard == a ") == "raydog.io/shard=a");  // == is =: the same Lease
  CHECK(normalized("raydog.io/shard!=a") == "raydog.io/shard!=a");
  CHECK(normalized("!raydog.io/shard") == "!raydog.io/shard");
  CHECK(normalized("raydog.io/shard") == "raydog.io/shard");
  CHECK(normalized("raydog.io/shard in (b, a,b)") == "raydog.io/shard in (a,b)");
  CHECK(normalized("raydog.io/shard notin (c)") == "raydog.io/shard notin (c)");
  CHECK(normalized("tier>2,tier<10") == "tier>2,tier<10");
  CHECK(normalized("z=1,a=2") == "a=2,z=1");  // sorted by key
  CHECK(normalized("env=") == "env=");        // an empty value
  CHECK(normalized("x=in") == "x=in");        // a keyword is a plain value after an operator
  CHECK(normalized("") == "");
  CHECK(normalized("   ") == "");
  // The normalized text parses to itself.
  for (const auto* text : {"b in (y,x),!a,c!=1", "k in (,a)", "raydog.io/shard=a"})
    CHECK(normalized(normalized(text)) == normalized(text));
}

TEST_CASE("label selector: errors say what was found where") {
  CHECK(error_of("a=(") == "unable to parse requirement: found '(', expected: identifier");
  CHECK(error_of("a in b") == "unable to parse requirement: found 'b', expected: '('");
  CHECK(error_of("a in ()") ==
        "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty");
  CHECK(error_of("a in (x y)").find("found 'y'") != std::string::npos);
  CHECK(error_of("a b") ==
        "unable to parse requirement: found 'b', expected: one of =, ==, !=, in, notin, >, <");
  CHECK(error_of("a=b,") ==
        "unable to parse requirement: found 'end of string', expected: identifier after ','");
  CHECK(error_of(",a") == "unable to parse requirement: found ',', expected: identifier");
  CHECK(error_of("!a=b").find("found '='") != std::string::npos);
  CHECK(error_of("a>x").find("must be an integer") != std::string::npos);
  CHECK(error_of("-a=b").find("invalid label key \"-a\"") != std::string::npos);
  CHECK(error_of("Raydog.IO/shard=a").find("prefix must be a DNS subdomain") != std::string::npos);
  CHECK(error_of("a=" + std::string(64, 'v')).find("invalid label value") != std::string::npos);
  CHECK(error_of("a=b c").find("found 'c'") != std::string::npos);
}

TEST_CASE("label selector: matching as the API server filters") {
  const std::map<std::string, std::string> a = {{"raydog.io/shard", "a"}, {"tier", "3"}};
  const std::map<std::string, std::string> none;
  CHECK(matches("raydog.io/shard=a", a));
  CHECK_FALSE(matches("raydog.io/shard=a", none));
  CHECK_FALSE(matches("raydog.io/shard=b", a));
  CHECK(matches("raydog.io/shard!=b", a));
  CHECK(matches("raydog.io/shard!=b", none));  // != and notin hold when the label is absent
  CHECK(matches("raydog.io/shard notin (b)", none));
  CHECK(matches("raydog.io/shard in (a,b)", a));
  CHECK(matches("!raydog.io/shard", none));
  CHECK_FALSE(matches("!raydog.io/shard", a));
  CHECK(matches("raydog.io/shard", a));
  CHECK(matches("tier>2,tier<4", a));
  CHECK_FALSE(matches("tier>3", a));
  CHECK_FALSE(matches("tier>0", none));
  CHECK(matches("", none));
  CHECK_FALSE(matches("raydog.io/shard=a,tier=4", a));  // every requirement must hold
}
