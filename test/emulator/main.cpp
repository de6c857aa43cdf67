// kube-emulator: flags and wiring only (see README.md).
//   kube-emulator --listen 127.0.0.1:0 --write-kubeconfig FILE [--tls] [--token T] [--client-cert]
//                 [--history N] [--drop-watches-every DURATION] [--verbose] [--request-log FILE]
//                 [--allow-loopback-endpoints]
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "controller/util/base64.hpp"
#include "test/emulator/api.hpp"
#include "test/emulator/front.hpp"
#include "test/emulator/tls.hpp"

namespace {

using namespace raydog::emulator;

void usage() {
  std::cerr << "usage: kube-emulator --listen HOST:PORT --write-kubeconfig FILE [--tls] [--token T] "
               "[--client-cert]\n"
               "                     [--history N] [--drop-watches-every DURATION] [--verbose]\n"
               "                     [--allow-loopback-endpoints]\n"
               "                     [--request-log FILE]\n";
}

// "500ms", "30s", "5m", "1h" -> milliseconds; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& s) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = s.substr(pos);
  double ms = unit == "ms"                  ? v
              : unit == "s" || unit.empty() ? v * 1000
              : unit == "m"                 ? v * 60000
              : unit == "h"                 ? v * 3600000
                                            : -1;
  if (ms <= 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::string random_token() {
  std::random_device rd;
  const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 40; ++i) t += hex[rd() % 16];
  return t;
}

// Written to a temporary name and renamed, so a reader never sees half a file.
bool write_kubeconfig(const std::string& file, const std::string& url, const TlsMaterial* tls,
                      const std::string& token, bool client_cert) {
  std::string y =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: " + url + "\n";
  if (tls) y += "    certificate-authority-data: " + raydog::base64_encode(tls->ca_cert_pem) + "\n";
  y += "contexts:\n- name: kube-emulator\n  context:\n    cluster: kube-emulator\n    user: kube-emulator\n  "
       "  namespace: default\n";
  y += "current-context: kube-emulator\nusers:\n- name: kube-emulator\n  user:";
  if (tls && client_cert)
    y += "\n    client-certificate-data: " + raydog::base64_encode(tls->client_cert_pem) +
         "\n    client-key-data: " + raydog::base64_encode(tls->client_key_pem) + "\n";
  else if (tls)
    y += "\n    token: " + token + "\n";
  else
    y += " {}\n";
  std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << y;
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               ec);
  std::filesystem::rename(tmp, file, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", kubeconfig, token, request_log;
  bool tls = false, client_cert = false, verbose = false, allow_loopback_endpoints = false;
  std::size_t history = 200000;
  std::optional<std::chrono::milliseconds> drop_every;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "kube-emulator: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--listen")
      listen = value();
    else if (a == "--write-kubeconfig")
      kubeconfig = value();
    else if (a == "--tls")
      tls = true;
    else if (a == "--token")
      token = value();
    else if (a == "--client-cert")
      client_cert = true;
    else if (a == "--verbose")
      verbose = true;
    else if (a == "--request-log")
      request_log = value();
    else if (a == "--allow-loopback-endpoints")
      allow_loopback_endpoints = true;
    else if (a == "--history") {
      std::string v = value();
      try {
        history = std::stoul(v);
      } catch (...) {
        history = 0;
      }
      if (history == 0) {
        std::cerr << "kube-emulator: --history must be a positive integer, got '" << v << "'\n";
        return 2;
      }
    } else if (a == "--drop-watches-every") {
      std::string v = value();
      drop_every = parse_duration(v);
      if (!drop_every) {
        std::cerr << "kube-emulator: --drop-watches-every: bad duration '" << v
                  << "' (e.g. 500ms, 10s, 1m)\n";
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::cerr << "kube-emulator: unknown flag " << a << "\n";
      usage();
      return 2;
    }
  }
  if ((!token.empty() || client_cert) && !tls) {
    std::cerr
        << "kube-emulator: --token and --client-cert need --tls (kubectl sends no credentials over http)\n";
    return 2;
  }
  boost::asio::io_context ioc(1);
  Api api(ApiOptions{history, allow_loopback_endpoints});
  FrontOptions fo;
  fo.listen = listen;
  fo.tls = tls;
  fo.verbose = verbose;
  fo.request_log = request_log;
  fo.drop_watches_every = drop_every;
  std::optional<TlsMaterial> material;
  if (tls) {
    auto m = generate_tls_material();
    if (!m) {
      std::cerr << "kube-emulator: TLS setup failed: " << m.error() << "\n";
      return 1;
    }
    material = *m;
    if (token.empty()) token = random_token();
    fo.token = token;
    fo.server_cert_pem = material->server_cert_pem;
    fo.server_key_pem = material->server_key_pem;
    fo.ca_cert_pem = material->ca_cert_pem;
  }
  Front front(ioc, api, fo);
  try {
    front.start();
  } catch (const std::exception& e) {
    std::cerr << "kube-emulator: " << e.what() << "\n";
    return 1;
  }
  std::string url = front.base_url();
  if (!kubeconfig.empty() &&
      !write_kubeconfig(kubeconfig, url, material ? &*material : nullptr, token, client_cert)) {
    std::cerr << "kube-emulator: cannot write kubeconfig " << kubeconfig << "\n";
    return 1;
  }
  std::cout << "kube-emulator listening on " << url << std::endl;
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    front.stop();
    // Give streams a moment to finish their last chunk, then stop.
    boost::asio::post(ioc, [&ioc] { ioc.stop(); });
  });
  ioc.run();
  return 0;
}
