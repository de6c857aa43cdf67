// TLS: a test CA, server and client certificates made with the openssl CLI in a TempDir.
#include <doctest/doctest.h>

#include "test/support/connect_proxy.hpp"
#include "test/support/process.hpp"
#include "test/unit/http/test_util.hpp"

using namespace raydog::http;
using namespace raydog::http::testing;
using namespace std::chrono_literals;
namespace rt = raydog::test;

namespace {

struct Pki {
  std::string ca_crt, server_crt, server_key, client_crt, client_key;
  std::string other_ca_crt;                        // a CA that signed nothing we use
  std::string named_server_crt, named_server_key;  // SAN only "api.test.invalid" (no IP)
  std::string client2_crt, client2_key;            // CN=rotated-client
};

void openssl(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  rt::ProcessOptions o;
  o.working_dir = dir;
  auto r = rt::run_command(argv, o, 60s);
  INFO("openssl " << args[0] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

void make_ca(const std::string& dir, const std::string& name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + name, "-addext",
           "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
          dir);
}

void make_leaf(const std::string& dir, const std::string& name, const std::string& cn,
               const std::string& ext) {
  rt::write_file(dir + "/" + name + ".ext", ext + "\n");
  openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn},
          dir);
  openssl({"x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
           "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext"},
          dir);
}

// Made once per test process (each TEST_CASE runs in its own process under ctest anyway).
const Pki& pki() {
  static const Pki p = [] {
    rt::TempDir dir;
    const std::string d = dir.path().string();
    make_ca(d, "ca");
    make_ca(d, "other");
    make_leaf(d, "server", "server",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
    make_leaf(d, "named", "named", "subjectAltName=DNS:api.test.invalid\nextendedKeyUsage=serverAuth");
    make_leaf(d, "client", "raydog-client", "extendedKeyUsage=clientAuth");
    make_leaf(d, "client2", "rotated-client", "extendedKeyUsage=clientAuth");
    Pki out;
    out.ca_crt = rt::read_file(d + "/ca.crt");
    out.other_ca_crt = rt::read_file(d + "/other.crt");
    out.server_crt = rt::read_file(d + "/server.crt");
    out.server_key = rt::read_file(d + "/server.key");
    out.named_server_crt = rt::read_file(d + "/named.crt");
    out.named_server_key = rt::read_file(d + "/named.key");
    out.client_crt = rt::read_file(d + "/client.crt");
    out.client_key = rt::read_file(d + "/client.key");
    out.client2_crt = rt::read_file(d + "/client2.crt");
    out.client2_key = rt::read_file(d + "/client2.key");
    return out;
  }();
  return p;
}

ServerOptions tls_server(const std::string& crt, const std::string& key, const std::string& client_ca = {}) {
  ServerOptions o;
  o.tls = make_server_tls_context(crt, key, client_ca);
  return o;
}

ClientOptions tls_client(const std::string& url, TlsOptions tls) {
  ClientOptions o = client_options(url);
  o.tls = std::move(tls);
  return o;
}

TlsOptions with_ca(const std::string& ca) {
  TlsOptions t;
  t.ca_pem = ca;
  return t;
}

// Answers with what the server saw of the peer.
Handler who_am_i() {
  return [](Exchange& ex) -> net::awaitable<void> {
    co_await ex.respond(make_response(
        ex.request(), bhttp::status::ok,
        std::string(ex.peer().tls ? "tls" : "plain") + "|" + ex.peer().client_cert_cn, "text/plain"));
  };
}

}  // namespace

TEST_CASE("tls: verified round trip, keep-alive reuse, streaming") {
  const Pki& p = pki();
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, tls_server(p.server_crt, p.server_key), [](Exchange& ex) -> net::awaitable<void> {
      if (ex.request().target() == "/watch") {
        ResponseHead head;
        head.result(bhttp::status::ok);
        co_await ex.begin_stream(std::move(head));
        co_await ex.write_chunk("{\"a\":");
        co_await ex.write_chunk("1}\n{\"b\":2}\n");
        co_await ex.end_stream();
        co_return;
      }
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, ex.peer().tls ? "tls" : "plain"));
    });
    server.start();
    CHECK(server.base_url().rfind("https://127.0.0.1:", 0) == 0);
    Client client(ioc.get_executor(), tls_client(server.base_url(), with_ca(p.ca_crt)));
    for (int i = 0; i < 3; ++i) {
      auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
      REQUIRE(r.ok());
      CHECK(r->body() == "tls");
      CHECK(server.open_connections() == 1);
    }
    auto s = co_await client.open_stream(make_request(bhttp::verb::get, "/watch"));
    REQUIRE(s.ok());
    const std::vector<std::string> lines = co_await read_lines(**s);
    CHECK(lines == std::vector<std::string>{R"({"a":1})", R"({"b":2})"});
  });
}

