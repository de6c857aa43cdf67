#include "controller/ray/head_client.hpp"

#include <grpcpp/grpcpp.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ray_autoscaler.grpc.pb.h"
#include "ray_gcs.grpc.pb.h"

#include "controller/ray/grpc_pump.hpp"
#include "controller/util/strings.hpp"

namespace raydog::ray {
namespace {

namespace net = boost::asio;
namespace pb = ::ray::rpc;
namespace apb = ::ray::rpc::autoscaler;

constexpr const char* kClusterIdKey = "ray_cluster_id";

HeadError error_of(const grpc::Status& s, const std::string& what) {
  HeadError e;
  e.message = what + ": " + std::to_string(s.error_code()) + " " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      e.kind = HeadError::Kind::kUnreachable;
      e.message = what + ": unreachable: " + s.error_message();
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      e.kind = HeadError::Kind::kTimeout;
      e.message = what + ": no answer before the deadline";
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      e.kind = HeadError::Kind::kAuth;
      break;
    default:
      // GCS answers a wrong cluster id with "Wrong cluster ID token in request!" (ray-gcs.md §2.4.1).
      e.kind = s.error_message().find("cluster ID") != std::string::npos ? HeadError::Kind::kAuth
                                                                          : HeadError::Kind::kOther;
  }
  return e;
}

// One unary call on the process's completion queue (grpc_pump.hpp), resumed on `ex`. The state (context,
// request, reply, status, reader) lives until gRPC completes, however the awaiting coroutine ends; the
// work guard keeps the io_context running while gRPC holds the call.
template <class Request, class Reply>
struct Call {
  grpc::ClientContext context;
  Request request;
  Reply reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Reply>> reader;
};

// A call with the per-call deadline and, once the handshake is done, the cluster id as metadata.
template <class Request, class Reply>
std::shared_ptr<Call<Request, Reply>> new_call(std::chrono::milliseconds deadline, const std::string& cluster_id_hex) {
  auto call = std::make_shared<Call<Request, Reply>>();
  call->context.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!cluster_id_hex.empty()) call->context.AddMetadata(kClusterIdKey, cluster_id_hex);
  return call;
}

// `prepare(call, queue)` returns the stub's PrepareAsync<Method> reader.
template <class Request, class Reply, class Prepare>
net::awaitable<grpc::Status> unary(net::any_io_executor ex, std::shared_ptr<Call<Request, Reply>> call,
                                   Prepare prepare) {
  auto tracked = net::prefer(ex, net::execution::outstanding_work.tracked);
  using Tracked = decltype(tracked);
  auto initiation = [call, tracked, prepare](auto handler) mutable {
    using Handler = decltype(handler);
    struct Done final : QueuedCompletion {
      Done(std::shared_ptr<Call<Request, Reply>> c, Tracked e, Handler h)
          : call(std::move(c)), ex(std::move(e)), handler(std::move(h)) {}
      std::shared_ptr<Call<Request, Reply>> call;
      Tracked ex;
      Handler handler;
      void complete(bool ok) override {
        // A unary Finish always completes ok; anything else is gRPC giving up on the call.
        grpc::Status status = ok ? call->status : grpc::Status(grpc::StatusCode::CANCELLED, "call abandoned");
        net::post(ex, [h = std::move(handler), status = std::move(status)]() mutable { std::move(h)(std::move(status)); });
      }
    };
    grpc::CompletionQueue& queue = completion_queue();
    call->reader = prepare(call, &queue);
    call->reader->StartCall();
    call->reader->Finish(&call->reply, &call->status, new Done(call, tracked, std::move(handler)));
  };
  grpc::Status status =
      co_await net::async_initiate<decltype(net::use_awaitable), void(grpc::Status)>(initiation, net::use_awaitable);
  co_return status;
}

NodeStatus status_of(apb::NodeStatus s) {
  switch (s) {
    case apb::RUNNING: return NodeStatus::kRunning;
    case apb::DEAD: return NodeStatus::kDead;
    case apb::IDLE: return NodeStatus::kIdle;
    case apb::DRAINING: return NodeStatus::kDraining;
    default: return NodeStatus::kUnspecified;
  }
}

ResourceDemand demand_of(const apb::ResourceRequestByCount& r) {
  ResourceDemand d;
  d.shape.insert(r.request().resources_bundle().begin(), r.request().resources_bundle().end());
  d.count = r.count();
  return d;
}

