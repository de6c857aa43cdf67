#include "controller/yellowdog/sse.hpp"

#include <cctype>

namespace raydog::yellowdog {

void SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
  for (char c : chunk) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      line(buffer_, out);
      buffer_.clear();
    } else {
      buffer_.push_back(c);
    }
  }
}

void SseParser::line(std::string_view l, std::vector<SseEvent>& out) {
  if (l.empty()) {  // dispatch
    if (has_data_) {
      SseEvent e;
      if (!event_.empty()) e.event = event_;
      e.data = data_;
      e.id = id_;
      out.push_back(std::move(e));
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    id_.reset();
    return;
  }
  if (l.front() == ':') return;  // comment / keep-alive
  std::string_view field = l, value;
  if (auto colon = l.find(':'); colon != std::string_view::npos) {
    field = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_ = std::string(value);
  } else if (field == "data") {
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      id_ = std::string(value);
      last_event_id_ = *id_;
    }
  } else if (field == "retry") {
    bool digits = !value.empty();
    for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits && value.size() < 10) retry_ms_ = std::stoi(std::string(value));
  }
}

}  // namespace raydog::yellowdog