TEST_CASE("tls: the wrong CA fails verification, insecure_skip_verify connects anyway") {
  const Pki& p = pki();
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, tls_server(p.server_crt, p.server_key), who_am_i());
    server.start();
    Client wrong(ioc.get_executor(), tls_client(server.base_url(), with_ca(p.other_ca_crt)));
    auto r = co_await wrong.send(make_request(bhttp::verb::get, "/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == TransportError::Kind::kTls);
    CHECK(r.error().message.find("tls handshake 127.0.0.1:") == 0);
    CHECK(r.error().message.find("certificate") != std::string::npos);
    auto s = co_await wrong.open_stream(make_request(bhttp::verb::get, "/"));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == TransportError::Kind::kTls);

    TlsOptions skip = with_ca(p.other_ca_crt);
    skip.insecure_skip_verify = true;
    Client insecure(ioc.get_executor(), tls_client(server.base_url(), skip));
    auto ok = co_await insecure.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(ok.ok());
    CHECK(ok->body() == "tls|");

    // A plain-HTTP client talking to a TLS server gets an error value, not a crash.
    Client plain(ioc.get_executor(),
                 client_options("http://127.0.0.1:" + std::to_string(server.local_endpoint().port()), 2s));
    auto garbled = co_await plain.send(make_request(bhttp::verb::get, "/"));
    CHECK_FALSE(garbled.ok());
  });
}

TEST_CASE("tls: host name verification and the server_name override") {
  const Pki& p = pki();
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, tls_server(p.named_server_crt, p.named_server_key), who_am_i());
    server.start();
    // The certificate names api.test.invalid, not 127.0.0.1: trusted CA, wrong name.
    Client by_ip(ioc.get_executor(), tls_client(server.base_url(), with_ca(p.ca_crt)));
    auto r = co_await by_ip.send(make_request(bhttp::verb::get, "/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == TransportError::Kind::kTls);
    TlsOptions named = with_ca(p.ca_crt);
    named.server_name = "api.test.invalid";
    Client by_name(ioc.get_executor(), tls_client(server.base_url(), named));
    auto ok = co_await by_name.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(ok.ok());
    CHECK(ok->result() == bhttp::status::ok);
  });
}

TEST_CASE("tls: client certificates are seen as client_cert_cn, set_tls rotates them") {
  const Pki& p = pki();
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, tls_server(p.server_crt, p.server_key, p.ca_crt), who_am_i());
    server.start();
    TlsOptions mtls = with_ca(p.ca_crt);
    mtls.client_cert_pem = p.client_crt;
    mtls.client_key_pem = p.client_key;
    Client client(ioc.get_executor(), tls_client(server.base_url(), mtls));
    auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(r.ok());
    CHECK(r->body() == "tls|raydog-client");

    Client anonymous(ioc.get_executor(), tls_client(server.base_url(), with_ca(p.ca_crt)));
    auto a = co_await anonymous.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(a.ok());
    CHECK(a->body() == "tls|");

    // Rotation: the pooled connection (old identity) is not reused.
    mtls.client_cert_pem = p.client2_crt;
    mtls.client_key_pem = p.client2_key;
    client.set_tls(mtls);
    auto rotated = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(rotated.ok());
    CHECK(rotated->body() == "tls|rotated-client");
  });
}

TEST_CASE("tls: unreadable material is rejected without echoing it") {
  const Pki& p = pki();
  net::io_context ioc;
  TlsOptions bad_ca;
  bad_ca.ca_pem = "not a certificate SECRET-CA";
  CHECK_THROWS_AS(Client(ioc.get_executor(), tls_client("https://127.0.0.1:1", bad_ca)),
                  std::invalid_argument);
  TlsOptions bad_key = with_ca(p.ca_crt);
  bad_key.client_cert_pem = p.client_crt;
  bad_key.client_key_pem = "-----BEGIN PRIVATE KEY-----\nSECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n";
  try {
    Client c(ioc.get_executor(), tls_client("https://127.0.0.1:1", bad_key));
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("client key") != std::string::npos);
    CHECK(what.find("SECRET") == std::string::npos);
  }
  TlsOptions half = with_ca(p.ca_crt);
  half.client_cert_pem = p.client_crt;
  CHECK_THROWS_AS(Client(ioc.get_executor(), tls_client("https://127.0.0.1:1", half)), std::invalid_argument);
  CHECK_THROWS_AS(make_server_tls_context("junk", p.server_key), std::invalid_argument);
  // A plain URL ignores TLS material entirely.
  CHECK_NOTHROW(Client(ioc.get_executor(), tls_client("http://127.0.0.1:1", bad_ca)));
}

TEST_CASE("tls: through a CONNECT proxy the handshake and verification are end to end") {
  const Pki& p = pki();
  rt::ConnectProxy proxy;
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, tls_server(p.server_crt, p.server_key), who_am_i());
    server.start();
    auto egress = EgressProxies::parse(proxy.url(), "", "");
    REQUIRE(egress.error.empty());
    ClientOptions trusted = tls_client(server.base_url(), with_ca(p.ca_crt));
    trusted.egress = egress.proxies;
    Client client(ioc.get_executor(), trusted);
    auto ok = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(ok.ok());
    CHECK(ok->body() == "tls|");
    CHECK(proxy.tunnels_opened() == 1);
    // The proxy cannot vouch for the server: the wrong CA still fails, naming the target, not the proxy.
    ClientOptions untrusted = tls_client(server.base_url(), with_ca(p.other_ca_crt));
    untrusted.egress = egress.proxies;
    Client wrong(ioc.get_executor(), untrusted);
    auto r = co_await wrong.send(make_request(bhttp::verb::get, "/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == TransportError::Kind::kTls);
    CHECK(r.error().message.starts_with("tls handshake 127.0.0.1:" + std::to_string(server.local_endpoint().port())));
    CHECK(proxy.tunnels_opened() == 2);
  });
}
