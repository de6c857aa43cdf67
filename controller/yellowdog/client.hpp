#pragma once
// YellowDogApi over HTTPS (the shared raydog::http client): `Authorization: yd-key ID:SECRET`, gzip
// request bodies over 2 KiB for /work/..., keep-alive reuse, a deadline on every request, TLS with the
// system CA store and verification on, retries per retry.hpp, slices followed to the end, errors redacted.
//
// Runs on one io_context thread like the rest of the controller; not thread-safe. The client must outlive
// the coroutines it started.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "controller/http/proxy.hpp"
#include "controller/yellowdog/api.hpp"
#include "controller/yellowdog/budget.hpp"
#include "controller/yellowdog/retry.hpp"

namespace raydog::http {
class Client;
}

namespace raydog::yellowdog {

struct YellowDogClientOptions {
  std::string base_url = "https://api.yellowdog.ai";  // older deployments: ".../api"
  Credentials credentials;
  std::string ca_pem;  // extra trusted CAs (PEM) besides the system store (--yellowdog-ca-file)
  http::EgressProxies egress;  // HTTPS_PROXY/HTTP_PROXY/NO_PROXY as the operator read them at start
  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(15)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  // one attempt, end to end
  std::chrono::milliseconds stream_head_timeout{std::chrono::seconds(30)};
  std::optional<int> page_size;  // `size` on searches; none: the server's default
  std::size_t gzip_threshold = 2048;
  std::size_t max_pages = 10000;  // a server that never ends a slice chain is a protocol error
  std::string user_agent = "raydog-operator/0.1";
  // The account's request budget (budget.hpp), shared by every client of the same key; null: none.
  std::shared_ptr<RequestBudget> budget;
  // Test hooks: a draw in [0, 1) for the jitter, and the sleep between attempts.
  std::function<double()> random;
  std::function<boost::asio::awaitable<void>(std::chrono::milliseconds)> sleep;
};

class YellowDogClient final : public YellowDogApi {
 public:
  // Throws std::invalid_argument when base_url is not an http(s) URL.
  YellowDogClient(boost::asio::any_io_executor ex, YellowDogClientOptions options);
  ~YellowDogClient() override;
  YellowDogClient(const YellowDogClient&) = delete;
  YellowDogClient& operator=(const YellowDogClient&) = delete;

  // Rotated Secret: later requests use the new key. Old secrets stay redacted from error messages.
  void set_credentials(Credentials credentials);
  std::optional<std::chrono::system_clock::time_point> server_time() const override { return server_time_; }
  // Requests sent so far (every attempt counts): for tests and metrics.
  std::uint64_t requests_sent() const { return requests_sent_; }

  Async<WorkerPool> provision_worker_pool(ProvisionRequest request) override;
  Async<WorkerPool> get_worker_pool(std::string id) override;
  Async<WorkerPool> get_worker_pool_by_name(std::string ns, std::string name) override;
  Async<std::vector<WorkerPoolSummary>> search_worker_pools(WorkerPoolSearch search) override;
  Async<Done> shut_down_worker_pool(std::string id) override;
  Async<WorkerPool> resize_worker_pool(std::string id, std::int64_t size) override;
  Async<Node> get_node_of_worker(std::string worker_id) override;
  Async<Node> get_node(std::string id) override;
  Async<Node> shut_down_node(std::string id) override;
  Async<std::vector<Node>> search_nodes(NodeSearch search) override;

  Async<WorkRequirement> create_work_requirement(WorkRequirement wr) override;
  Async<WorkRequirement> update_work_requirement(WorkRequirement wr) override;
  Async<WorkRequirement> get_work_requirement(std::string id) override;
  Async<WorkRequirement> get_work_requirement_by_name(std::string ns, std::string name) override;
  Async<std::vector<WorkRequirementSummary>> search_work_requirements(WorkRequirementSearch search) override;
  Async<WorkRequirement> cancel_work_requirement(std::string id, bool abort) override;
  Async<std::vector<Task>> add_tasks(std::string task_group_id, std::vector<Task> tasks) override;
  Async<Task> get_task(std::string id) override;
  Async<std::vector<Task>> search_tasks(TaskSearch search) override;
  Async<Task> cancel_task(std::string id, bool abort) override;

  Async<ComputeRequirement> get_compute_requirement(std::string id) override;
  Async<ComputeRequirement> terminate_compute_requirement(std::string id) override;
  Async<std::vector<Instance>> search_instances(InstanceSearch search) override;

  Async<std::unique_ptr<UpdateStream<WorkRequirement>>> watch_work_requirement(std::string id) override;
  Async<std::unique_ptr<UpdateStream<WorkerPool>>> watch_worker_pool(std::string id) override;
  Async<std::unique_ptr<UpdateStream<ComputeRequirement>>> watch_compute_requirement(std::string id) override;

 private:
  struct Stream;
  template <class T>
  class TypedStream;

  // Sends the call with retries; the 2xx body or the final error.
  Async<std::string> execute(ApiCall call);
  boost::asio::awaitable<void> pause(std::chrono::milliseconds d);  // options_.sleep or a timer
  template <class T>
  Async<T> execute_json(ApiCall call);
  template <class T, class MakeCall>
  Async<std::vector<T>> collect(MakeCall make_call);
  Async<std::unique_ptr<Stream>> open_stream(ApiCall call);

  std::string authorization() const;
  std::vector<std::string> secrets() const;
  double draw();

  YellowDogClientOptions options_;
  std::unique_ptr<http::Client> http_;
  std::vector<std::string> old_secrets_;
  std::uint64_t requests_sent_ = 0;
  std::optional<std::chrono::system_clock::time_point> server_time_;
  std::uint64_t rng_state_;
};

}  // namespace raydog::yellowdog
