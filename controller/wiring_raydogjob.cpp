// The RayDogJob controller (controller/jobs/): on by default and harmless where the RayDogJob CRD is not
// installed (its informer keeps retrying the list without failing readiness; nothing else waits for it).
#include "controller/jobs/job_controller.hpp"
#include "controller/wiring.hpp"

namespace raydog::wiring {

namespace {

namespace asio = boost::asio;

class JobKindController final : public KindController {
 public:
  JobKindController(Shared& shared, jobs::JobController::Lookup lookup)
      : head_(shared.io.get_executor(), head_options(shared.options)),
        controller_(shared.api, std::move(lookup), head_, shared.recorder) {}

  asio::awaitable<runtime::ReconcileOutcome> reconcile(std::string key) override {
    co_return co_await controller_.reconcile(std::move(key));
  }

 private:
  static jobs::HttpJobsApiOptions head_options(const cli::ControllerOptions& options) {
    jobs::HttpJobsApiOptions o;
    o.egress = options.egress;
    return o;
  }

  jobs::HttpJobsApi head_;
  jobs::JobController controller_;
};

// A RayDogCluster's change wakes the jobs that use it: the ones whose status names it (their ephemeral
// cluster, or the one their selector picked) and the selector jobs still looking for one. Only the name
// is cached: the reconcile reads the cluster itself.
Registration::Watch cluster_watch() {
  Registration::Watch w;
  w.resource = kube::resources::kRayDogClusters;
  w.transform = [](nlohmann::json& cluster) { cluster = name_only(cluster); };
  w.map = [](const std::string& key, const std::vector<std::string>& keys,
             const std::function<std::optional<nlohmann::json>(const std::string&)>& job) {
    std::vector<std::string> out;
    const std::string name = key.substr(key.find('/') + 1);
    for (const auto& k : keys) {
      const auto j = job(k);
      if (!j) continue;
      const auto status = j->value("status", nlohmann::json::object());
      const auto spec = j->value("spec", nlohmann::json::object());
      const std::string named = status.is_object() ? status.value("clusterName", "") : "";
      const bool searching = named.empty() && spec.is_object() && spec.contains("clusterSelector");
      if (named == name || searching) out.push_back(k);
    }
    return out;
  };
  return w;
}

}  // namespace

Registration raydogjob_controller() {
  Registration r;
  r.name = "raydogjob";
  r.resource = kube::resources::kRayDogJobs;
  r.crd_required = false;
  r.make = [](Shared& shared, std::function<std::optional<nlohmann::json>(const std::string&)> lookup,
              std::function<void(const std::string&)>) -> std::unique_ptr<KindController> {
    return std::make_unique<JobKindController>(shared, std::move(lookup));
  };
  r.watches.push_back(cluster_watch());
  return r;
}

}  // namespace raydog::wiring
