#pragma once
// List + watch with a local cache (kube-api-wire.md §14.3): list (following continue), then watch from the
// list's resourceVersion with bookmarks and a random timeoutSeconds in [300, 600); a clean stream end
// re-watches from the last RV seen; 410 Expired (HTTP or ERROR event) relists and diffs the old cache
// against the new list so vanished objects get exactly one synthesized DELETED; other errors back off
// (exponential with jitter) and retry.
//
// Runs on the io thread; handlers are called there with the object's key ("namespace/name"). The cache is
// guarded by a mutex so snapshots may also be taken from other threads (health checks, tests).
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "controller/kube/rest.hpp"
#include "controller/runtime/log.hpp"
#include "controller/util/gzip.hpp"

namespace raydog::kube {

struct InformerOptions {
  ResourceRef resource;
  std::string ns;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  std::chrono::seconds min_watch_timeout{300};  // timeoutSeconds is random in [min, max)
  std::chrono::seconds max_watch_timeout{600};
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  // Applied to every object before it is cached (controller-runtime's cache TransformFunc), e.g. to drop
  // fields the controller never reads. Runs on the io thread.
  std::function<void(json&)> transform;
};

// A transform for `InformerOptions::transform`: drops metadata.managedFields and the
// kubectl.kubernetes.io/last-applied-configuration annotation (on a real cluster they are often more than
// half of an object's size, and a controller reads neither).
void strip_managed_fields(json& object);

// kStatusUpdated: an update that changed only `status` (and metadata.resourceVersion/managedFields), such as
// the echo of a controller's own status write. Controllers usually skip it (controller-runtime users do the
// same with GenerationChangedPredicate); a change to spec, labels, annotations, finalizers or
// deletionTimestamp is kUpdated.
enum class InformerEvent { kAdded, kUpdated, kStatusUpdated, kDeleted };
const char* to_string(InformerEvent e);

class Informer {
 public:
  using Handler = std::function<void(InformerEvent, const std::string& key)>;

  Informer(net::any_io_executor ex, Api& api, InformerOptions options);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Register before start(). Called on the io thread.
  void add_handler(Handler handler);
  void on_synced(std::function<void()> callback);

  // Spawns run() on the executor. The informer must outlive it: stop() and let the io_context drain.
  void start();
  // The list/watch loop; returns after stop().
  net::awaitable<void> run();
  // Ends the loop promptly (closes the watch, cancels a backoff sleep). Idempotent.
  void stop();
  bool running() const { return running_; }

  bool has_synced() const;
  std::optional<json> get(const std::string& key) const;
  std::map<std::string, json> snapshot() const;
  // Every key, or only those of namespace `ns` ("namespace/name" keys) when it is given.
  std::vector<std::string> keys(std::string_view ns = {}) const;
  std::size_t size() const;

  // Counters for tests and logs.
  struct Stats {
    int lists = 0;
    int relists_after_gone = 0;
    int watches = 0;
    int watch_errors = 0;
    int events = 0;
    int bookmarks = 0;
  };
  Stats stats() const { return stats_; }
  std::string last_resource_version() const { return rv_; }

 private:
  net::awaitable<bool> list_and_replace();
  net::awaitable<void> watch_once();
  net::awaitable<void> sleep(std::chrono::milliseconds d);
  std::chrono::milliseconds next_backoff();
  void apply(const std::string& type, json object);
  void notify(InformerEvent e, const std::string& key);

  struct Shared;
  net::any_io_executor ex_;
  Api& api_;
  InformerOptions options_;
  log::Logger log_;
  std::vector<Handler> handlers_;
  std::vector<std::function<void()>> synced_callbacks_;

  // Objects are kept serialized: a parsed nlohmann::json costs several times its text (a map node and a
  // string per field), and get() hands out a copy anyway. 1,000 RayDogClusters: ~20 MB less RSS. The text
  // is kept gzipped where that pays (util/gzip.hpp Gzipped): a RayDogCluster's ~4 KB of JSON (most of it
  // status: conditions, pools, endpoints) in ~1 KB, for a level-1 deflate per update and an inflate per
  // get() beside the JSON parse get() does anyway; a ConfigMap reduced to its name stays as it is.
  struct Cached {
    std::string resource_version;
    Gzipped body;              // compact JSON
    std::size_t non_status{};  // hash of everything but status, resourceVersion and managedFields
  };
  static json body_of(const Cached& cached);
  // UPDATED or STATUS_UPDATED, comparing what changed between the old and the new cached object.
  static InformerEvent update_kind(const Cached& before, const Cached& after);
  static Cached cached_of(const json& object);
  mutable std::mutex mu_;
  std::map<std::string, Cached> cache_;
  bool synced_ = false;
  bool not_served_said_ = false;  // a 404 list (CRD not installed) is said once, not at every retry

  std::string rv_;
  bool need_list_ = true;
  bool stopped_ = false;
  bool running_ = false;
  std::chrono::milliseconds backoff_{0};
  std::mt19937 rng_;
  std::shared_ptr<Shared> shared_;  // the open watch and the sleep timer, for stop()
  Stats stats_;
};

}  // namespace raydog::kube
