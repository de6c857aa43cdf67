#include "test/ray-fake/fake_gcs.hpp"

#include <grpcpp/grpcpp.h>

#include <atomic>

#include <mutex>
#include <stdexcept>

#include "ray_autoscaler.grpc.pb.h"
#include "ray_gcs.grpc.pb.h"

#include "controller/ray/grpc_pump.hpp"
#include "controller/util/strings.hpp"

namespace raydog::test {
namespace {

namespace pb = ::ray::rpc;
namespace apb = ::ray::rpc::autoscaler;

apb::NodeStatus status_of(const std::string& s) {
  if (s == "RUNNING") return apb::RUNNING;
  if (s == "DEAD") return apb::DEAD;
  if (s == "DRAINING") return apb::DRAINING;
  return apb::IDLE;
}

// One callback server with no listening port, started at the first FakeGcs and never destroyed: its
// callback service holds a reference to gRPC's shared callback completion queue for the life of the
// process, so that queue (and its threads) is not torn down and rebuilt as heads come and go (see the
// header). A function-local static pointer: created once, thread-safely, and still reachable at exit.
void keep_callback_queue() {
  static grpc::Server* const keeper = [] {
    ray::keep_grpc_initialised();  // one gRPC start per process, as the head client does
    static pb::NodeInfoGcsService::CallbackService unused;  // never called: nothing can connect
    grpc::ServerBuilder builder;
    builder.RegisterService(&unused);
    grpc::Server* s = builder.BuildAndStart().release();
    if (s == nullptr) throw std::runtime_error("fake GCS: cannot start gRPC's callback server");
    return s;
  }();
  (void)keeper;
}

void fill(google::protobuf::Map<std::string, double>& out, const RayResources& in) {
  for (const auto& [k, v] : in) out[k] = v;
}

}  // namespace

struct FakeGcs::Impl {
  explicit Impl(FakeGcsOptions o) : options(std::move(o)), session(options.session_name) {
    id = options.cluster_id.empty() ? std::string("\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8) + "raydog-fake-gcs"
                                    : options.cluster_id;
    node_info.impl = this;
    autoscaler.impl = this;
  }

  FakeGcsOptions options;
  mutable std::mutex mu;
  std::string id;
  std::string session;
  std::int64_t version = 0;  // the last version this incarnation returned
  FakeClusterState state;
  std::int64_t state_set_ms = 0;   // clock_ms() at set_state
  std::vector<FakeDrain> drains;   // accepted, not yet taken
  std::atomic<bool> drains_pending{false};  // drains is not empty: an owner polling every tick skips the lock
  std::vector<FakeGcsCall> calls;
  std::vector<std::string> violations;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::string> bound;  // "ip:port"

  std::int64_t now_ms() const { return options.clock_ms ? options.clock_ms() : 0; }

  // Outside the lock: the hooks belong to the owner.
  void record(const FakeGcsCall& call, const std::vector<std::string>& new_violations) {
    if (options.keep_records) {
      std::lock_guard lock(mu);
      calls.push_back(call);
      violations.insert(violations.end(), new_violations.begin(), new_violations.end());
    }
    if (options.on_call) options.on_call(call);
    if (options.on_violation)
      for (const auto& v : new_violations) options.on_violation(v);
  }

  // A failure the owner injects, or nullopt.
  std::optional<grpc::Status> injected(FakeGcsCall& call) {
    const int code = options.fault ? options.fault(call.method) : 0;
    if (code <= 0 || code > 16) return std::nullopt;
    call.fault = grpc_code_name(code);
    record(call, {});
    return grpc::Status(static_cast<grpc::StatusCode>(code), "injected by the fake GCS");
  }

  // A real GCS refuses a wrong id with an auth error; whether it refuses a missing one is UNKNOWN
  // (ray-gcs.md), so the fake refuses both and records them.
  std::optional<grpc::Status> check_id(const grpc::CallbackServerContext& ctx, const std::string& method,
                                       std::vector<std::string>& out_violations) const {
    const auto& md = ctx.client_metadata();
    const auto it = md.find("ray_cluster_id");
    if (it == md.end()) {
      out_violations.push_back(method + ": no ray_cluster_id metadata");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "Wrong cluster ID token in request!");
    }
    if (std::string(it->second.data(), it->second.size()) != hex_encode(id)) {
      out_violations.push_back(method + ": wrong ray_cluster_id");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "Wrong cluster ID token in request!");
    }
    return std::nullopt;
  }

  grpc::Status get_cluster_id(pb::GetClusterIdReply& reply) {
    FakeGcsCall call{"GetClusterId", "", "", std::nullopt, 0, ""};
    if (auto fault = injected(call)) return *fault;
    {
      std::lock_guard lock(mu);
      reply.mutable_status()->set_code(0);
      reply.set_cluster_id(id);
    }
    record(call, {});
    return grpc::Status::OK;
  }

