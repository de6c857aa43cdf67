#include "controller/reconcile/credentials.hpp"

#include "api/defaults.hpp"
#include "controller/util/base64.hpp"

namespace raydog::reconcile {

namespace {

std::string secret_label(const SecretRef& ref) {
  return "Secret " + ref.ns + "/" + ref.name;
}

// The value of `key`, from data (base64) or, failing that, stringData (plain).
Result<std::string, CredentialsError> key_value(const nlohmann::json& secret, const SecretRef& ref,
                                                const std::string& key) {
  using K = CredentialsError::Kind;
  auto data = secret.find("data");
  if (data != secret.end() && data->is_object()) {
    auto it = data->find(key);
    if (it != data->end() && it->is_string()) {
      auto decoded = base64_decode(it->get<std::string>());
      if (!decoded)
        return unexpected(
            CredentialsError{K::kKeyInvalid, secret_label(ref) + ": key " + key + " is not valid base64"});
      if (decoded->empty())
        return unexpected(CredentialsError{K::kKeyMissing, secret_label(ref) + ": key " + key + " is empty"});
      return *decoded;
    }
  }
  auto sdata = secret.find("stringData");
  if (sdata != secret.end() && sdata->is_object()) {
    auto it = sdata->find(key);
    if (it != sdata->end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  }
  return unexpected(CredentialsError{K::kKeyMissing, secret_label(ref) + " has no key " + key});
}

// Trailing newlines are a classic of `echo secret | base64`: strip them, they are never part of a key.
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::optional<SecretRef> secret_ref_of(const api::RayDogCluster& cluster) {
  const auto& yd = cluster.spec.yellowdog;
  if (!yd || !yd->credentials_secret_ref || yd->credentials_secret_ref->name.empty()) return std::nullopt;
  const auto& r = *yd->credentials_secret_ref;
  SecretRef out;
  out.ns = cluster.metadata.namespace_name.value_or("default");
  out.name = r.name;
  out.key_id_key = r.key_id_key.value_or(std::string(api::kDefaultKeyIdKey));
  out.key_secret_key = r.key_secret_key.value_or(std::string(api::kDefaultKeySecretKey));
  return out;
}

Result<Credentials, CredentialsError> credentials_from_secret(const nlohmann::json& secret,
                                                              const SecretRef& ref) {
  auto id = key_value(secret, ref, ref.key_id_key);
  if (!id) return unexpected(std::move(id.error()));
  auto sec = key_value(secret, ref, ref.key_secret_key);
  if (!sec) return unexpected(std::move(sec.error()));
  Credentials c;
  c.key_id = trim(std::move(*id));
  c.key_secret = trim(std::move(*sec));
  c.secret_namespace = ref.ns;
  c.secret_name = ref.name;
  c.resource_version = kube::resource_version_of(secret);
  return c;
}

net::awaitable<Result<Credentials, CredentialsError>> read_credentials(kube::Api& api, SecretRef ref) {
  using K = CredentialsError::Kind;
  const std::string no_subresource;  // named: GCC 12 mishandles class prvalues passed into coroutines
  auto got = co_await api.get(kube::resources::kSecrets, ref.ns, ref.name, no_subresource);
  if (!got) {
    const auto& e = got.error();
    if (e.is(kube::ApiError::Kind::kNotFound))
      co_return unexpected(CredentialsError{K::kSecretNotFound, secret_label(ref) + " not found"});
    if (e.is(kube::ApiError::Kind::kForbidden) || e.is(kube::ApiError::Kind::kUnauthorized))
      co_return unexpected(
          CredentialsError{K::kForbidden, "reading " + secret_label(ref) + ": " + e.describe()});
    co_return unexpected(
        CredentialsError{K::kTransient, "reading " + secret_label(ref) + ": " + e.describe()});
  }
  co_return credentials_from_secret(*got, ref);
}

std::string CredentialsCache::key_of(const SecretRef& ref) {
  return ref.ns + "/" + ref.name + "/" + ref.key_id_key + "/" + ref.key_secret_key;
}

net::awaitable<Result<Credentials, CredentialsError>> CredentialsCache::read(kube::Api& api, SecretRef ref,
                                                                             Clock::time_point now) {
  const std::string key = key_of(ref);
  if (ttl_.count() > 0)
    if (auto it = entries_.find(key); it != entries_.end() && now - it->second.read_at < ttl_)
      co_return it->second.credentials;
  auto got = co_await read_credentials(api, ref);
  if (got) {
    // Bounded: thousands of distinct Secrets would only cost re-reads, never memory growth.
    if (entries_.size() >= 10000 && !entries_.count(key)) entries_.clear();
    if (ttl_.count() > 0) entries_[key] = Entry{*got, now};
  } else {
    entries_.erase(key);  // gone or unreadable now: say so, do not fall back on an old copy
  }
  co_return got;
}

void CredentialsCache::forget(const SecretRef& ref) {
  entries_.erase(key_of(ref));
}

std::shared_ptr<yellowdog::YellowDogApi> ClientCache::get(const std::string& api_url,
                                                          const Credentials& creds) {
  auto key = std::make_tuple(api_url, creds.secret_namespace, creds.secret_name);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.resource_version == creds.resource_version && it->second.client)
    return it->second.client;
  auto client = factory_(api_url, creds);
  ++created_;
  entries_[key] = Entry{creds.resource_version, client};
  return client;
}

}  // namespace raydog::reconcile
