// SSE parsing across arbitrary chunk boundaries.
#include <doctest/doctest.h>

#include "controller/yellowdog/sse.hpp"

using namespace raydog::yellowdog;

namespace {
const std::string kStream =
    ": keep-alive\r\n"
    "event: entity_updated\r\n"
    "data: {\"id\":\"ydid:workreq:000000:1\",\r\n"
    "data: \"status\":\"RUNNING\"}\r\n"
    "id: 7\r\n"
    "\r\n"
    "retry: 1500\n"
    "event:entity_updated\n"
    "data:{\"id\":\"ydid:workreq:000000:1\",\"status\":\"CANCELLING\"}\n"
    "\n"
    "data: plain message\r"
    "\r"
    "event: ignored-without-data\n"
    "\n";

void check(const std::vector<SseEvent>& ev) {
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].event == "entity_updated");
  CHECK(ev[0].data == "{\"id\":\"ydid:workreq:000000:1\",\n\"status\":\"RUNNING\"}");
  CHECK(ev[0].id == "7");
  CHECK(ev[1].event == "entity_updated");
  CHECK(ev[1].data == "{\"id\":\"ydid:workreq:000000:1\",\"status\":\"CANCELLING\"}");
  CHECK_FALSE(ev[1].id);
  CHECK(ev[2].event == "message");
  CHECK(ev[2].data == "plain message");
}
}  // namespace

TEST_CASE("SSE: whole stream in one chunk") {
  SseParser p;
  std::vector<SseEvent> ev;
  p.feed(kStream, ev);
  check(ev);
  CHECK(p.retry_ms() == 1500);
  CHECK(p.last_event_id() == "7");
}

TEST_CASE("SSE: every split point and byte-by-byte give the same events") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    SseParser p;
    std::vector<SseEvent> ev;
    p.feed(std::string_view(kStream).substr(0, cut), ev);
    p.feed(std::string_view(kStream).substr(cut), ev);
    check(ev);
  }
  SseParser p;
  std::vector<SseEvent> ev;
  for (char c : kStream) p.feed(std::string_view(&c, 1), ev);
  check(ev);
}

TEST_CASE("SSE: an unterminated event is not emitted") {
  SseParser p;
  std::vector<SseEvent> ev;
  p.feed("event: entity_updated\ndata: {}\n", ev);
  CHECK(ev.empty());
  p.feed("\n", ev);
  CHECK(ev.size() == 1);
}
