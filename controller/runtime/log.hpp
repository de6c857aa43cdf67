#pragma once
// Structured logging: one JSON object per line by default (`--log-format text` for humans), with levels and
// context fields. A Logger carries fields (controller, object, reconcileID) so every line of a reconcile
// names what it is about. Never pass credentials as fields: nothing here can tell a secret from a name.
#include <initializer_list>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raydog::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kJson, kText };

struct Field {
  std::string key;
  nlohmann::json value;
};
using Fields = std::vector<Field>;

// Process-wide settings; call once from main before anything logs. Defaults: info, JSON, stderr.
void configure(Level min_level, Format format, std::ostream* out = nullptr);
bool parse_level(std::string_view text, Level& out);    // "debug" | "info" | "warn" | "error"
bool parse_format(std::string_view text, Format& out);  // "json" | "text"
bool enabled(Level level);

class Logger {
 public:
  Logger() = default;
  explicit Logger(Fields fields) : fields_(std::move(fields)) {}
  // A child logger with more context fields.
  Logger with(std::initializer_list<Field> more) const;

  void log(Level level, std::string_view msg, std::initializer_list<Field> fields = {}) const;
  void debug(std::string_view msg, std::initializer_list<Field> f = {}) const { log(Level::kDebug, msg, f); }
  void info(std::string_view msg, std::initializer_list<Field> f = {}) const { log(Level::kInfo, msg, f); }
  void warn(std::string_view msg, std::initializer_list<Field> f = {}) const { log(Level::kWarn, msg, f); }
  void error(std::string_view msg, std::initializer_list<Field> f = {}) const { log(Level::kError, msg, f); }

 private:
  Fields fields_;
};

// The root logger (no context fields).
const Logger& root();

}  // namespace raydog::log
