#pragma once
// The operator process: which controllers run, with which extensions, on one shared runtime (design §2:
// one io_context thread). Every controller gets its own informer, work queue and coroutine workers; they
// share the Kubernetes client, the Event recorder, leader election (one Lease gates all workers),
// /healthz + /readyz, /metrics and the SIGTERM drain. controller/README.md draws it.
//
// Adding a controller for another resource kind (RayDogJob, say) is one more Registration in
// registrations() (wiring.cpp); adding an extension to the RayDogCluster loop is one more entry in
// raydogcluster_controller() (wiring_raydogcluster.cpp).
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "controller/kube/events.hpp"
#include "controller/kube/rest.hpp"
#include "controller/options.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/metrics.hpp"

namespace raydog::wiring {

// What every controller of the process shares. Lives for the whole run.
struct Shared {
  boost::asio::io_context& io;
  kube::Api& api;
  kube::EventRecorder& recorder;
  runtime::Metrics& metrics;
  const cli::ControllerOptions& options;
};

// One resource kind's reconcile, as the shared runtime calls it (one key at a time per key).
class KindController {
 public:
  virtual ~KindController() = default;
  virtual boost::asio::awaitable<runtime::ReconcileOutcome> reconcile(std::string key) = 0;
};

// One controller of the process.
struct Registration {
  std::string name;  // the `controller` label of its metrics, its queue's name
  kube::ResourceRef resource;
  // The /readyz check that fails until its informer listed once, and its message.
  std::string readyz_check;
  std::string not_synced_message;
  // False for a kind whose CRD may not be installed: its informer keeps retrying the list (with backoff)
  // without failing readiness, and its workers start only once it has listed. Nothing else waits for it.
  bool crd_required = true;
  // Other kinds whose changes reconcile objects of this one (controller-runtime's Watches with
  // EnqueueRequestsFromMapFunc). Each gets its own informer, which caches only what `transform` keeps.
  struct Watch {
    kube::ResourceRef resource;
    std::function<void(nlohmann::json&)> transform;
    // The keys of this kind to reconcile when the watched object `key` changed; `primary` is this kind's
    // cache (key -> object, nullopt when gone) and `keys` its keys in the watched object's namespace.
    std::function<std::vector<std::string>(
        const std::string& key, const std::vector<std::string>& keys,
        const std::function<std::optional<nlohmann::json>(const std::string&)>& primary)>
        map;
  };
  std::vector<Watch> watches;
  // Builds the controller on the shared runtime; `lookup` reads an object by key from its informer cache,
  // `wake` puts a key on its work queue (a source of changes besides the informer: the YellowDog
  // observer; a no-op while this process does not reconcile).
  std::function<std::unique_ptr<KindController>(
      Shared&, std::function<std::optional<nlohmann::json>(const std::string&)> lookup,
      std::function<void(const std::string&)> wake)>
      make;
};

// A watched object cut to what a map needs to be told it changed (metadata.name and resourceVersion);
// the key is taken before the transform. Watches of kinds the reconcile reads itself cache only this.
nlohmann::json name_only(const nlohmann::json& object);

// The RayDogCluster controller with its extensions (DALiuGE membership).
Registration raydogcluster_controller();
// The RayDogJob controller (controller/jobs/).
Registration raydogjob_controller();

// Runs until SIGTERM/SIGINT (exit 0 after a graceful drain) or a fatal error (non-zero; lost leadership
// exits 1 so the pod restarts as a follower, as controller-runtime does).
int run_controller(const cli::ControllerOptions& options);

}  // namespace raydog::wiring
