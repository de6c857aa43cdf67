// Credentials from a Secret: every failure names the Secret/key and never carries a value.
#include "controller/reconcile/credentials.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "controller/kube/fake_api.hpp"
#include "controller/util/base64.hpp"

using namespace raydog;
using namespace raydog::reconcile;
using nlohmann::json;

namespace {

SecretRef ref() {
  return SecretRef{"ns1", "yd", "keyId", "keySecret"};
}

json secret(json data) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"namespace", "ns1"}, {"name", "yd"}}},
          {"data", std::move(data)}};
}

// Runs read_credentials to completion on a fresh io_context.
Result<Credentials, CredentialsError> read_with(kube::FakeApi& api, boost::asio::io_context& io) {
  std::optional<Result<Credentials, CredentialsError>> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await read_credentials(api, ref())); },
      boost::asio::detached);
  io.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

}  // namespace

TEST_CASE("credentials: keys decoded from data, trailing newline trimmed") {
  auto got = credentials_from_secret(
      secret({{"keyId", base64_encode("id-1")}, {"keySecret", base64_encode("s3cr3t\n")}}), ref());
  REQUIRE(got.ok());
  CHECK(got->key_id == "id-1");
  CHECK(got->key_secret == "s3cr3t");
  CHECK(got->secret_name == "yd");
}

TEST_CASE("credentials: missing key, bad base64, empty key are named without values") {
  auto missing = credentials_from_secret(secret({{"keyId", base64_encode("id-1")}}), ref());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == CredentialsError::Kind::kKeyMissing);
  CHECK(missing.error().message == "Secret ns1/yd has no key keySecret");

  auto bad = credentials_from_secret(
      secret({{"keyId", "!!!notbase64"}, {"keySecret", base64_encode("hunter2")}}), ref());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == CredentialsError::Kind::kKeyInvalid);
  CHECK(bad.error().message.find("keyId") != std::string::npos);
  CHECK(bad.error().message.find("notbase64") == std::string::npos);

  auto empty =
      credentials_from_secret(secret({{"keyId", ""}, {"keySecret", base64_encode("hunter2")}}), ref());
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == CredentialsError::Kind::kKeyMissing);
  CHECK(empty.error().message.find("hunter2") == std::string::npos);
}

TEST_CASE("credentials: read through the API, 404 names the Secret") {
  boost::asio::io_context io;
  kube::FakeApi api(io.get_executor());
  auto none = read_with(api, io);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == CredentialsError::Kind::kSecretNotFound);
  CHECK(none.error().message == "Secret ns1/yd not found");

  api.upsert(kube::resources::kSecrets,
             secret({{"keyId", base64_encode("id-9")}, {"keySecret", base64_encode("topsecret")}}));
  io.restart();
  auto got = read_with(api, io);
  REQUIRE(got.ok());
  CHECK(got->key_id == "id-9");
  CHECK_FALSE(got->resource_version.empty());
}

TEST_CASE("credentials: secret_ref_of applies the default key names") {
  api::RayDogCluster c;
  c.metadata.name = "x";
  c.metadata.namespace_name = "team";
  CHECK_FALSE(secret_ref_of(c).has_value());
  c.spec.yellowdog = api::YellowDogSpec{};
  c.spec.yellowdog->credentials_secret_ref = api::CredentialsSecretRef{"creds", std::nullopt, "sec"};
  auto r = secret_ref_of(c);
  REQUIRE(r.has_value());
  CHECK(r->ns == "team");
  CHECK(r->key_id_key == "keyId");
  CHECK(r->key_secret_key == "sec");
}

TEST_CASE("credentials: client cache reuses per Secret and replaces on rotation") {
  // Distinct non-null handles; the cache never dereferences them.
  static int slots[8];
  int made = 0;
  ClientCache cache([&](const std::string&, const Credentials&) {
    auto* p = reinterpret_cast<yellowdog::YellowDogApi*>(&slots[made++]);
    return std::shared_ptr<yellowdog::YellowDogApi>(std::shared_ptr<void>(), p);
  });
  Credentials c{"id", "s", "ns", "yd", "10"};
  auto a = cache.get("https://a", c);
  CHECK(cache.get("https://a", c) == a);
  CHECK(made == 1);
  c.resource_version = "11";  // rotated Secret
  auto b = cache.get("https://a", c);
  CHECK(b != a);
  CHECK(cache.size() == 1);
  cache.get("https://b", c);  // another API URL
  CHECK(made == 3);
  CHECK(cache.size() == 2);
}
