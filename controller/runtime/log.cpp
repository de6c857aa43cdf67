#include "controller/runtime/log.hpp"

#include "controller/util/json_read.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>

namespace raydog::log {
namespace {

struct Settings {
  Level min_level = Level::kInfo;
  Format format = Format::kJson;
  std::ostream* out = &std::cerr;
  std::mutex mu;  // a blocking helper thread (exec plugin) may log too
};
Settings& settings() {
  static Settings s;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

}  // namespace

void configure(Level min_level, Format format, std::ostream* out) {
  auto& s = settings();
  std::lock_guard lock(s.mu);
  s.min_level = min_level;
  s.format = format;
  if (out) s.out = out;
}

bool parse_level(std::string_view t, Level& out) {
  if (t == "debug") out = Level::kDebug;
  else if (t == "info") out = Level::kInfo;
  else if (t == "warn" || t == "warning") out = Level::kWarn;
  else if (t == "error") out = Level::kError;
  else return false;
  return true;
}

bool parse_format(std::string_view t, Format& out) {
  if (t == "json") out = Format::kJson;
  else if (t == "text") out = Format::kText;
  else return false;
  return true;
}

bool enabled(Level level) { return level >= settings().min_level; }

Logger Logger::with(std::initializer_list<Field> more) const {
  Fields f = fields_;
  f.insert(f.end(), more.begin(), more.end());
  return Logger(std::move(f));
}

void Logger::log(Level level, std::string_view msg, std::initializer_list<Field> fields) const {
  if (!enabled(level)) return;
  std::string line;
  if (settings().format == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = timestamp();
    j["level"] = level_name(level);
    j["msg"] = msg;
    for (const auto& f : fields_) j[f.key] = f.value;
    for (const auto& f : fields) j[f.key] = f.value;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = timestamp() + " " + level_name(level) + " " + std::string(msg);
    auto add = [&](const Field& f) {
      line += " " + f.key + "=" + (f.value.is_string() ? f.value.get<std::string>() : json_text(f.value));
    };
    for (const auto& f : fields_) add(f);
    for (const auto& f : fields) add(f);
  }
  auto& s = settings();
  std::lock_guard lock(s.mu);
  *s.out << line << '\n';
  s.out->flush();
}

const Logger& root() {
  static const Logger logger;
  return logger;
}

}  // namespace raydog::log
