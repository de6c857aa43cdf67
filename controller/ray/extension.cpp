#include "controller/ray/extension.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/asio/this_coro.hpp>

#include "api/conditions.hpp"
#include "api/defaults.hpp"
#include "controller/ray/channel_thread.hpp"
#include "controller/ray/dashboard.hpp"
#include "controller/ray/early_read.hpp"
#include "controller/ray/head_client.hpp"
#include "controller/ray/ray_status.hpp"
#include "controller/ray/ray_view.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/util/strings.hpp"
#include "controller/util/time.hpp"

namespace raydog::ray {

namespace net = boost::asio;
namespace yd = yellowdog;

struct RayExtension::Metrics {
  prometheus::Counter* gcs_calls = nullptr;
  prometheus::Counter* drains_accepted = nullptr;
  prometheus::Counter* drains_rejected = nullptr;
  prometheus::Counter* drains_failed = nullptr;
  prometheus::Counter* suppressed = nullptr;
  prometheus::Counter* prefetch_used = nullptr;
  prometheus::Counter* prefetch_dropped = nullptr;
};

namespace {

void bump(prometheus::Counter* c, double n = 1) {
  if (c && n > 0) c->Increment(n);
}

// One reconcile of one cluster with the Ray view.
class Pass final : public reconcile::ExtensionPass {
 public:
  Pass(RayExtension& ext, api::HeadAccess access, RayPolicy policy)
      : ext_(ext), access_(access), policy_(policy) {}
  ~Pass() override {
    if (published_) ext_.publish(*published_, nullptr);
    dispose_on_channel_thread(std::move(client_));  // not on the io thread
  }

  // The head's GCS at the address of the previous reconcile, read while YellowDog is (early_read.hpp).
  // A steady reconcile usually finds it made already, just before it was due (prefetch.hpp).
  net::awaitable<void> start_reads(const reconcile::ReconcileScope& scope) override {
    ex_ = co_await net::this_coro::executor;
    const HeadMemory* m = ext_.find_memory(scope.key);
    if (!m || m->head_task.empty() || m->address.empty()) {
      ext_.prefetch().forget(scope.key);
      co_return;
    }
    early_ = ext_.prefetch().take(scope.key, m->head_task, m->address);
    if (early_) co_return;
    count_calls(m->cluster_id.empty() ? 2 : 1);  // made, whether observe() takes the answer or not
    early_ = EarlyRead::start(*ex_, m->head_task, m->address, client_options(m->cluster_id));
  }

  net::awaitable<void> observe(const reconcile::ReconcileScope& scope, const reconcile::Observed& observed) override {
    yellowdog_read_ = true;
    converging_ = observed.options.requeue_converging;
    view_ = reconcile::view(observed, scope.now);
    const yd::Task* head = view_->head_task;
    if (!head || !head->id || !reconcile::is_executing(*head)) co_return;
    HeadMemory& m = remember_head(scope, *head->id);
    const std::optional<std::string>& ip = access_ == api::HeadAccess::kPublic ? view_->head_public_ip : view_->head_ip;
    read_.attempted = true;
    if (!ip) {
      read_.address = "(none)";
      read_.error = HeadError{HeadError::Kind::kUnreachable,
                              std::string("the head has no ") +
                                  (access_ == api::HeadAccess::kPublic ? "public IP (spec.headAccess Public)"
                                                                       : "private IP yet")};
      failed(scope, m);
      co_return;
    }
    const RayExtensionOptions& opt = ext_.options();
    read_.address = *ip + ":" + std::to_string(opt.gcs_port);
    if (m.address != read_.address) {
      m.address = read_.address;
      m.cluster_id.clear();  // a cluster id belongs to one GCS
    }
    const auto ex = co_await net::this_coro::executor;
    std::optional<Result<ClusterState, HeadError>> answer;
    if (early_) {
      if (early_->head_task() == *head->id && early_->address() == read_.address) {
        answer = co_await early_->result();
        m.cluster_id = early_->cluster_id();
      }
      early_.reset();  // not taken: the head moved; the read ends on its own
    }
    if (!answer) {
      client_ = std::make_unique<HeadClient>(ex, read_.address, client_options(m.cluster_id));
      answer = co_await client_->cluster_state();
      count_calls(m.cluster_id.empty() ? 2 : 1);
      m.cluster_id = client_->cluster_id_hex();
    }
    auto& state = *answer;
    if (!state) {
      read_.error = std::move(state).error();
      failed(scope, m);
      co_return;
    }
    session_changed_ = !m.session.empty() && m.session != state->session_name;
    if (m.session != state->session_name || m.version.empty()) {
      // Once per GCS session: the version does not change while the session lasts.
      const std::string url = "http://" + *ip + ":" + std::to_string(opt.dashboard_port);
      auto v = co_await dashboard_version(ex, url, opt.egress, opt.deadline);
      count_calls(1);
      m.version = v ? v->ray_version : std::string();
      // Once per session: the nodes may not run what the built-in userdata was told to install.
      const std::string wanted = reconcile::ray_version(scope.cluster.spec);
      if (!m.version.empty() && m.version != wanted)
        scope.report.events.push_back({"Warning", "RayVersionMismatch",
                                       "the head runs Ray " + m.version + " but spec.rayVersion is " + wanted +
                                           (scope.cluster.spec.ray_version ? "" : " (the default)") +
                                           ": a prepared image or the node userdata installs another Ray"});
    }
    m.session = state->session_name;
    m.answered = true;
    m.unreachable_since.reset();
    m.suspicion_reported = false;
    if (!m.version.empty()) read_.version = m.version;
    read_.state = std::move(*state);
    ray_ = match(*read_.state, observed.tasks);
    publish(scope, m);
  }

