// Fuzz targets for what servers send us: YellowDog bodies and event streams, the DALiuGE DIM's lists, and
// raw HTTP/1.1 responses as the client's parser reads them (then the Kubernetes and YellowDog error decoders).
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "controller/daliuge/dim_wire.hpp"
#include "controller/kube/rest.hpp"
#include "controller/yellowdog/errors.hpp"
#include "controller/yellowdog/model.hpp"
#include "controller/yellowdog/sse.hpp"
#include "test/fuzz/targets.hpp"

namespace raydog::fuzz {
namespace {

// A body that parsed re-encodes into JSON that parses into the same type again.
template <class T>
void round_trip(std::string_view body, const char* type) {
  auto v = yellowdog::parse_text<T>(body);
  if (!v) return;
  yellowdog::Json encoded = *v;
  auto again = yellowdog::parse<T>(encoded);
  if (!again) violated(std::string("yellowdog_model: ") + type + " does not re-read its own JSON: " + again.error());
}

bool same(const std::vector<yellowdog::SseEvent>& a, const std::vector<yellowdog::SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  }
  return true;
}

}  // namespace

int yellowdog_model(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body = text_of(data + 1, size - 1);
  switch (data[0] % 8) {
    case 0: round_trip<yellowdog::WorkRequirement>(body, "WorkRequirement"); break;
    case 1: round_trip<yellowdog::WorkerPool>(body, "WorkerPool"); break;
    case 2: round_trip<yellowdog::Node>(body, "Node"); break;
    case 3: round_trip<yellowdog::Task>(body, "Task"); break;
    case 4: round_trip<yellowdog::ComputeRequirement>(body, "ComputeRequirement"); break;
    case 5: (void)yellowdog::parse_text<yellowdog::Slice<yellowdog::WorkRequirementSummary>>(body); break;
    case 6: (void)yellowdog::parse_text<yellowdog::Slice<yellowdog::WorkerPoolSummary>>(body); break;
    default: {
      // An error answer with any status: decoded, bounded, and free of the secret the request carried.
      const int status = 400 + data[0] % 200;
      auto e = yellowdog::error_from_response(status, body, "POST /work/requirements");
      yellowdog::redact(e, {"fuzz-secret-value"});
      if (e.message.find("fuzz-secret-value") != std::string::npos) violated("yellowdog error: redaction missed");
      break;
    }
  }
  return 0;
}

int sse(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks where the stream is cut into chunks; the events must not depend on it.
  const std::size_t step = 1 + data[0] % 7;
  const std::string_view stream = text_of(data + 1, size - 1);
  yellowdog::SseParser whole, split;
  std::vector<yellowdog::SseEvent> a, b;
  whole.feed(stream, a);
  for (std::size_t at = 0; at < stream.size(); at += step) split.feed(stream.substr(at, step), b);
  if (!same(a, b)) violated("sse: chunking changed the events");
  if (whole.retry_ms() != split.retry_ms() || whole.last_event_id() != split.last_event_id())
    violated("sse: chunking changed retry or last-event-id");
  return 0;
}

int dim_nodes(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = text_of(data, size);
  if (auto nodes = daliuge::parse_node_list(body)) {
    const std::string again = nlohmann::json(*nodes).dump();
    auto reread = daliuge::parse_node_list(again);
    if (!reread || *reread != *nodes) violated("dim_nodes: a node list does not re-read");
  }
  (void)daliuge::parse_sessions_active(body);
  return 0;
}

int http_response(const std::uint8_t* data, std::size_t size) {
  namespace bhttp = boost::beast::http;
  if (size == 0) return 0;
  // As the client reads (controller/http/client.cpp): the client's limits, the head on its own (eager off),
  // then the body eagerly; the bytes arrive in two pieces cut where byte 0 says.
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(256 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(false);
  const std::string_view bytes = text_of(data + 1, size - 1);
  const std::size_t cut = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  std::string pending;
  boost::system::error_code ec;
  for (std::string_view piece : {bytes.substr(0, cut), bytes.substr(cut)}) {
    pending.append(piece);
    while (!pending.empty() && !parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec) return 0;
      if (parser.is_header_done()) parser.eager(true);
      if (used == 0) break;
    }
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const auto& res = parser.get();
  const int code = static_cast<int>(res.result_int());
  const std::string retry_after(res[bhttp::field::retry_after]);
  auto status = kube::decode_status(code, res.body(), retry_after);
  if (code >= 300 && status.code != code) violated("http_response: the Status decoder lost the HTTP code");
  auto yd = yellowdog::error_from_response(code, res.body(), "GET /work/requirements/x");
  if (yd.http_status != code) violated("http_response: the YellowDog decoder lost the HTTP code");
  return 0;
}

const std::vector<NamedTarget>& all_targets() {
  static const std::vector<NamedTarget> targets{
      {"kubeconfig", kubeconfig},     {"raydogcluster", raydogcluster},     {"yaml_json", yaml_json},
      {"yellowdog_model", yellowdog_model}, {"sse", sse},                  {"dim_nodes", dim_nodes},
      {"durations", durations},       {"http_response", http_response},     {"egress", egress},
  };
  return targets;
}

void violated(std::string_view what) {
  std::fprintf(stderr, "fuzz property violated: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace raydog::fuzz
