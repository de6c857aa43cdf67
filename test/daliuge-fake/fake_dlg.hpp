#pragma once
// A faithful fake of DALiuGE's Data Island Manager and Node Managers for tests (daliuge-integration.md §6),
// served in-process on the shared controller/http server from its own io_context thread.
//
// The DIM keeps an ordered node list that allows duplicates: POST /api/node/<n> always appends the
// canonical four-part form (an invalid port falls back to its default), DELETE removes the first match
// and answers 500 text/html when there is none; unknown paths (including the old /api/nodes/<x>) answer
// 404 text/html and a wrong method on a known path 405 text/html. Faults: restart (the list is lost),
// drop the responses of the next N writes after applying them, inject entries behind the operator's back,
// report active sessions. Every request is logged (method, target, status; 0 = response dropped).
//
// NMs answer GET /api with {"sessions": []}; stopping one makes its address refuse connections.
// Servers bind the addresses they are given (the simulated nodes' 127.1.x.y IPs), never anything else.
// All methods are thread-safe: they run their work on the fake's io thread and wait for it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace raydog::daliuge::fake {

struct LogEntry {
  std::string method;  // GET, POST, DELETE, ...
  std::string target;  // /api/node/127.1.0.3:8000:5555:6666
  int status = 0;      // 0: the response was dropped after the write was applied
};

class FakeDlg {
 public:
  FakeDlg();
  ~FakeDlg();
  FakeDlg(const FakeDlg&) = delete;
  FakeDlg& operator=(const FakeDlg&) = delete;

  // DIM on "ip:port" (one DIM per fake). Returns its base URL. Throws when it cannot bind.
  std::string start_dim(const std::string& listen);
  void stop_dim();
  // The DIM's node list as GET /api/nodes would answer it.
  std::vector<std::string> dim_nodes();
  // A restart: the list is emptied (the -N start-up list is empty here), open connections are closed.
  void restart_dim();
  // The next n POST/DELETE on the node API are applied, then their connections closed without an answer.
  void drop_next_write_responses(int n);
  // Appends an entry as another writer would (a duplicate, a stale node): not logged as a request.
  void inject_node(const std::string& node);
  // GET /api/sessions reports one RUNNING session on every listed node while true.
  void set_sessions_active(bool active);
  std::vector<LogEntry> dim_log();
  void clear_dim_log();

  // Node Managers on "ip:port".
  void start_nm(const std::string& listen);
  void stop_nm(const std::string& listen);
  bool nm_running(const std::string& listen);
  std::vector<std::string> nms();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The DIM's canonical form of a node string (the fake's own copy, independent of the operator's).
std::string canonical(const std::string& node);

}  // namespace raydog::daliuge::fake