  net::awaitable<void> adjust_actions(const reconcile::ReconcileScope& scope, const reconcile::Observed& observed,
                                      reconcile::Actions& actions) override {
    if (!read_.attempted || !view_) co_return;
    HeadMemory& m = ext_.memory(scope.key);
    if (!read_.state) {
      if (!m.answered) co_return;  // never reached: the task-level plan, as without the Ray view
      hold_scale_down(actions, observed);
      if (!m.unreachable_since || scope.now - *m.unreachable_since < policy_.unresponsive_timeout) co_return;
      if (auto why = ext_.network_suspected()) {
        health_.suspended = why;
        if (!m.suspicion_reported) {
          m.suspicion_reported = true;
          bump(ext_.metrics() ? ext_.metrics()->suppressed : nullptr);
          scope.log.info("head replacement suspended", {{"reason", *why}});
          scope.report.events.push_back({"Warning", "HeadReplacementSuspended",
                                         "the head's GCS at " + read_.address + " has not answered for " +
                                             "headUnresponsiveTimeout, but " + *why + ": not replacing it"});
        }
        co_return;
      }
      health_.replacing = true;
      const yd::Task* head = view_->head_task;
      // The task and its VM both go: a GCS that stopped answering while its task runs may sit on a sick or
      // cut-off VM, so the new head gets a fresh one (and a new address the workers are re-pointed to).
      reconcile::Actions replace{reconcile::CancelTasks{{*head->id}, true, reconcile::CancelReason::kReplace,
                                                        view_->head->group_name}};
      const reconcile::ObservedPool* pool = view_->head->pool;
      if (head->node_id)
        replace.push_back(reconcile::ReleaseNodes{{*head->node_id}, pool ? pool->pool.name.value_or("head") : "head"});
      actions.insert(actions.end() - (has_requeue(actions) ? 1 : 0), replace.begin(), replace.end());
      scope.report.events.push_back({"Warning", "HeadUnresponsive",
                                     "the head's GCS at " + read_.address + " answered before and has not answered since " +
                                         format_rfc3339(*m.unreachable_since) + ": replacing the head task " +
                                         head->name.value_or(*head->id) + " (its workers follow the new head)"});
      co_return;
    }
    RayDecisions d = decide(observed, *view_, actions, *ray_, m.draining_since, session_changed_, policy_, scope.now);
    // An early read has dropped its channel already: drains (rare) get a client of their own.
    if (!d.drains.empty() && !client_) {
      const auto ex = co_await net::this_coro::executor;
      client_ = std::make_unique<HeadClient>(ex, read_.address, client_options(m.cluster_id));
    }
    for (const auto& order : d.drains) {
      std::optional<std::chrono::system_clock::time_point> deadline;
      if (order.deadline) deadline = *order.deadline;
      auto r = co_await client_->drain(order.node_id, order.reason, order.message, deadline);
      count_calls(1);
      auto* metrics = ext_.metrics();
      if (!r) {
        bump(metrics ? metrics->drains_failed : nullptr);
        scope.log.info("drain failed", {{"task", order.task_name}, {"error", r.error().message}});
        continue;  // DrainNode is idempotent: asked again next cycle
      }
      if (r->accepted) {
        bump(metrics ? metrics->drains_accepted : nullptr);
        d.draining_since[order.task_id] = scope.now;
        scope.report.events.push_back(
            {"Normal", "DrainRequested",
             "Ray accepted to drain node " + hex_encode(order.node_id).substr(0, 12) + " of task " + order.task_name +
                 (order.reason == DrainReason::kIdleTermination ? " (idle)" : " (busy: PREEMPTION, deadline drainTimeout)")});
      } else {
        bump(metrics ? metrics->drains_rejected : nullptr);
        scope.report.events.push_back({"Warning", "DrainRejected",
                                       "Ray refused to drain node " + hex_encode(order.node_id).substr(0, 12) +
                                           " of task " + order.task_name + ": " + r->rejection +
                                           "; the node stays, the drain is asked again next cycle"});
      }
    }
    m.draining_since = d.draining_since;
    rewrite(actions, d, observed);
  }

