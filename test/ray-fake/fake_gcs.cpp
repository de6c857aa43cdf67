#include "test/ray-fake/fake_gcs.hpp"

#include <grpcpp/grpcpp.h>

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

}  // namespace

struct FakeGcs::Impl final : pb::NodeInfoGcsService::Service, apb::AutoscalerStateService::Service {
  mutable std::mutex mu;
  std::string id = std::string("\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8) + "raydog-fake-gcs";
  std::string session = "session_fake_1";
  std::int64_t version = 0;  // the last version this incarnation returned
  std::vector<FakeRayNode> nodes;
  std::vector<FakeGcsCall> calls;
  std::vector<std::string> violations;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  // Under mu. A real GCS refuses a wrong id with an auth error; whether it refuses a missing one is
  // UNKNOWN (ray-gcs.md), so the fake refuses both and records them.
  std::optional<grpc::Status> check_id(grpc::ServerContext* ctx, const std::string& method) {
    const auto& md = ctx->client_metadata();
    const auto it = md.find("ray_cluster_id");
    if (it == md.end()) {
      violations.push_back(method + ": no ray_cluster_id metadata");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "Wrong cluster ID token in request!");
    }
    if (std::string(it->second.data(), it->second.size()) != hex_encode(id)) {
      violations.push_back(method + ": wrong ray_cluster_id");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "Wrong cluster ID token in request!");
    }
    return std::nullopt;
  }

  grpc::Status GetClusterId(grpc::ServerContext*, const pb::GetClusterIdRequest*,
                            pb::GetClusterIdReply* reply) override {
    std::lock_guard lock(mu);
    calls.push_back({"GetClusterId", "", "", std::nullopt, 0});
    reply->mutable_status()->set_code(0);
    reply->set_cluster_id(id);
    return grpc::Status::OK;
  }

  grpc::Status GetClusterResourceState(grpc::ServerContext* ctx, const apb::GetClusterResourceStateRequest* req,
                                       apb::GetClusterResourceStateReply* reply) override {
    std::lock_guard lock(mu);
    calls.push_back({"GetClusterResourceState", "", "", std::nullopt, req->last_seen_cluster_resource_state_version()});
    if (auto refused = check_id(ctx, "GetClusterResourceState")) return *refused;
    if (req->last_seen_cluster_resource_state_version() > version) {
      violations.push_back("GetClusterResourceState: last_seen " +
                           std::to_string(req->last_seen_cluster_resource_state_version()) +
                           " is newer than this incarnation returned (" + std::to_string(version) +
                           "): a real GCS aborts");
    }
    ++version;
    auto* st = reply->mutable_cluster_resource_state();
    st->set_cluster_resource_state_version(version);
    st->set_cluster_session_name(session);
    for (const auto& n : nodes) {
      auto* ns = st->add_node_states();
      ns->set_node_id(n.node_id);
      ns->set_instance_id(n.instance_id);
      ns->set_ray_node_type_name(n.node_type);
      ns->set_status(status_of(n.status));
      ns->set_idle_duration_ms(n.status == "IDLE" ? n.idle_ms : 0);
      for (const auto& [k, v] : n.total) {
        (*ns->mutable_total_resources())[k] = v;
        (*ns->mutable_available_resources())[k] = n.status == "RUNNING" ? 0.0 : v;
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status DrainNode(grpc::ServerContext* ctx, const apb::DrainNodeRequest* req,
                         apb::DrainNodeReply* reply) override {
    std::lock_guard lock(mu);
    FakeGcsCall call{"DrainNode", req->node_id(),
                     req->reason() == apb::DRAIN_NODE_REASON_PREEMPTION ? "PREEMPTION" : "IDLE_TERMINATION",
                     std::nullopt, 0};
    if (auto refused = check_id(ctx, "DrainNode")) {
      calls.push_back(call);
      return *refused;
    }
    if (req->deadline_timestamp_ms() < 0) {
      calls.push_back(call);
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative deadline");
    }
    bool accepted = true;  // an unknown or dead node is accepted, as GCS does
    for (auto& n : nodes) {
      if (n.node_id != req->node_id() || n.status == "DEAD") continue;
      const bool idle_only = req->reason() != apb::DRAIN_NODE_REASON_PREEMPTION;
      if (idle_only && (n.status != "IDLE" || n.reject_drain)) {
        accepted = false;
        reply->set_rejection_reason_message("The node to be idle terminated is no longer idle.");
      } else {
        n.status = "DRAINING";
      }
    }
    call.accepted = accepted;
    calls.push_back(call);
    reply->set_is_accepted(accepted);
    return grpc::Status::OK;
  }
};

FakeGcs::FakeGcs() : impl_(std::make_unique<Impl>()) {
  ray::keep_grpc_initialised();  // one gRPC start per process, as the head client does
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterService(static_cast<pb::NodeInfoGcsService::Service*>(impl_.get()));
  builder.RegisterService(static_cast<apb::AutoscalerStateService::Service*>(impl_.get()));
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) throw std::runtime_error("fake GCS: cannot listen on 127.0.0.1");
}

FakeGcs::~FakeGcs() {
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->server->Wait();
}

std::string FakeGcs::address() const {
  return "127.0.0.1:" + std::to_string(impl_->port);
}

void FakeGcs::set_nodes(std::vector<FakeRayNode> nodes) {
  std::lock_guard lock(impl_->mu);
  impl_->nodes = std::move(nodes);
}

std::vector<FakeRayNode> FakeGcs::nodes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->nodes;
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

}  // namespace raydog::test
