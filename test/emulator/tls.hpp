#pragma once
// Fresh TLS material for one emulator run, generated in memory with the OpenSSL C API: a self-signed CA,
// a server certificate for 127.0.0.1/localhost/::1 and a client certificate (CN=kube-emulator-admin,
// O=system:masters) that the server accepts in place of the bearer token.
#include <string>

#include "controller/util/result.hpp"

namespace raydog::emulator {

struct TlsMaterial {
  std::string ca_cert_pem;
  std::string server_cert_pem, server_key_pem;
  std::string client_cert_pem, client_key_pem;
};

Result<TlsMaterial, std::string> generate_tls_material();

}  // namespace raydog::emulator