  void contribute_status(const reconcile::ReconcileScope& scope, const reconcile::Observed&,
                         api::RayDogClusterStatus& status) override {
    HeadMemory& m = ext_.memory(scope.key);
    health_.answered_before = m.answered;
    health_.unreachable_since = m.unreachable_since;
    const reconcile::View empty;
    ray_status(status, scope.cluster.status, view_ ? *view_ : empty, yellowdog_read_, read_,
               ray_ ? &*ray_ : nullptr, health_, policy_, access_, scope.now);
    const api::Condition* ready = api::find_condition(status.conditions, api::condition::kRayReady);
    ray_ready_ = ready && ready->status == api::condition::kTrue;
  }

  std::vector<std::string_view> readiness_gates() const override { return {api::condition::kRayReady}; }

  // While Ray is not ready the next look comes soon (a join, a drain, a head coming back), however steady
  // the YellowDog side is; a head that never answered is asked less often (a network or headAccess problem
  // is not fixed by asking every 2 s).
  // A steady requeue after a head that answered: its next read is made just before that reconcile is due
  // (prefetch.hpp), so the reconcile does not wait for it.
  Millis pace(const reconcile::ReconcileScope& scope, Millis requeue) override {
    if (!read_.attempted || ray_ready_) {
      const HeadMemory* m = ext_.find_memory(scope.key);
      if (read_.state && ex_ && m && !m->address.empty())
        ext_.prefetch().schedule(*ex_, scope.key, m->head_task, m->address, client_options(m->cluster_id), requeue);
      return requeue;
    }
    const Millis soon = read_.state || health_.answered_before ? converging_ : std::max(converging_, kNeverAnsweredPoll);
    return std::min(requeue, soon);
  }

 private:
  static bool has_requeue(const reconcile::Actions& actions) {
    return !actions.empty() && std::holds_alternative<reconcile::RequeueAfter>(actions.back());
  }

  HeadClientOptions client_options(const std::string& cluster_id) const {
    HeadClientOptions o;
    o.deadline = ext_.options().deadline;
    o.egress = ext_.options().egress;
    o.cluster_id = cluster_id;
    return o;
  }

  std::optional<net::any_io_executor> ex_;  // the reconcile's, for the prefetch timer

  void count_calls(int n) {
    if (auto* metrics = ext_.metrics()) bump(metrics->gcs_calls, n);
  }

  // The memory of this cluster, reset when the head task changed. After an operator restart it starts from
  // the previous status: a head that answered before (status.ray.sessionName for the same head task) and
  // since when it does not (status.ray.unreachableSince).
  HeadMemory& remember_head(const reconcile::ReconcileScope& scope, const std::string& head_task) {
    HeadMemory& m = ext_.memory(scope.key);
    if (m.head_task == head_task) return m;
    m = HeadMemory{};
    m.head_task = head_task;
    const auto& prev = scope.cluster.status;
    if (prev && prev->head && prev->head->task_id == head_task && prev->ray && prev->ray->session_name) {
      m.answered = true;
      m.session = *prev->ray->session_name;
      m.version = prev->ray->version.value_or("");
      if (prev->ray->unreachable_since) m.unreachable_since = parse_rfc3339(*prev->ray->unreachable_since);
    }
    return m;
  }

  void failed(const reconcile::ReconcileScope& scope, HeadMemory& m) {
    if (m.answered && !m.unreachable_since) m.unreachable_since = scope.now;
    publish(scope, m);
  }

