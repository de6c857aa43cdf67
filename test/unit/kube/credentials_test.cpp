#include "controller/kube/credentials.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "test/support/process.hpp"
#include "test/unit/kube/io_util.hpp"

using namespace raydog::kube;
using raydog::Result;
using raydog::kube::testing::run_until;
using raydog::test::TempDir;
using raydog::test::write_file;

namespace {

// Runs creds.get() to completion on `io`.
Result<AuthState, ConfigError> get_now(boost::asio::io_context& io, Credentials& creds) {
  std::optional<Result<AuthState, ConfigError>> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await creds.get()); },
      boost::asio::detached);
  REQUIRE(run_until(io, [&] { return out.has_value(); }));
  return std::move(*out);
}

std::string plugin(const TempDir& dir, const std::string& expiry) {
  // Counts its runs in a file and hands out token-<n>.
  std::string path = dir.file("plugin.sh");
  write_file(
      path,
      "#!/bin/sh\nn=$(cat \"$COUNT\" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > \"$COUNT\"\n"
      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{"
      "\"token\":\"token-'$n'\"" +
          (expiry.empty() ? std::string() : ",\"expirationTimestamp\":\"" + expiry + "\"") + "}}'\n");
  chmod(path.c_str(), 0755);
  return path;
}

RestConfig exec_config(const TempDir& dir, const std::string& cmd) {
  RestConfig rc;
  rc.server = "https://127.0.0.1:1";
  ExecConfig e;
  e.command = cmd;
  e.api_version = "client.authentication.k8s.io/v1";
  e.env = {{"COUNT", dir.file("count")}};
  rc.exec = e;
  return rc;
}

}  // namespace

TEST_CASE("credentials: static token and basic auth") {
  boost::asio::io_context io;
  RestConfig rc;
  rc.token = "abc";
  Credentials c(io.get_executor(), rc);
  auto st = get_now(io, c);
  REQUIRE(st.ok());
  CHECK(st->authorization == "Bearer abc");
  CHECK_FALSE(c.invalidate());  // nothing dynamic to refresh

  RestConfig basic;
  basic.username = "u";
  basic.password = "p";
  Credentials b(io.get_executor(), basic);
  CHECK(get_now(io, b)->authorization == "Basic dTpw");
}

TEST_CASE("credentials: a rotated token file is picked up on refresh and after a 401") {
  boost::asio::io_context io;
  TempDir dir;
  write_file(dir.file("token"), "first\n");
  RestConfig rc;
  rc.token_file = dir.file("token");
  Credentials c(io.get_executor(), rc, std::chrono::hours(1));
  CHECK(get_now(io, c)->authorization == "Bearer first");
  write_file(dir.file("token"), "second\n");
  CHECK(get_now(io, c)->authorization == "Bearer first");  // cached within the refresh period
  CHECK(c.invalidate());                                   // a 401
  CHECK(get_now(io, c)->authorization == "Bearer second");
  CHECK(c.token_file_reads() == 2);

  Credentials eager(io.get_executor(), rc, std::chrono::milliseconds(0));
  CHECK(get_now(io, eager)->authorization == "Bearer second");
  write_file(dir.file("token"), "third");
  CHECK(get_now(io, eager)->authorization == "Bearer third");

  std::filesystem::remove(dir.file("token"));
  auto err = get_now(io, eager);
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().message == "token file " + dir.file("token") + ": No such file or directory");
}

TEST_CASE("credentials: exec credentials are cached until expiry and re-run after a 401") {
  boost::asio::io_context io;
  TempDir dir;
  SUBCASE("far expiry: cached") {
    Credentials c(io.get_executor(), exec_config(dir, plugin(dir, "2099-01-01T00:00:00Z")));
    CHECK(get_now(io, c)->authorization == "Bearer token-1");
    CHECK(get_now(io, c)->authorization == "Bearer token-1");
    CHECK(c.exec_runs() == 1);
    CHECK(c.invalidate());
    CHECK(get_now(io, c)->authorization == "Bearer token-2");
    CHECK(c.exec_runs() == 2);
  }
  SUBCASE("past expiry: re-run every time") {
    Credentials c(io.get_executor(), exec_config(dir, plugin(dir, "2001-01-01T00:00:00Z")));
    CHECK(get_now(io, c)->authorization == "Bearer token-1");
    CHECK(get_now(io, c)->authorization == "Bearer token-2");
    CHECK(c.exec_runs() == 2);
  }
}

TEST_CASE("credentials: concurrent callers share one plugin run") {
  boost::asio::io_context io;
  TempDir dir;
  Credentials c(io.get_executor(), exec_config(dir, plugin(dir, "")));
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i)
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          auto r = co_await c.get();
          got.push_back(r ? r->authorization : r.error().message);
        },
        boost::asio::detached);
  REQUIRE(run_until(io, [&] { return got.size() == 5; }));
  CHECK(c.exec_runs() == 1);
  for (auto& g : got) CHECK(g == "Bearer token-1");
}

TEST_CASE("credentials: a failing plugin is an error naming the plugin") {
  boost::asio::io_context io;
  TempDir dir;
  write_file(dir.file("bad.sh"), "#!/bin/sh\necho 'no login' >&2\nexit 1\n");
  chmod(dir.file("bad.sh").c_str(), 0755);
  Credentials c(io.get_executor(), exec_config(dir, dir.file("bad.sh")));
  auto r = get_now(io, c);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("exec plugin " + dir.file("bad.sh")) == 0);
  CHECK(r.error().message.find("exited with status 1: no login") != std::string::npos);
}