// `details` is "<pg_id>:<strategy>|<state>" (ray-gcs.md §1.2). Without a strategy there, the bundles'
// placement constraints say it: anti-affinity on the group's label is STRICT_SPREAD, affinity STRICT_PACK.
GangDemand gang_of(const apb::GangResourceRequest& g) {
  GangDemand out;
  const std::string& details = g.details();
  const auto colon = details.find(':');
  const auto bar = details.find('|', colon == std::string::npos ? 0 : colon);
  if (colon != std::string::npos) {
    out.pg_id = details.substr(0, colon);
    out.strategy = details.substr(colon + 1, bar == std::string::npos ? std::string::npos : bar - colon - 1);
  }
  for (const auto& r : g.requests()) {
    out.bundles.emplace_back(r.resources_bundle().begin(), r.resources_bundle().end());
    if (!out.strategy.empty()) continue;
    for (const auto& c : r.placement_constraints()) {
      if (c.has_anti_affinity()) out.strategy = "STRICT_SPREAD";
      if (c.has_affinity()) out.strategy = "STRICT_PACK";
    }
  }
  return out;
}

// The gRPC proxy for `address` by the operator's egress rules: set explicitly, and gRPC's own environment
// lookup (grpc_proxy, https_proxy, no_grpc_proxy with other NO_PROXY rules) switched off.
grpc::ChannelArguments channel_arguments(const std::string& address, const http::EgressProxies& egress) {
  grpc::ChannelArguments args;
  http::Url target;
  std::optional<http::ProxyEndpoint> proxy;
  if (http::parse_url("http://" + address, target)) proxy = egress.route(target);
  if (proxy) {
    const std::string auth = proxy->userinfo.empty() ? "" : proxy->userinfo + "@";
    args.SetString(GRPC_ARG_HTTP_PROXY, "http://" + auth + proxy->display().substr(7));
  } else {
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  }
  // Heads are addressed by IP (YellowDog's node addresses) and have no service config to look up: no DNS
  // TXT query per channel (channels are made per poll).
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  // A head that went away is tried again soon (the next poll), not after gRPC's 2-minute backoff cap.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  return args;
}

// An IP literal goes straight to gRPC's ipv4:/ipv6: resolver (no resolver thread, no DNS library); a host
// name keeps the default dns: resolution.
std::string channel_target(const std::string& address) {
  http::Url u;
  if (!http::parse_url("http://" + address, u)) return address;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(u.host, ec);
  if (ec) return address;
  return ip.is_v4() ? "ipv4:" + address : "ipv6:" + address;
}

}  // namespace

const char* to_string(NodeStatus s) {
  switch (s) {
    case NodeStatus::kRunning: return "RUNNING";
    case NodeStatus::kDead: return "DEAD";
    case NodeStatus::kIdle: return "IDLE";
    case NodeStatus::kDraining: return "DRAINING";
    default: return "UNSPECIFIED";
  }
}

std::string RayNode::hex_id() const {
  return hex_encode(node_id);
}

struct HeadClient::Impl {
  net::any_io_executor ex;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::NodeInfoGcsService::Stub> node_info;
  std::unique_ptr<apb::AutoscalerStateService::Stub> autoscaler;
};

HeadClient::HeadClient(net::any_io_executor ex, std::string address, HeadClientOptions options)
    : address_(std::move(address)), options_(std::move(options)), impl_(std::make_shared<Impl>()) {
  cluster_id_hex_ = options_.cluster_id;
  impl_->ex = std::move(ex);
  completion_queue();  // gRPC set up once for the process before its first channel (grpc_pump.hpp)
  impl_->channel = grpc::CreateCustomChannel(channel_target(address_), grpc::InsecureChannelCredentials(),
                                             channel_arguments(address_, options_.egress));
  impl_->node_info = pb::NodeInfoGcsService::NewStub(impl_->channel);
  impl_->autoscaler = apb::AutoscalerStateService::NewStub(impl_->channel);
}

HeadClient::~HeadClient() = default;

HeadError HeadClient::failed(const grpc::Status& status, const std::string& what) {
  HeadError e = error_of(status, what);
  if (e.kind == HeadError::Kind::kAuth) cluster_id_hex_.clear();  // handshake again next time
  return e;
}