  grpc::Status get_cluster_resource_state(const grpc::CallbackServerContext& ctx,
                                          const apb::GetClusterResourceStateRequest& req,
                                          apb::GetClusterResourceStateReply& reply) {
    const std::int64_t last_seen = req.last_seen_cluster_resource_state_version();
    FakeGcsCall call{"GetClusterResourceState", "", "", std::nullopt, last_seen, ""};
    if (auto fault = injected(call)) return *fault;
    std::vector<std::string> found;
    const std::int64_t now = now_ms();
    std::optional<grpc::Status> refused;
    {
      std::lock_guard lock(mu);
      refused = check_id(ctx, "GetClusterResourceState", found);
      if (!refused) {
        if (last_seen > version)
          found.push_back("GetClusterResourceState: last_seen " + std::to_string(last_seen) +
                          " is newer than this incarnation returned (" + std::to_string(version) +
                          "): a real GCS aborts");
        fill_state(*reply.mutable_cluster_resource_state(), now);
      }
    }
    record(call, found);
    return refused ? *refused : grpc::Status::OK;
  }

  // Under mu.
  void fill_state(apb::ClusterResourceState& st, std::int64_t now) {
    ++version;
    st.set_cluster_resource_state_version(version);
    st.set_cluster_session_name(session);
    const std::int64_t aged = options.clock_ms ? std::max<std::int64_t>(0, now - state_set_ms) : 0;
    for (const auto& n : state.nodes) {
      auto* ns = st.add_node_states();
      ns->set_node_id(n.node_id);
      ns->set_instance_id(n.instance_id);
      ns->set_ray_node_type_name(n.node_type);
      ns->set_node_ip_address(n.ip);
      ns->set_status(status_of(n.status));
      if (n.status == "DEAD") continue;  // GCS lists dead nodes with no other data
      ns->set_idle_duration_ms(n.status == "IDLE" ? n.idle_ms + aged : 0);
      fill(*ns->mutable_total_resources(), n.total);
      if (n.available) {
        fill(*ns->mutable_available_resources(), *n.available);
      } else {
        for (const auto& [k, v] : n.total) (*ns->mutable_available_resources())[k] = n.status == "RUNNING" ? 0.0 : v;
      }
    }
    for (const auto& d : state.pending) {
      auto* p = st.add_pending_resource_requests();
      fill(*p->mutable_request()->mutable_resources_bundle(), d.shape);
      p->set_count(d.count);
    }
    for (const auto& g : state.gangs) {
      auto* gang = st.add_pending_gang_resource_requests();
      gang->set_details(g.pg_id + ":" + g.strategy + "|PENDING");
      for (const auto& b : g.bundles) {
        auto* r = gang->add_requests();
        fill(*r->mutable_resources_bundle(), b);
        auto* c = r->add_placement_constraints();
        // STRICT_SPREAD: anti-affinity, STRICT_PACK: affinity, both on the group's label (ray-gcs.md §2.1).
        if (g.strategy == "STRICT_SPREAD")
          c->mutable_anti_affinity()->set_label_name("_PG_" + g.pg_id);
        else
          c->mutable_affinity()->set_label_name("_PG_" + g.pg_id);
      }
    }
    if (!state.constraints.empty()) {
      auto* c = st.add_cluster_resource_constraints();
      for (const auto& d : state.constraints) {
        auto* r = c->add_resource_requests();
        fill(*r->mutable_request()->mutable_resources_bundle(), d.shape);
        r->set_count(d.count);
      }
    }
  }

  grpc::Status drain_node(const grpc::CallbackServerContext& ctx, const apb::DrainNodeRequest& req,
                          apb::DrainNodeReply& reply) {
    const bool preemption = req.reason() == apb::DRAIN_NODE_REASON_PREEMPTION;
    FakeGcsCall call{"DrainNode", req.node_id(), preemption ? "PREEMPTION" : "IDLE_TERMINATION", std::nullopt, 0, ""};
    if (auto fault = injected(call)) return *fault;
    std::vector<std::string> found;
    const std::int64_t now = now_ms();
    std::optional<grpc::Status> refused;
    {
      std::lock_guard lock(mu);
      refused = check_id(ctx, "DrainNode", found);
      if (!refused && req.deadline_timestamp_ms() < 0)
        refused = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative deadline");
      if (!refused) {
        bool accepted = true;  // an unknown or dead node is accepted, as GCS does
        for (auto& n : state.nodes) {
          if (n.node_id != req.node_id() || n.status == "DEAD") continue;
          // A raylet accepts IDLE_TERMINATION only while it is idle; PREEMPTION always.
          const bool idle = n.status == "IDLE" || (n.status == "DRAINING" && !n.busy);
          if (!preemption && (!idle || n.reject_drain)) {
            accepted = false;
            reply.set_rejection_reason_message("The node to be idle terminated is no longer idle.");
          } else {
            n.status = "DRAINING";
            drains.push_back(FakeDrain{n.node_id, call.reason, req.deadline_timestamp_ms(), now});
            drains_pending.store(true, std::memory_order_release);
          }
        }
        call.accepted = accepted;
        reply.set_is_accepted(accepted);
      }
    }
    record(call, found);
    if (call.accepted.value_or(false) && options.on_drain) options.on_drain();
    return refused ? *refused : grpc::Status::OK;
  }

