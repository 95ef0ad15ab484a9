#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <nlohmann/json.hpp>

namespace tandem::log {
namespace {

std::atomic<Format> g_format{Format::text};

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto created = spdlog::stderr_logger_mt("tandem");
    created->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    return created;
  }();
  return *instance;
}

bool needs_quotes(std::string_view text) {
  if (text.empty()) return true;
  for (char c : text) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void append_text(std::string& line, const Field& field) {
  line += ' ';
  line += field.key;
  line += '=';
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (needs_quotes(v)) {
            line += nlohmann::json(std::string(v)).dump();
          } else {
            line += v;
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          line += v ? "true" : "false";
        } else {
          line += std::to_string(v);
        }
      },
      field.data);
}

}  // namespace

bool parse_level(std::string_view name, Level& level) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
  for (const auto& [text, value] : kNames) {
    if (name == text) {
      level = value;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view name, Format& format) {
  if (name == "text") {
    format = Format::text;
  } else if (name == "json") {
    format = Format::json;
  } else {
    return false;
  }
  return true;
}

void init(Level level, Format format) {
  g_format = format;
  auto& log = logger();
  log.set_level(to_spdlog(level));
  if (format == Format::json) {
    log.set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v})");
  } else {
    log.set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  log.flush_on(spdlog::level::info);
}

bool enabled(Level level) {
  return logger().should_log(to_spdlog(level));
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  auto& log = logger();
  if (!log.should_log(to_spdlog(level))) return;
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == Format::json) {
    nlohmann::json object = nlohmann::json::object();
    object["msg"] = std::string(message);
    for (const auto& field : fields) {
      std::visit([&](const auto& v) { object[std::string(field.key)] = v; }, field.data);
    }
    line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // The pattern supplies the outer braces and the time and level fields.
    line = line.substr(1, line.size() - 2);
  } else {
    line = message;
    for (const auto& field : fields)
      append_text(line, field);
  }
  log.log(to_spdlog(level), "{}", line);
}

}  // namespace tandem::log
