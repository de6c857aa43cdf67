#pragma once
// The typed Kubernetes REST surface the controller uses, as an abstract interface: RestClient
// (rest_client.hpp) speaks HTTP to a real server, FakeApi (test/support/fake_kube_api.hpp) keeps objects in memory so the
// informer, leader election, events and the reconciler are tested without sockets.
//
// Objects are nlohmann::json (the wire shape); any group/version/resource is addressed by a ResourceRef.
// Every call returns a Result: Status errors are decoded into ApiError kinds (NotFound, Conflict, ...).
// Coroutine parameters are taken by value so a caller's temporaries cannot dangle.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog::kube {

namespace net = boost::asio;
using nlohmann::json;

struct ResourceRef {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  bool namespaced = true;
  std::string kind;  // fills in apiVersion/kind on create bodies that lack them

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "raydogclusters.raydog.io" / "events": how Status messages name the resource.
  std::string qualified() const { return group.empty() ? plural : plural + "." + group; }
};

namespace resources {
inline const ResourceRef kRayDogClusters{"raydog.io", "v1alpha1", "raydogclusters", true, "RayDogCluster"};
inline const ResourceRef kRayDogJobs{"raydog.io", "v1alpha1", "raydogjobs", true, "RayDogJob"};
inline const ResourceRef kLeases{"coordination.k8s.io", "v1", "leases", true, "Lease"};
inline const ResourceRef kEvents{"", "v1", "events", true, "Event"};
inline const ResourceRef kSecrets{"", "v1", "secrets", true, "Secret"};
inline const ResourceRef kConfigMaps{"", "v1", "configmaps", true, "ConfigMap"};
inline const ResourceRef kNamespaces{"", "v1", "namespaces", false, "Namespace"};
}  // namespace resources

struct StatusCause {
  std::string type;  // "FieldValueInvalid", "FieldManagerConflict", ...
  std::string message;
  std::string field;
};

struct ApiError {
  enum class Kind {
    kNotFound,              // 404
    kConflict,              // 409 Conflict (stale resourceVersion, SSA conflict)
    kAlreadyExists,         // 409 AlreadyExists
    kInvalid,               // 422, with causes
    kGone,                  // 410 Expired (watch/continue too old)
    kUnauthorized,          // 401 (also: credentials could not be obtained)
    kForbidden,             // 403
    kTooManyRequests,       // 429
    kBadRequest,            // 400
    kMethodNotAllowed,      // 405
    kUnsupportedMediaType,  // 415
    kTimeout,               // 504 Timeout / 408
    kServerError,           // other 5xx
    kTransport,             // nothing (complete) received: connect, TLS, timeout, closed
    kDecode,                // a 2xx body that is not the JSON we expected
    kOther,                 // any other status
  };
  Kind kind = Kind::kOther;
  int code = 0;         // HTTP status; 0 for transport/decode
  std::string reason;   // Status.reason as sent ("NotFound", ...)
  std::string message;  // Status.message or a transport description; never credentials
  std::vector<StatusCause> causes;
  std::optional<std::chrono::seconds> retry_after;

  bool is(Kind k) const { return kind == k; }
  // "NotFound (404): raydogclusters.raydog.io \"x\" not found"
  std::string describe() const;
};
const char* to_string(ApiError::Kind kind);

// Decodes a non-2xx response (body should be a Status; anything else is described by its code).
ApiError decode_status(int code, std::string_view body, std::string_view retry_after_header = {});
// Decodes a Status object (a watch ERROR event's object).
ApiError status_to_error(const json& status);

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 0;  // 0: no limit
  std::string continue_token;
  std::string resource_version;  // "" (latest, quorum) or "0" (any)
  std::string resource_version_match;
};

struct ObjectList {
  std::vector<json> items;
  std::string resource_version;  // where a watch starts
  std::string continue_token;    // non-empty: more pages
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this RV ("" or "0": synthetic ADDED for existing objects)
  bool allow_bookmarks = true;
  std::chrono::seconds timeout{0};  // server-side timeoutSeconds; 0: none
};

struct WatchEvent {
  std::string type;  // ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
  json object;
};

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event; nullopt when the server ended the stream cleanly; an error for transport trouble or
  // a malformed line. ERROR events are returned as events (the informer decodes them).
  virtual net::awaitable<Result<std::optional<WatchEvent>, ApiError>> next() = 0;
  virtual void close() = 0;
};

enum class PatchType { kMerge, kJson, kApply, kStrategic };
const char* content_type(PatchType type);

struct WriteOptions {
  std::string field_manager;  // required for kApply
  bool force = false;         // kApply only
  bool dry_run = false;
};

struct DeleteOptions {
  std::string propagation_policy;  // "Background" | "Foreground" | "Orphan" | "" (server default)
  std::string precondition_uid;
  std::string precondition_resource_version;
};

class Api {
 public:
  virtual ~Api() = default;
  // `subresource` is "" or "status" (or "scale").
  virtual net::awaitable<Result<json, ApiError>> get(ResourceRef ref, std::string ns, std::string name,
                                                     std::string subresource) = 0;
  // One page; see list_all for following continue tokens.
  virtual net::awaitable<Result<ObjectList, ApiError>> list(ResourceRef ref, std::string ns,
                                                            ListOptions options) = 0;
  virtual net::awaitable<Result<json, ApiError>> create(ResourceRef ref, std::string ns, json object,
                                                        WriteOptions options) = 0;
  // PUT; namespace and name come from object.metadata; the object should carry metadata.resourceVersion.
  virtual net::awaitable<Result<json, ApiError>> update(ResourceRef ref, json object, std::string subresource,
                                                        WriteOptions options) = 0;
  virtual net::awaitable<Result<json, ApiError>> patch(ResourceRef ref, std::string ns, std::string name,
                                                       PatchType type, json patch, std::string subresource,
                                                       WriteOptions options) = 0;
  // The server's answer (the object while finalizers hold it, or a Status).
  virtual net::awaitable<Result<json, ApiError>> remove(ResourceRef ref, std::string ns, std::string name,
                                                        DeleteOptions options) = 0;
  virtual net::awaitable<Result<std::unique_ptr<WatchStream>, ApiError>> watch(ResourceRef ref,
                                                                               std::string ns,
                                                                               WatchOptions options) = 0;
};

// Lists every page (following continue tokens); the RV is the first page's.
net::awaitable<Result<ObjectList, ApiError>> list_all(Api& api, ResourceRef ref, std::string ns,
                                                      ListOptions options);

// URL building, shared by RestClient and tests: "/apis/G/V/namespaces/NS/PLURAL/NAME/SUB" ("/api/v1/..." for
// core). Empty ns on a namespaced resource addresses all namespaces (collections only).
std::string resource_path(const ResourceRef& ref, const std::string& ns, const std::string& name = "",
                          const std::string& subresource = "");
std::string list_query(const ListOptions& options);
std::string watch_query(const WatchOptions& options);

// "namespace/name" (or "name" for cluster-scoped objects): the informer and work-queue key.
std::string object_key(const json& object);
std::string make_key(const std::string& ns, const std::string& name);
// metadata.resourceVersion or "".
std::string resource_version_of(const json& object);

}  // namespace raydog::kube
