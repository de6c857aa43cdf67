// Credentials from a Secret: every failure names the Secret/key and never carries a value.
#include "controller/reconcile/credentials.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "test/support/fake_kube_api.hpp"
#include "controller/util/base64.hpp"
#include "test/support/run_coroutine.hpp"

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
  const SecretRef r = ref();
  return raydog::test::run_to_completion(io, read_credentials(api, r));
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

namespace {

Result<Credentials, CredentialsError> cached_read(CredentialsCache& cache, kube::FakeApi& api,
                                                  boost::asio::io_context& io,
                                                  CredentialsCache::Clock::time_point now) {
  const SecretRef r = ref();
  return raydog::test::run_to_completion(io, cache.read(api, r, now));
}

}  // namespace

TEST_CASE("credentials: the cache reuses keys for its ttl, forgets rejected ones, never keeps a failure") {
  boost::asio::io_context io;
  kube::FakeApi api(io.get_executor());
  CredentialsCache cache(std::chrono::minutes(5));
  const auto t0 = CredentialsCache::Clock::now();

  // A missing Secret is not remembered: the next read asks again.
  CHECK(cached_read(cache, api, io, t0).error().kind == CredentialsError::Kind::kSecretNotFound);
  CHECK(cache.size() == 0);

  api.upsert(kube::resources::kSecrets,
             secret({{"keyId", base64_encode("id-1")}, {"keySecret", base64_encode("s1")}}));
  CHECK(cached_read(cache, api, io, t0)->key_id == "id-1");
  // Rotated on the server: within the ttl the cached keys are used (no GET), after it the new ones.
  api.upsert(kube::resources::kSecrets,
             secret({{"keyId", base64_encode("id-2")}, {"keySecret", base64_encode("s2")}}));
  CHECK(cached_read(cache, api, io, t0 + std::chrono::minutes(4))->key_id == "id-1");
  CHECK(cached_read(cache, api, io, t0 + std::chrono::minutes(5))->key_id == "id-2");

  // YellowDog rejected the keys: forget() makes the next reconcile read the Secret at once.
  api.upsert(kube::resources::kSecrets,
             secret({{"keyId", base64_encode("id-3")}, {"keySecret", base64_encode("s3")}}));
  const auto t1 = t0 + std::chrono::minutes(6);
  CHECK(cached_read(cache, api, io, t1)->key_id == "id-2");
  cache.forget(ref());
  CHECK(cached_read(cache, api, io, t1)->key_id == "id-3");

  // Deleted: once the ttl is over the failure is reported, and the old keys are dropped.
  api.erase(kube::resources::kSecrets, "ns1", "yd");
  CHECK(cached_read(cache, api, io, t1 + std::chrono::minutes(1))->key_id == "id-3");
  CHECK_FALSE(cached_read(cache, api, io, t1 + std::chrono::minutes(5)).ok());
  CHECK(cache.size() == 0);

  // ttl 0: every read goes to the Secret.
  CredentialsCache uncached(std::chrono::milliseconds(0));
  CHECK_FALSE(cached_read(uncached, api, io, t1).ok());
  api.upsert(kube::resources::kSecrets,
             secret({{"keyId", base64_encode("id-4")}, {"keySecret", base64_encode("s4")}}));
  CHECK(cached_read(uncached, api, io, t1)->key_id == "id-4");
  CHECK(uncached.size() == 0);
}
