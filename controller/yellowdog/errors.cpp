#include "controller/yellowdog/errors.hpp"

#include <nlohmann/json.hpp>

#include "controller/util/enum_names.hpp"

namespace raydog::yellowdog {
namespace {

constexpr std::size_t kMaxMessage = 512;  // an HTML error page must not become a 100 KiB condition

std::string bounded(std::string_view s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxMessage));
  for (char c : s.substr(0, kMaxMessage)) out.push_back((c == '\n' || c == '\r' || c == '\t') ? ' ' : c);
  if (s.size() > kMaxMessage) out += "...";
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

namespace {
using K = YdErrorKind;
// clang-format off
constexpr EnumName<K> kKindNames[] = {
    {K::kNotFound, "NotFound"}, {K::kInvalidRequest, "InvalidRequest"},
    {K::kAlreadyExists, "AlreadyExists"}, {K::kNotAuthorised, "NotAuthorised"},
    {K::kInvalidStatusTransition, "InvalidStatusTransition"}, {K::kThrottled, "Throttled"},
    {K::kServerError, "ServerError"}, {K::kTransport, "Transport"}, {K::kProtocol, "Protocol"}};
// clang-format on
}  // namespace

std::string_view to_string(YdErrorKind kind) {
  return name_of(kKindNames, kind, "Unknown");
}

bool YdError::transient() const {
  return kind == YdErrorKind::kThrottled || kind == YdErrorKind::kServerError ||
         kind == YdErrorKind::kTransport;
}

std::string YdError::what() const {
  std::string out = operation.empty() ? std::string() : operation + ": ";
  if (http_status) out += "HTTP " + std::to_string(http_status) + " ";
  out += error_type.empty() ? std::string(to_string(kind)) : error_type;
  if (!message.empty()) out += ": " + message;
  for (const auto& d : detail) out += "; " + d;
  if (maybe_applied) out += " (outcome unknown: the request may have been applied)";
  if (attempts > 1) out += " (after " + std::to_string(attempts) + " attempts)";
  return out;
}

YdError error_from_response(int status, std::string_view body, std::string_view operation) {
  YdError e;
  e.http_status = status;
  e.operation = std::string(operation);
  auto j = nlohmann::json::parse(body, nullptr, false);
  bool structured = false;
  if (j.is_object()) {
    if (auto it = j.find("errorType"); it != j.end() && it->is_string()) {
      e.error_type = bounded(it->get<std::string>());
      structured = true;
    }
    if (auto it = j.find("message"); it != j.end() && it->is_string()) {
      e.message = bounded(it->get<std::string>());
      structured = true;
    }
    if (auto it = j.find("detail"); it != j.end() && it->is_array()) {
      for (const auto& d : *it)
        if (d.is_string() && e.detail.size() < 8) e.detail.push_back(bounded(d.get<std::string>()));
    }
  }
  if (!structured && !body.empty()) e.message = bounded(body);

  const std::string& type = e.error_type;
  bool status_exception = type.find("StatusException") != std::string::npos;
  if (status == 404 || ends_with(type, "NotFoundException")) {
    e.kind = YdErrorKind::kNotFound;
  } else if (status == 429) {
    e.kind = YdErrorKind::kThrottled;
  } else if (status >= 500 && status <= 599) {
    e.kind = YdErrorKind::kServerError;
  } else if (status == 401 || type == "NotAuthorisedException") {
    e.kind = YdErrorKind::kNotAuthorised;
  } else if (status_exception) {
    e.kind = YdErrorKind::kInvalidStatusTransition;
  } else if (status == 403) {
    e.kind = YdErrorKind::kNotAuthorised;
  } else if (status >= 400 && status <= 499) {
    e.kind = e.message.find("already exists") != std::string::npos ? YdErrorKind::kAlreadyExists
                                                                   : YdErrorKind::kInvalidRequest;
  } else {
    e.kind = YdErrorKind::kProtocol;  // 1xx/3xx where a 200 was expected
    if (e.message.empty()) e.message = "unexpected HTTP status";
  }
  return e;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
      text.replace(pos, secret.size(), "***");
  }
  return text;
}

void redact(YdError& error, const std::vector<std::string>& secrets) {
  error.message = redact(std::move(error.message), secrets);
  error.error_type = redact(std::move(error.error_type), secrets);
  error.operation = redact(std::move(error.operation), secrets);
  for (auto& d : error.detail) d = redact(std::move(d), secrets);
}

}  // namespace raydog::yellowdog
