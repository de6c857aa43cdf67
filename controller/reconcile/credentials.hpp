#pragma once
// YellowDog credentials from the Kubernetes Secret named by spec.yellowdog.credentialsSecretRef, and a
// cache of YellowDog clients so a steady cluster reuses its client (and its keep-alive connections).
//
// Errors name the Secret and the key that is missing or malformed, never a value: they end up in
// conditions and Events (design §5).
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "api/types.hpp"
#include "controller/kube/rest.hpp"
#include "controller/util/result.hpp"

namespace raydog::yellowdog {
class YellowDogApi;
}

namespace raydog::reconcile {

namespace net = boost::asio;

struct Credentials {
  std::string key_id;
  std::string key_secret;
  std::string secret_namespace;
  std::string secret_name;
  std::string resource_version;  // of the Secret: a rotated Secret gets a fresh client
};

struct CredentialsError {
  enum class Kind {
    kNoSecretRef,     // spec.yellowdog.credentialsSecretRef absent (validation normally catches it)
    kSecretNotFound,  // 404 on the Secret
    kKeyMissing,      // the Secret exists but lacks the key (or it is empty)
    kKeyInvalid,      // data[key] is not base64
    kForbidden,       // 401/403 reading the Secret: the operator's RBAC
    kTransient,       // anything else (API server 5xx, transport): retry with backoff
  };
  Kind kind = Kind::kTransient;
  std::string message;  // names the Secret/key, never a value
};

// The Secret reference with defaults applied (keyId / keySecret).
struct SecretRef {
  std::string ns;
  std::string name;
  std::string key_id_key;
  std::string key_secret_key;
};
std::optional<SecretRef> secret_ref_of(const api::RayDogCluster& cluster);

// Extracts the two keys from a Secret object (data base64; stringData tolerated for servers that keep it).
Result<Credentials, CredentialsError> credentials_from_secret(const nlohmann::json& secret,
                                                              const SecretRef& ref);

// GET the Secret and extract the keys.
net::awaitable<Result<Credentials, CredentialsError>> read_credentials(kube::Api& api, SecretRef ref);

// The credentials read from each Secret, kept for `ttl` so a steady reconcile costs no Secret GET (with
// one YellowDog call, that makes a no-op reconcile a single round trip). Only successful reads are kept;
// the reconciler forgets an entry when YellowDog rejects its keys, so a rotated Secret is picked up at
// once then, and within `ttl` otherwise. ttl 0 reads the Secret on every reconcile.
class CredentialsCache {
 public:
  using Clock = std::chrono::system_clock;
  explicit CredentialsCache(std::chrono::milliseconds ttl = std::chrono::minutes(5)) : ttl_(ttl) {}

  net::awaitable<Result<Credentials, CredentialsError>> read(kube::Api& api, SecretRef ref,
                                                             Clock::time_point now);
  void forget(const SecretRef& ref);
  std::size_t size() const { return entries_.size(); }

 private:
  static std::string key_of(const SecretRef& ref);
  struct Entry {
    Credentials credentials;
    Clock::time_point read_at;
  };
  std::chrono::milliseconds ttl_;
  std::map<std::string, Entry> entries_;
};

// One YellowDog client per (apiURL, Secret namespace/name, Secret resourceVersion). A new resourceVersion
// (rotated keys) replaces the entry for that Secret+URL, so old clients do not accumulate.
class ClientCache {
 public:
  using Factory =
      std::function<std::shared_ptr<yellowdog::YellowDogApi>(const std::string& api_url, const Credentials&)>;
  explicit ClientCache(Factory factory) : factory_(std::move(factory)) {}

  std::shared_ptr<yellowdog::YellowDogApi> get(const std::string& api_url, const Credentials& creds);
  std::size_t size() const { return entries_.size(); }
  int created() const { return created_; }

 private:
  struct Entry {
    std::string resource_version;
    std::shared_ptr<yellowdog::YellowDogApi> client;
  };
  Factory factory_;
  std::map<std::tuple<std::string, std::string, std::string>, Entry> entries_;  // (url, ns, name)
  int created_ = 0;
};

}  // namespace raydog::reconcile