  struct NodeInfo final : pb::NodeInfoGcsService::CallbackService {
    Impl* impl = nullptr;
    grpc::ServerUnaryReactor* GetClusterId(grpc::CallbackServerContext* ctx, const pb::GetClusterIdRequest*,
                                           pb::GetClusterIdReply* reply) override {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(impl->get_cluster_id(*reply));
      return reactor;
    }
  } node_info;

  struct Autoscaler final : apb::AutoscalerStateService::CallbackService {
    Impl* impl = nullptr;
    grpc::ServerUnaryReactor* GetClusterResourceState(grpc::CallbackServerContext* ctx,
                                                      const apb::GetClusterResourceStateRequest* req,
                                                      apb::GetClusterResourceStateReply* reply) override {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(impl->get_cluster_resource_state(*ctx, *req, *reply));
      return reactor;
    }
    grpc::ServerUnaryReactor* DrainNode(grpc::CallbackServerContext* ctx, const apb::DrainNodeRequest* req,
                                        apb::DrainNodeReply* reply) override {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(impl->drain_node(*ctx, *req, *reply));
      return reactor;
    }
  } autoscaler;
};

FakeGcs::FakeGcs() : FakeGcs(FakeGcsOptions{}) {}

FakeGcs::FakeGcs(FakeGcsOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  keep_callback_queue();
  if (impl_->options.listen.empty()) throw std::invalid_argument("fake GCS: no address to listen on");
  impl_->state_set_ms = impl_->now_ms();
  grpc::ServerBuilder builder;
  // Off: an address that another process serves must be refused, not shared (gRPC turns it on by default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<int> ports(impl_->options.listen.size(), 0);
  for (std::size_t i = 0; i < ports.size(); ++i)
    builder.AddListeningPort(impl_->options.listen[i], grpc::InsecureServerCredentials(), &ports[i]);
  builder.RegisterService(&impl_->node_info);
  builder.RegisterService(&impl_->autoscaler);
  impl_->server = builder.BuildAndStart();
  std::string failed;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const std::string& a = impl_->options.listen[i];
    if (ports[i] == 0) failed += (failed.empty() ? "" : ", ") + a;
    impl_->bound.push_back(a.substr(0, a.rfind(':')) + ":" + std::to_string(ports[i]));
  }
  if (!impl_->server || !failed.empty()) {
    if (impl_->server) {
      impl_->server->Shutdown(std::chrono::system_clock::now());
      impl_->server->Wait();
    }
    throw std::runtime_error("fake GCS: cannot listen on " + (failed.empty() ? std::string("any address") : failed));
  }
}

FakeGcs::~FakeGcs() {
  // Calls in flight get a short grace; handlers never wait for anything, so this returns promptly.
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  impl_->server->Wait();
}

std::string FakeGcs::address() const {
  return impl_->bound.front();
}

std::vector<std::string> FakeGcs::addresses() const {
  return impl_->bound;
}

void FakeGcs::set_nodes(std::vector<FakeRayNode> nodes) {
  FakeClusterState s;
  {
    std::lock_guard lock(impl_->mu);
    s = impl_->state;
  }
  s.nodes = std::move(nodes);
  set_state(std::move(s));
}

void FakeGcs::set_state(FakeClusterState state) {
  const std::int64_t now = impl_->now_ms();
  std::lock_guard lock(impl_->mu);
  impl_->state = std::move(state);
  impl_->state_set_ms = now;
  for (const auto& d : impl_->drains)
    for (auto& n : impl_->state.nodes)
      if (n.node_id == d.node_id && n.status != "DEAD") n.status = "DRAINING";
}

std::vector<FakeRayNode> FakeGcs::nodes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.nodes;
}

std::vector<FakeDrain> FakeGcs::take_drains() {
  if (!impl_->drains_pending.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(impl_->mu);
  impl_->drains_pending.store(false, std::memory_order_relaxed);
  return std::exchange(impl_->drains, {});
}

void FakeGcs::restart(std::string session_name) {
  std::lock_guard lock(impl_->mu);
  impl_->session = std::move(session_name);
  impl_->version = 0;
}

std::vector<FakeGcsCall> FakeGcs::calls() const {
  std::lock_guard lock(impl_->mu);
  return impl_->calls;
}

std::vector<std::string> FakeGcs::violations() const {
  std::lock_guard lock(impl_->mu);
  return impl_->violations;
}

std::string FakeGcs::cluster_id() const {
  return impl_->id;
}

std::string FakeGcs::session_name() const {
  std::lock_guard lock(impl_->mu);
  return impl_->session;
}

}  // namespace raydog::test
