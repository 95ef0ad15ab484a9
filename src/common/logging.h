// Structured logging on top of spdlog. Every line carries a message and key=value fields;
// the format is chosen once at start-up: `text` for people, `json` (one object per line) for
// log collectors. Thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace tandem::log {

enum class Level { trace, debug, info, warn, error, off };
enum class Format { text, json };

struct Field {
  using Data = std::variant<std::string_view, std::int64_t, double, bool>;
  Field(std::string_view k, std::string_view v) : key(k), data(v) {}
  Field(std::string_view k, const std::string& v) : key(k), data(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), data(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), data(v) {}
  Field(std::string_view k, std::uint64_t v) : key(k), data(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, int v) : key(k), data(std::int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), data(std::int64_t{v}) {}
  Field(std::string_view k, double v) : key(k), data(v) {}
  Field(std::string_view k, bool v) : key(k), data(v) {}

  std::string_view key;
  Data data;
};

// Parses "trace|debug|info|warn|error|off"; nullopt-like false on an unknown name.
bool parse_level(std::string_view name, Level& level);
bool parse_format(std::string_view name, Format& format);

// Configures the process-wide logger (stderr). Safe to call again to change settings.
void init(Level level, Format format);

bool enabled(Level level);
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::error, m, f);
}

}  // namespace tandem::log
