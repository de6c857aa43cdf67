#pragma once
// Server-Sent Events parsing (the `/updates` streams of yellowdog-api.md §4.1: event `entity_updated`,
// data = the full entity JSON). Pure and incremental: bytes may arrive split anywhere, including inside a
// "\r\n" pair or a multi-byte character; an event is emitted only at its terminating blank line.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raydog::yellowdog {

struct SseEvent {
  std::string event = "message";  // the `event:` field; "message" when absent (per the SSE spec)
  std::string data;               // `data:` lines joined with "\n"
  std::optional<std::string> id;
};

class SseParser {
 public:
  // Feeds the next chunk; complete events are appended to `out`.
  void feed(std::string_view chunk, std::vector<SseEvent>& out);
  std::optional<int> retry_ms() const { return retry_ms_; }
  const std::string& last_event_id() const { return last_event_id_; }

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);
  std::string buffer_;
  bool skip_lf_ = false;  // the previous chunk ended with '\r': a leading '\n' belongs to it
  std::string event_, data_;
  bool has_data_ = false;
  std::optional<std::string> id_;
  std::string last_event_id_;
  std::optional<int> retry_ms_;
};

}  // namespace raydog::yellowdog