  // Makes this pass's read visible to the extensions after the Ray view (RayExtension::reading).
  void publish(const reconcile::ReconcileScope& scope, const HeadMemory& m) {
    reading_.view = &*view_;
    reading_.state = read_.state ? &*read_.state : nullptr;
    reading_.ray = ray_ ? &*ray_ : nullptr;
    reading_.error = read_.error;
    reading_.session_changed = session_changed_;
    reading_.version = m.version;
    reading_.answered_before = m.answered;
    reading_.draining_since = &m.draining_since;
    published_ = scope.key;
    ext_.publish(scope.key, &reading_);
  }

  RayExtension& ext_;
  api::HeadAccess access_;
  RayPolicy policy_;
  static constexpr Millis kNeverAnsweredPoll{std::chrono::seconds(10)};
  bool yellowdog_read_ = false;
  bool session_changed_ = false;
  bool ray_ready_ = false;
  Millis converging_{std::chrono::seconds(2)};
  std::optional<reconcile::View> view_;
  HeadRead read_;
  std::optional<RayView> ray_;
  RayReading reading_;
  std::optional<std::string> published_;  // the key reading_ is published under
  HeadHealth health_;
  std::shared_ptr<EarlyRead> early_;     // started by start_reads(), taken or dropped by observe()
  std::unique_ptr<HeadClient> client_;  // made for this reconcile (README: channels per poll)
};

}  // namespace

RayExtension::RayExtension(RayExtensionOptions options)
    : options_(std::move(options)),
      prefetch_(options_.prefetch, [this](int calls) { bump(metrics_ ? metrics_->gcs_calls : nullptr, calls); },
                [this](bool used) {
                  if (metrics_) bump(used ? metrics_->prefetch_used : metrics_->prefetch_dropped);
                }) {}
RayExtension::~RayExtension() = default;

std::unique_ptr<reconcile::ExtensionPass> RayExtension::begin(const reconcile::ReconcileScope& scope) {
  const auto access = scope.cluster.spec.head_access.value_or(api::kDefaultHeadAccess);
  if (!scope.valid || scope.cluster.metadata.deletion_timestamp || access == api::HeadAccess::kNone) {
    forget(scope.key);
    return nullptr;
  }
  return std::make_unique<Pass>(*this, access, RayPolicy::of(scope.cluster.spec));
}

void RayExtension::withdraw_status(api::RayDogClusterStatus& status) const {
  withdraw_ray_status(status);
}

void RayExtension::forget(const std::string& key) {
  memory_.erase(key);
  prefetch_.forget(key);
}

std::optional<std::string> RayExtension::network_suspected() const {
  int watched = 0, quiet = 0;
  for (const auto& [key, m] : memory_) {
    if (!m.answered) continue;
    ++watched;
    if (m.unreachable_since) ++quiet;
  }
  if (quiet < 3 || 2 * quiet <= watched) return std::nullopt;
  return std::to_string(quiet) + " of the " + std::to_string(watched) +
         " heads this operator watches stopped answering: it suspects its own network";
}

void RayExtension::bind_metrics(prometheus::Registry& registry) {
  metrics_ = std::make_unique<Metrics>();
  metrics_->gcs_calls = &prometheus::BuildCounter()
                             .Name("raydog_ray_gcs_calls_total")
                             .Help("Calls to Ray heads (GCS gRPC and the dashboard's /api/version)")
                             .Register(registry)
                             .Add({});
  auto& drains = prometheus::BuildCounter()
                     .Name("raydog_ray_drains_total")
                     .Help("DrainNode calls by result (accepted, rejected by Ray, failed)")
                     .Register(registry);
  metrics_->drains_accepted = &drains.Add({{"result", "accepted"}});
  metrics_->drains_rejected = &drains.Add({{"result", "rejected"}});
  metrics_->drains_failed = &drains.Add({{"result", "failed"}});
  metrics_->suppressed = &prometheus::BuildCounter()
                              .Name("raydog_ray_head_replacements_suppressed_total")
                              .Help("Head replacements not done because most watched heads went quiet at once")
                              .Register(registry)
                              .Add({});
  auto& prefetched = prometheus::BuildCounter()
                         .Name("raydog_ray_prefetched_reads_total")
                         .Help("GCS reads made just before a steady reconcile (prefetch.hpp): taken by it, or "
                               "dropped (the reconcile came earlier, later, or for another head)")
                         .Register(registry);
  metrics_->prefetch_used = &prefetched.Add({{"result", "used"}});
  metrics_->prefetch_dropped = &prefetched.Add({{"result", "dropped"}});
}

}  // namespace raydog::ray
