#pragma once
// "127.0.0.1:<port>" where nothing listens: a port bound and closed again, for a head, proxy or server
// that refuses connections. (Another process could take the port in between; on loopback in a test run
// that is as unlikely as with any free-port choice.)
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace raydog::test {

inline std::string closed_loopback_address() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor closed(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string address = "127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  closed.close();
  return address;
}

}  // namespace raydog::test
