#pragma once
// What observe_test.cpp and act_test.cpp share: one cluster stored in the fake Kubernetes API, the
// in-memory YellowDog, an event sink that records, and observe/act run to completion on a private
// io_context. converge() drives observe -> plan -> act -> status like the reconciler does (without its
// caches), moving the platform on between rounds, until plan has nothing left to change.
//
// Each test names its cluster differently: observe remembers a cluster's pools per process (its pool
// index), and doctest may run every case in one process.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "api/json.hpp"
#include "controller/reconcile/act.hpp"
#include "controller/reconcile/observe.hpp"
#include "test/support/fake_kube_api.hpp"
#include "test/support/run_coroutine.hpp"
#include "test/unit/reconcile/in_memory_yellowdog.hpp"
#include "test/unit/reconcile/world.hpp"

namespace raydog::reconcile::testing {

struct RecordedEvent {
  std::string type, reason, message;
};

class RecordingEvents final : public EventSink {
 public:
  void emit(const api::RayDogCluster&, const std::string& type, const std::string& reason,
            const std::string& message) override {
    events.push_back({type, reason, message});
  }
  std::size_t count(std::string_view reason) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.reason == reason;
    return n;
  }
  std::vector<RecordedEvent> events;
};

struct IoFixture {
  boost::asio::io_context io;
  InMemoryYellowDog yd;
  kube::FakeApi kube{io.get_executor()};
  RecordingEvents events;
  api::RayDogCluster cluster;

  // sample_cluster() (world.hpp) renamed, with our finalizer, stored in the fake API server.
  explicit IoFixture(const std::string& name) {
    kube.set_status_subresource(kube::resources::kRayDogClusters, true);
    cluster = sample_cluster();
    cluster.metadata.name = name;
    cluster.metadata.uid =
        "6f1c2b9e-0000-4000-8000-" + std::to_string(std::hash<std::string>{}(name) % 1000000000000);
    cluster.metadata.finalizers = std::vector<std::string>{std::string(kFinalizer)};
    store();
  }

  // Writes `cluster` to the API server and takes the resourceVersion it got (as the informer would).
  void store() {
    nlohmann::json object = cluster;
    object["metadata"].erase("resourceVersion");
    auto stored = kube.upsert(kube::resources::kRayDogClusters, std::move(object));
    cluster.metadata.resource_version = kube::resource_version_of(stored);
  }
  nlohmann::json stored() const {
    auto o = kube.object(kube::resources::kRayDogClusters, ns(), cluster.metadata.name);
    REQUIRE(o.has_value());
    return *o;
  }
  std::string ns() const { return cluster.metadata.namespace_name.value_or("default"); }
  ClusterNames names() const { return names_for(cluster, incarnation_from_status(cluster)); }

  // What the reconciler hands observe: the cluster, usable credentials, the incarnation from status.
  Observed fresh() const {
    Observed o;
    o.cluster = cluster;
    o.credentials.state = CredentialsState::kOk;
    o.incarnation = incarnation_from_status(cluster);
    return o;
  }

  ObserveStats observe(Observed& o, const ObserveHints& hints = {}) {
    return test::run_to_completion(io, observe_yellowdog(yd, o, hints));
  }

  void read_sources(Observed& o) { test::run_to_completion(io, sources_of(kube, o)); }
  static net::awaitable<bool> sources_of(kube::Api& api, Observed& o) {
    co_await observe_sources(api, o);
    co_return true;  // run_to_completion wants a value
  }

  // The one place that builds an ActContext. `observed` is act's view of what observe saw (it resolves
  // a task group created earlier in the same list from it, and remembers provisioned pools for it).
  ActResult act(const Actions& actions, const Observed* observed = nullptr, bool with_yellowdog = true) {
    ActContext ctx{.kube = kube,
                   .yd = with_yellowdog ? &yd : nullptr,
                   .events = &events,
                   .log = log::Logger(),
                   .cluster = &cluster,
                   .observed = observed};
    Actions list = actions;
    return test::run_to_completion(io, reconcile::act(ctx, std::move(list)));
  }

  // observe -> plan -> act -> status until plan only waits; returns the last (steady) observation.
  Observed converge() {
    for (int round = 0; round < 10; ++round) {
      Observed o = fresh();
      observe(o);
      REQUIRE_FALSE(o.observe_error.has_value());
      Actions actions = plan(o, t0());
      if (mutations(actions) == 0) return o;
      ActResult acted = act(actions, &o);
      REQUIRE_FALSE(acted.outcome.error.has_value());
      cluster.status = compute_status(o, acted.outcome, cluster.status, t0());
      store();
      yd.advance();
    }
    FAIL("did not converge in 10 rounds");
    return fresh();
  }
};

}  // namespace raydog::reconcile::testing
