// DimClient and nm_answers against the fake DIM/NM (test/daliuge-fake), and the fake's own §6 behaviour.
#include <doctest/doctest.h>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/io_context.hpp>
#include <optional>

#include "controller/daliuge/client.hpp"
#include "controller/http/client.hpp"
#include "test/daliuge-fake/fake_dlg.hpp"
#include "test/support/run_coroutine.hpp"

using namespace raydog::daliuge;
namespace net = boost::asio;
using raydog::test::run_to_completion;
using namespace std::chrono_literals;

namespace {

// Raw HTTP to check the fake's error pages.
std::pair<int, std::string> raw(net::io_context& ioc, const std::string& base, raydog::http::bhttp::verb verb,
                                const std::string& target) {
  raydog::http::ClientOptions o;
  o.base_url = base;
  o.max_idle_connections = 0;
  raydog::http::Client c(ioc.get_executor(), o);
  raydog::http::Request req{verb, target, 11};
  auto r = run_to_completion(ioc, c.send(req, std::chrono::milliseconds(2000)));
  REQUIRE(r.ok());
  return {static_cast<int>(r->result_int()), std::string((*r)[raydog::http::bhttp::field::content_type])};
}

}  // namespace

TEST_CASE("fake DIM: duplicates kept, DELETE removes one, 500 HTML when absent, 404/405 HTML pages") {
  fake::FakeDlg dlg;
  const std::string url = dlg.start_dim("127.0.0.1:0");
  net::io_context ioc;
  DimClient dim(ioc.get_executor(), url, 2000ms);

  CHECK(run_to_completion(ioc, dim.nodes())->empty());
  REQUIRE(run_to_completion(ioc, dim.add_node("127.1.0.5:8000:5555:6666")).ok());
  REQUIRE(run_to_completion(ioc, dim.add_node("127.1.0.5")).ok());  // same node, short form: a second entry
  REQUIRE(run_to_completion(ioc, dim.add_node("127.1.0.6:99999")).ok());  // invalid port -> default
  CHECK(*run_to_completion(ioc, dim.nodes()) == std::vector<std::string>{"127.1.0.5:8000:5555:6666",
                                                                         "127.1.0.5:8000:5555:6666",
                                                                         "127.1.0.6:8000:5555:6666"});
  REQUIRE(run_to_completion(ioc, dim.remove_node("127.1.0.5:8000:5555:6666")).ok());
  CHECK(*run_to_completion(ioc, dim.nodes()) ==
        std::vector<std::string>{"127.1.0.5:8000:5555:6666", "127.1.0.6:8000:5555:6666"});
  auto missing = run_to_completion(ioc, dim.remove_node("127.1.0.9:8000:5555:6666"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == DimError::Kind::kStatus);
  CHECK(missing.error().status == 500);

  using raydog::http::bhttp::verb;
  auto [s500, t500] = raw(ioc, url, verb::delete_, "/api/node/127.1.0.9");
  CHECK(s500 == 500);
  CHECK(t500 == "text/html");
  CHECK(raw(ioc, url, verb::post, "/api/nodes/127.1.0.9") == std::pair<int, std::string>{404, "text/html"});
  CHECK(raw(ioc, url, verb::get, "/api/node/127.1.0.5").first == 405);
  CHECK(raw(ioc, url, verb::put, "/api/nodes").first == 405);
  CHECK(raw(ioc, url, verb::post, "/api/node/").first == 404);

  // Every request is in the log, in order.
  auto log = dlg.dim_log();
  REQUIRE(log.size() >= 4);
  CHECK(log[0].method == "GET");
  CHECK(log[1].method == "POST");
  CHECK(log[1].status == 200);
}

TEST_CASE("fake DIM: a dropped write response is applied and reported as a transport error") {
  fake::FakeDlg dlg;
  const std::string url = dlg.start_dim("127.0.0.1:0");
  net::io_context ioc;
  DimClient dim(ioc.get_executor(), url, 2000ms);
  dlg.drop_next_write_responses(1);
  auto r = run_to_completion(ioc, dim.add_node("127.1.0.5:8000:5555:6666"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == DimError::Kind::kTransport);
  CHECK(dlg.dim_nodes() == std::vector<std::string>{"127.1.0.5:8000:5555:6666"});  // applied anyway
  auto log = dlg.dim_log();
  REQUIRE(log.size() == 1);  // exactly one POST: the client did not resend it
  CHECK(log[0].status == 0);
}

TEST_CASE("fake DIM: restart loses the list, sessions report activity") {
  fake::FakeDlg dlg;
  const std::string url = dlg.start_dim("127.0.0.1:0");
  net::io_context ioc;
  DimClient dim(ioc.get_executor(), url, 2000ms);
  dlg.inject_node("127.1.0.5");
  CHECK(*run_to_completion(ioc, dim.nodes()) == std::vector<std::string>{"127.1.0.5:8000:5555:6666"});
  CHECK(*run_to_completion(ioc, dim.sessions_active()) == false);
  dlg.set_sessions_active(true);
  CHECK(*run_to_completion(ioc, dim.sessions_active()) == true);
  dlg.restart_dim();
  CHECK(run_to_completion(ioc, dim.nodes())->empty());
  dlg.stop_dim();
  auto down = run_to_completion(ioc, dim.nodes());
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().kind == DimError::Kind::kTransport);
}

TEST_CASE("fake NM: answers GET /api while running, refuses once stopped") {
  fake::FakeDlg dlg;
  // A free port number: the DIM on 127.0.0.1 port 0 picks one; the NM reuses the number on another IP.
  const std::string url = dlg.start_dim("127.0.0.1:0");
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  const std::string nm = "127.1.200.8:" + std::to_string(port);
  dlg.start_nm(nm);
  net::io_context ioc;
  CHECK(run_to_completion(ioc, nm_answers(ioc.get_executor(), "127.1.200.8", port, 2000ms)));
  CHECK(dlg.nm_running(nm));
  dlg.stop_nm(nm);
  CHECK_FALSE(run_to_completion(ioc, nm_answers(ioc.get_executor(), "127.1.200.8", port, 2000ms)));
  CHECK_FALSE(dlg.nm_running(nm));
}