net::awaitable<Result<std::string, HeadError>> HeadClient::cluster_id() {
  if (!cluster_id_hex_.empty()) co_return cluster_id_hex_;
  auto impl = impl_;
  auto call = new_call<pb::GetClusterIdRequest, pb::GetClusterIdReply>(options_.deadline, "");
  auto start = [impl](auto c, grpc::CompletionQueue* q) {
    return impl->node_info->PrepareAsyncGetClusterId(&c->context, c->request, q);
  };
  const grpc::Status status = co_await unary(impl->ex, call, start);
  const std::string what = "GetClusterId " + address_;
  if (!status.ok()) co_return unexpected(error_of(status, what));
  if (call->reply.status().code() != 0) {
    co_return unexpected(HeadError{HeadError::Kind::kProtocol, what + ": GCS status " +
                                                                   std::to_string(call->reply.status().code()) +
                                                                   " " + call->reply.status().message()});
  }
  if (call->reply.cluster_id().empty())
    co_return unexpected(HeadError{HeadError::Kind::kProtocol, what + ": no cluster id in the answer"});
  cluster_id_hex_ = hex_encode(call->reply.cluster_id());
  co_return cluster_id_hex_;
}

net::awaitable<Result<ClusterState, HeadError>> HeadClient::cluster_state() {
  auto id = co_await cluster_id();
  if (!id) co_return unexpected(std::move(id).error());
  auto impl = impl_;
  auto call = new_call<apb::GetClusterResourceStateRequest, apb::GetClusterResourceStateReply>(options_.deadline, *id);
  call->request.set_last_seen_cluster_resource_state_version(0);  // see the header: always safe
  auto start = [impl](auto c, grpc::CompletionQueue* q) {
    return impl->autoscaler->PrepareAsyncGetClusterResourceState(&c->context, c->request, q);
  };
  const grpc::Status status = co_await unary(impl->ex, call, start);
  if (!status.ok()) co_return unexpected(failed(status, "GetClusterResourceState " + address_));
  const auto& st = call->reply.cluster_resource_state();
  ClusterState out;
  out.version = st.cluster_resource_state_version();
  out.session_name = st.cluster_session_name();
  out.session_changed = !session_name_.empty() && session_name_ != out.session_name;
  session_name_ = out.session_name;
  out.nodes.reserve(static_cast<std::size_t>(st.node_states_size()));
  for (const auto& n : st.node_states()) {
    RayNode node;
    node.node_id = n.node_id();
    node.instance_id = n.instance_id();
    node.node_type = n.ray_node_type_name();
    node.status = status_of(n.status());
    node.idle_ms = n.idle_duration_ms();
    node.ip = n.node_ip_address();
    node.total.insert(n.total_resources().begin(), n.total_resources().end());
    node.available.insert(n.available_resources().begin(), n.available_resources().end());
    out.nodes.push_back(std::move(node));
  }
  for (const auto& p : st.pending_resource_requests()) out.pending.push_back(demand_of(p));
  for (const auto& g : st.pending_gang_resource_requests()) out.gangs.push_back(gang_of(g));
  for (const auto& c : st.cluster_resource_constraints())
    for (const auto& r : c.resource_requests()) out.constraints.push_back(demand_of(r));
  co_return out;
}

net::awaitable<Result<DrainOutcome, HeadError>> HeadClient::drain(
    std::string node_id, DrainReason reason, std::string message,
    std::optional<std::chrono::system_clock::time_point> deadline) {
  auto id = co_await cluster_id();
  if (!id) co_return unexpected(std::move(id).error());
  auto impl = impl_;
  auto call = new_call<apb::DrainNodeRequest, apb::DrainNodeReply>(options_.deadline, *id);
  call->request.set_node_id(node_id);
  call->request.set_reason(reason == DrainReason::kIdleTermination ? apb::DRAIN_NODE_REASON_IDLE_TERMINATION
                                                                   : apb::DRAIN_NODE_REASON_PREEMPTION);
  call->request.set_reason_message(message);
  if (deadline) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline->time_since_epoch()).count();
    call->request.set_deadline_timestamp_ms(ms > 0 ? ms : 0);
  }
  auto start = [impl](auto c, grpc::CompletionQueue* q) {
    return impl->autoscaler->PrepareAsyncDrainNode(&c->context, c->request, q);
  };
  const grpc::Status status = co_await unary(impl->ex, call, start);
  if (!status.ok()) co_return unexpected(failed(status, "DrainNode " + address_ + " node " + hex_encode(node_id)));
  co_return DrainOutcome{call->reply.is_accepted(), call->reply.rejection_reason_message()};
}

}  // namespace raydog::ray
