#include "controller/kube/credentials.hpp"

#include "controller/util/strings.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "controller/util/base64.hpp"

namespace raydog::kube {
namespace {

using ExecResult = std::optional<Result<ExecCredential, ConfigError>>;

// Runs on the helper thread. Parameters by value: the frame owns them.
net::awaitable<ExecResult> exec_on_helper(ExecConfig exec, RestConfig cluster,
                                          std::chrono::milliseconds timeout) {
  co_return ExecResult(run_exec_plugin(exec, cluster, timeout));
}

}  // namespace

struct Credentials::Impl {
  Impl(net::any_io_executor ex, RestConfig c) : ex(ex), config(std::move(c)), pool(1) {}
  net::any_io_executor ex;
  RestConfig config;
  std::chrono::milliseconds token_file_refresh{};
  std::chrono::milliseconds exec_timeout{};
  net::thread_pool pool;

  std::string file_token;
  std::optional<std::chrono::steady_clock::time_point> file_read_at;

  std::optional<ExecCredential> exec_cred;
  bool exec_running = false;
  std::vector<std::shared_ptr<net::steady_timer>> exec_waiters;
  std::uint64_t tls_generation = 0;
};

Credentials::Credentials(net::any_io_executor ex, RestConfig config,
                         std::chrono::milliseconds token_file_refresh, std::chrono::milliseconds exec_timeout)
    : impl_(std::make_shared<Impl>(ex, std::move(config))) {
  impl_->token_file_refresh = token_file_refresh;
  impl_->exec_timeout = exec_timeout;
}

Credentials::~Credentials() {
  impl_->pool.stop();
  impl_->pool.join();
}

bool Credentials::invalidate() {
  bool dynamic = false;
  if (impl_->config.exec) {
    impl_->exec_cred.reset();
    dynamic = true;
  }
  if (!impl_->config.token_file.empty() && impl_->config.token.empty()) {
    impl_->file_read_at.reset();
    dynamic = true;
  }
  return dynamic;
}

net::awaitable<Result<AuthState, ConfigError>> Credentials::get() {
  auto impl = impl_;  // keep state alive across suspensions
  AuthState st;
  const auto& cfg = impl->config;
  if (cfg.exec) {
    const auto expired = [&] {
      return !impl->exec_cred ||
             (impl->exec_cred->expiry && std::chrono::system_clock::now() >= *impl->exec_cred->expiry);
    };
    while (expired() && impl->exec_running) {
      // Another request is already running the plugin: wait for it instead of running it twice.
      auto t = std::make_shared<net::steady_timer>(impl->ex, net::steady_timer::time_point::max());
      impl->exec_waiters.push_back(t);
      boost::system::error_code ec;
      co_await t->async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    if (expired()) {
      impl->exec_running = true;
      ++exec_runs_;
      ExecResult r = co_await net::co_spawn(
          impl->pool.get_executor(), exec_on_helper(*cfg.exec, cfg, impl->exec_timeout), net::use_awaitable);
      impl->exec_running = false;
      for (auto& w : impl->exec_waiters) w->cancel();
      impl->exec_waiters.clear();
      if (!r || !*r) co_return unexpected(r && !*r ? r->error() : ConfigError{"exec plugin: no result"});
      ExecCredential cred = std::move(r->value());
      if (!impl->exec_cred || impl->exec_cred->client_cert_pem != cred.client_cert_pem ||
          impl->exec_cred->client_key_pem != cred.client_key_pem)
        if (!cred.client_cert_pem.empty()) ++impl->tls_generation;
      impl->exec_cred = std::move(cred);
    }
    if (!impl->exec_cred->token.empty()) st.authorization = "Bearer " + impl->exec_cred->token;
    st.client_cert_pem = impl->exec_cred->client_cert_pem;
    st.client_key_pem = impl->exec_cred->client_key_pem;
    st.tls_generation = impl->tls_generation;
    if (!st.authorization.empty() || !st.client_cert_pem.empty()) co_return st;
  }
  if (!cfg.token.empty()) {
    st.authorization = "Bearer " + cfg.token;
  } else if (!cfg.token_file.empty()) {
    const auto now = std::chrono::steady_clock::now();
    if (!impl->file_read_at || now - *impl->file_read_at >= impl->token_file_refresh) {
      // A few bytes: reading on the io thread is fine.
      std::ifstream in(cfg.token_file, std::ios::binary);
      if (!in)
        co_return unexpected(ConfigError{"token file " + cfg.token_file + ": " + std::strerror(errno)});
      std::ostringstream ss;
      ss << in.rdbuf();
      std::string tok = trim(ss.str());
      if (tok.empty()) co_return unexpected(ConfigError{"token file " + cfg.token_file + ": empty"});
      ++token_file_reads_;
      impl->file_token = std::move(tok);
      impl->file_read_at = now;
    }
    st.authorization = "Bearer " + impl->file_token;
  } else if (!cfg.username.empty()) {
    st.authorization = "Basic " + base64_encode(cfg.username + ":" + cfg.password);
  }
  co_return st;
}

}  // namespace raydog::kube
