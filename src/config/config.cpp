#include "config/config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/identifier.h"

namespace tandem::config {
namespace {

Error invalid(const std::string& what) {
  return Error(ErrorCode::config_invalid, what);
}

template <typename T>
Result<T> parse_number(const std::string& text, T min, T max) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return invalid(fmt::format("'{}' is not a number between {} and {}", text, min, max));
  }
  return value;
}

Result<bool> parse_bool(const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return invalid(fmt::format("'{}' is not a boolean (true/false)", text));
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string current;
  auto flush = [&] {
    auto begin = current.find_first_not_of(" \t'\"");
    auto end = current.find_last_not_of(" \t'\"");
    if (begin != std::string::npos) items.push_back(current.substr(begin, end - begin + 1));
    current.clear();
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else {
      current += c;
    }
  }
  flush();
  return items;
}

template <typename T, typename Field>
OptionSpec number(std::string key, std::vector<std::string> env, std::string flag, std::string help,
                  T min, T max, Field field) {
  return OptionSpec{std::move(key), std::move(env), std::move(flag), std::move(help),
                    [=](Config& config, const std::string& text) -> Status {
                      auto value = parse_number<T>(text, min, max);
                      if (!value) return value.error();
                      field(config, *value);
                      return ok_status();
                    }};
}

OptionSpec text(std::string key, std::vector<std::string> env, std::string flag, std::string help,
                std::function<void(Config&, const std::string&)> field) {
  return OptionSpec{std::move(key), std::move(env), std::move(flag), std::move(help),
                    [field = std::move(field)](Config& config, const std::string& value) -> Status {
                      field(config, value);
                      return ok_status();
                    }};
}

OptionSpec boolean(std::string key, std::vector<std::string> env, std::string flag,
                   std::string help, std::function<void(Config&, bool)> field) {
  return OptionSpec{std::move(key), std::move(env), std::move(flag), std::move(help),
                    [field = std::move(field)](Config& config, const std::string& text) -> Status {
                      auto value = parse_bool(text);
                      if (!value) return value.error();
                      field(config, *value);
                      return ok_status();
                    }};
}

// Esink's booleans: USE_SSL "set to anything" turns it on; empty and false-like words do not.
bool esink_flag(const std::string& text) {
  std::string lower;
  for (char c : text)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !(lower.empty() || lower == "false" || lower == "0" || lower == "no" || lower == "off");
}

// FILTERS: "table.column,table.column"; a trailing comma is allowed, as Esink allows it.
Status parse_filters(Config& config, const std::string& text) {
  config.esink.filters.clear();
  for (const auto& item : split_list(text)) {
    const auto dot = item.find('.');
    if (dot == std::string::npos) {
      return invalid(fmt::format("'{}' is not table.column", item));
    }
    auto table = item.substr(0, dot);
    auto column = item.substr(dot + 1);
    if (auto valid = check_identifier(table, "table"); !valid) return valid;
    if (auto valid = check_identifier(column, "column"); !valid) return valid;
    config.esink.filters[table].push_back(column);
  }
  return ok_status();
}

// TABLE_AUTH_COLUMN_ROUTING: {"table": "column" | ["a", "b"] | "*"}.
Status parse_routing(Config& config, const std::string& text) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.empty() ? "{}" : text);
  } catch (const std::exception& e) {
    return invalid(fmt::format("not JSON: {}", e.what()));
  }
  if (!json.is_object()) return invalid("must be a JSON object of table -> column(s)");
  config.esink.routing.clear();
  for (const auto& item : json.items()) {
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    const std::string& table = item.key();
    const nlohmann::json& target = item.value();
    if (auto valid = check_identifier(table, "table"); !valid) return valid;
    EsinkRoute route;
    auto add_column = [&](const nlohmann::json& column) -> Status {
      if (!column.is_string()) {
        return invalid(fmt::format("table '{}': a column must be a string", table));
      }
      auto name = column.get<std::string>();
      if (auto valid = check_identifier(name, "column"); !valid) return valid;
      route.columns.push_back(name);
      return ok_status();
    };
    if (target == "*") {
      route.everyone = true;
    } else if (target.is_array() && !target.empty()) {
      for (const auto& column : target) {
        if (auto status = add_column(column); !status) return status;
      }
    } else if (auto status = add_column(target); !status) {
      return invalid(
          fmt::format("table '{}': expected a column, an array of columns or \"*\"", table));
    }
    config.esink.routing[table] = std::move(route);
  }
  return ok_status();
}

OptionSpec esink_text(std::string key, std::string env, std::string help,
                      std::function<Status(Config&, const std::string&)> set) {
  std::string flag = key.substr(key.find('.') + 1);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return OptionSpec{
      std::move(key), {"TANDEM_" + env, env}, "esink-" + flag, std::move(help), std::move(set)};
}

void add_esink_specs(std::vector<OptionSpec>& specs) {
  specs.push_back(boolean("esink.enabled", {"TANDEM_ESINK"}, "esink",
                          "serve Esink's Socket.IO endpoint and POST /publish",
                          [](Config& c, bool v) { c.esink.enabled = v; }));
  specs.push_back(boolean("esink.serve_sync", {"TANDEM_ESINK_SERVE_SYNC"}, "esink-serve-sync",
                          "with esink on, also serve /sync (Tandem's rules apply there, not "
                          "Esink's routing and FILTERS)",
                          [](Config& c, bool v) { c.esink.serve_sync = v; }));
  specs.push_back(esink_text("esink.node_env", "NODE_ENV",
                             "production: JSON logs, no error details in responses",
                             [](Config& c, const std::string& v) {
                               c.esink.node_env = v;
                               if (v == "production") c.log_format = log::Format::json;
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.use_ssl", "USE_SSL",
                             "serve TLS only (needs server.tls_certificate_file and key)",
                             [](Config& c, const std::string& v) {
                               c.esink.use_ssl = esink_flag(v);
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.default_source", "DEFAULT_SOURCE",
                             "source of a /publish event that names none",
                             [](Config& c, const std::string& v) {
                               c.esink.default_source = v;
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.allow_republishing", "ALLOW_REPUBLISHING",
                             "let Socket.IO clients publish with an `event` message",
                             [](Config& c, const std::string& v) {
                               c.esink.allow_republishing = esink_flag(v);
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.security_token", "SECURITY_TOKEN",
                             "secret that POST /publish must carry (unset: /publish answers 403)",
                             [](Config& c, const std::string& v) {
                               if (v.empty()) {
                                 c.esink.security_token.reset();
                               } else {
                                 c.esink.security_token = v;
                               }
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.auth_table", "AUTH_TABLE",
                             "table a Socket.IO token is looked up in",
                             [](Config& c, const std::string& v) -> Status {
                               if (auto valid = check_identifier(v, "AUTH_TABLE"); !valid)
                                 return valid;
                               c.esink.auth_table = v;
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.auth_column", "AUTH_COLUMN", "column of AUTH_TABLE holding it",
                             [](Config& c, const std::string& v) -> Status {
                               if (auto valid = check_identifier(v, "AUTH_COLUMN"); !valid)
                                 return valid;
                               c.esink.auth_column = v;
                               return ok_status();
                             }));
  specs.push_back(esink_text("esink.filters", "FILTERS",
                             "comma-separated table.column values never sent to Socket.IO clients",
                             parse_filters));
  specs.push_back(esink_text("esink.routing", "TABLE_AUTH_COLUMN_ROUTING",
                             "JSON: table -> column, [columns] or \"*\" (who receives its changes)",
                             parse_routing));
  specs.push_back(
      number<int>("esink.ping_interval_ms", {"TANDEM_ESINK_PING_INTERVAL_MS"},
                  "esink-ping-interval-ms", "Engine.IO ping interval", 100, 3'600'000,
                  [](Config& c, int v) { c.esink.ping_interval = std::chrono::milliseconds(v); }));
  specs.push_back(
      number<int>("esink.ping_timeout_ms", {"TANDEM_ESINK_PING_TIMEOUT_MS"},
                  "esink-ping-timeout-ms", "Engine.IO ping timeout", 100, 3'600'000,
                  [](Config& c, int v) { c.esink.ping_timeout = std::chrono::milliseconds(v); }));
}

void add_mysql_specs(std::vector<OptionSpec>& specs) {
  auto mysql_text = [](std::string key, const std::string& env, std::string help,
                       std::function<void(Config&, const std::string&)> field) {
    std::string flag = "mysql-" + key.substr(key.find('.') + 1);
    std::replace(flag.begin(), flag.end(), '_', '-');
    return text(std::move(key), {"TANDEM_" + env, env}, flag, std::move(help), std::move(field));
  };
  specs.push_back(mysql_text("mysql.database", "MYSQL_DATABASE",
                             "MySQL/MariaDB database: selects the MySQL source",
                             [](Config& c, const std::string& v) { c.mysql.database = v; }));
  specs.push_back(mysql_text("mysql.host", "MYSQL_HOST", "MySQL host",
                             [](Config& c, const std::string& v) { c.mysql.host = v; }));
  specs.push_back(
      number<int>("mysql.port", {"TANDEM_MYSQL_PORT", "MYSQL_PORT"}, "mysql-port", "MySQL port", 1,
                  65535, [](Config& c, int v) { c.mysql.port = static_cast<std::uint16_t>(v); }));
  specs.push_back(mysql_text("mysql.user", "MYSQL_USERNAME", "MySQL user",
                             [](Config& c, const std::string& v) { c.mysql.user = v; }));
  specs.push_back(mysql_text("mysql.password", "MYSQL_PASSWORD", "MySQL password",
                             [](Config& c, const std::string& v) { c.mysql.password = v; }));
  specs.push_back(OptionSpec{"mysql.events_table",
                             {"TANDEM_MYSQL_TABLE_TARGET", "MYSQL_TABLE_TARGET"},
                             "mysql-table-target",
                             "table the MySQL triggers write events into",
                             [](Config& c, const std::string& v) -> Status {
                               if (auto valid = check_identifier(v, "MYSQL_TABLE_TARGET"); !valid)
                                 return valid;
                               c.mysql.events_table = v;
                               return ok_status();
                             }});
  specs.push_back(
      number<int>("mysql.poll_interval_ms", {"TANDEM_MYSQL_POLL_INTERVAL_MS"},
                  "mysql-poll-interval-ms", "how often the MySQL events table is polled", 1, 60'000,
                  [](Config& c, int v) { c.mysql.poll_interval = std::chrono::milliseconds(v); }));
}

std::vector<OptionSpec> make_specs() {
  std::vector<OptionSpec> specs;
  specs.push_back(text("server.address", {"TANDEM_ADDRESS"}, "address", "address to listen on",
                       [](Config& c, const std::string& v) { c.address = v; }));
  specs.push_back(number<int>("server.port", {"TANDEM_PORT", "PORT"}, "port",
                              "TCP port (0: pick a free one)", 0, 65535,
                              [](Config& c, int v) { c.port = static_cast<std::uint16_t>(v); }));
  specs.push_back(number<int>("server.threads", {"TANDEM_THREADS"}, "threads", "I/O threads", 1,
                              256, [](Config& c, int v) { c.threads = v; }));
  specs.push_back(number<std::size_t>("server.max_message_bytes", {"TANDEM_MAX_MESSAGE_BYTES"},
                                      "max-message-bytes", "largest WebSocket message accepted",
                                      1024, std::size_t{1} << 30,
                                      [](Config& c, std::size_t v) { c.max_message_bytes = v; }));
  specs.push_back(number<int>("server.idle_timeout_seconds", {"TANDEM_IDLE_TIMEOUT_SECONDS"},
                              "idle-timeout", "close a silent connection after this many seconds",
                              2, 86400,
                              [](Config& c, int v) { c.idle_timeout = std::chrono::seconds(v); }));
  specs.push_back(
      number<int>("server.hello_timeout_seconds", {"TANDEM_HELLO_TIMEOUT_SECONDS"}, "hello-timeout",
                  "close a /sync connection that sends no valid hello within this many seconds", 1,
                  3600, [](Config& c, int v) { c.hello_timeout = std::chrono::seconds(v); }));
  specs.push_back(number<std::size_t>(
      "server.max_connections", {"TANDEM_MAX_CONNECTIONS"}, "max-connections",
      "open connections at most; more get 503 (0: as many as the fd limit allows)", 0, 10'000'000,
      [](Config& c, std::size_t v) { c.max_connections = v; }));
  specs.push_back(number<std::size_t>(
      "server.max_connections_per_address", {"TANDEM_MAX_CONNECTIONS_PER_ADDRESS"},
      "max-connections-per-address",
      "open connections per client IP at most; more get 429 (0: no cap; raise it behind a proxy)",
      0, 10'000'000, [](Config& c, std::size_t v) { c.max_connections_per_address = v; }));
  specs.push_back(
      number<int>("server.shutdown_grace_ms", {"TANDEM_SHUTDOWN_GRACE_MS"}, "shutdown-grace-ms",
                  "time given to connections to finish on shutdown", 0, 600'000,
                  [](Config& c, int v) { c.shutdown_grace = std::chrono::milliseconds(v); }));
  specs.push_back(text("server.tls_certificate_file", {"TANDEM_TLS_CERTIFICATE_FILE"}, "tls-cert",
                       "PEM certificate chain (enables TLS)",
                       [](Config& c, const std::string& v) { c.tls_certificate_file = v; }));
  specs.push_back(text("server.tls_private_key_file", {"TANDEM_TLS_PRIVATE_KEY_FILE"}, "tls-key",
                       "PEM private key for TLS",
                       [](Config& c, const std::string& v) { c.tls_private_key_file = v; }));
  specs.push_back(text("server.port_file", {"TANDEM_PORT_FILE"}, "port-file",
                       "write the bound port to this file once listening",
                       [](Config& c, const std::string& v) { c.port_file = v; }));
  specs.push_back(OptionSpec{"log.level",
                             {"TANDEM_LOG_LEVEL"},
                             "log-level",
                             "trace, debug, info, warn, error or off",
                             [](Config& c, const std::string& v) -> Status {
                               if (log::parse_level(v, c.log_level)) return ok_status();
                               return invalid(fmt::format("unknown log level '{}'", v));
                             }});
  specs.push_back(OptionSpec{"log.format",
                             {"TANDEM_LOG_FORMAT"},
                             "log-format",
                             "text or json",
                             [](Config& c, const std::string& v) -> Status {
                               if (log::parse_format(v, c.log_format)) return ok_status();
                               return invalid(
                                   fmt::format("unknown log format '{}' (text or json)", v));
                             }});
  specs.push_back(text("storage.data_dir", {"TANDEM_DATA_DIR"}, "data-dir",
                       "directory for the embedded database and generated secrets",
                       [](Config& c, const std::string& v) { c.data_dir = v; }));
  specs.push_back(text("storage.database_path", {"TANDEM_DATABASE_PATH"}, "database",
                       "SQLite database file (default: <data-dir>/tandem.db)",
                       [](Config& c, const std::string& v) { c.database_path = v; }));
  specs.push_back(
      OptionSpec{"storage.synchronous",
                 {"TANDEM_SYNCHRONOUS"},
                 "synchronous",
                 "full (commits survive power loss) or normal (survive a crash)",
                 [](Config& c, const std::string& v) -> Status {
                   if (v != "full" && v != "normal") {
                     return invalid(fmt::format("synchronous must be full or normal, not '{}'", v));
                   }
                   c.synchronous_full = v == "full";
                   return ok_status();
                 }});
  specs.push_back(
      number<int>("storage.retention_hours", {"TANDEM_RETENTION_HOURS"}, "retention-hours",
                  "keep change-log entries this long; older clients resnapshot", 1, 24 * 3650,
                  [](Config& c, int v) { c.retention = std::chrono::hours(v); }));
  specs.push_back(OptionSpec{
      "storage.url",
      {"TANDEM_DATABASE_URL", "POSTGRES_DATABASE_URL"},
      "database-url",
      "postgres://user:password@host:port/database (default: embedded SQLite)",
      [](Config& c, const std::string& v) -> Status {
        if (!v.empty() && !v.starts_with("postgres://") && !v.starts_with("postgresql://")) {
          return invalid("database URL must start with postgres:// or postgresql://");
        }
        c.database_url = v;
        return ok_status();
      }});
  specs.push_back(
      OptionSpec{"storage.capture",
                 {"TANDEM_CAPTURE"},
                 "capture",
                 "PostgreSQL change capture: logical (replication slot) or trigger",
                 [](Config& c, const std::string& v) -> Status {
                   if (v != "logical" && v != "trigger") {
                     return invalid(fmt::format("capture must be logical or trigger, not '{}'", v));
                   }
                   c.capture = v;
                   return ok_status();
                 }});
  specs.push_back(OptionSpec{
      "storage.replication_slot",
      {"TANDEM_REPLICATION_SLOT"},
      "replication-slot",
      "PostgreSQL logical replication slot name ([a-z0-9_], at most 63)",
      [](Config& c, const std::string& v) -> Status {
        bool valid = !v.empty() && v.size() <= 63;
        for (char ch : v)
          valid = valid && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
        if (!valid)
          return invalid(fmt::format("replication slot '{}' must be 1-63 of [a-z0-9_]", v));
        c.replication_slot = v;
        return ok_status();
      }});
  specs.push_back(OptionSpec{"storage.track",
                             {"TANDEM_TRACK_TABLES", "TABLE_NAMES"},
                             "track",
                             "comma-separated tables to track at start-up",
                             [](Config& c, const std::string& v) -> Status {
                               for (auto& name : split_list(v)) {
                                 if (auto valid = check_identifier(name, "table"); !valid)
                                   return valid;
                                 c.track_tables.push_back(name);
                               }
                               return ok_status();
                             }});
  specs.push_back(text("auth.hs256_secret", {"TANDEM_JWT_SECRET"}, "jwt-secret",
                       "HS256 shared secret (at least 32 bytes)",
                       [](Config& c, const std::string& v) { c.jwt.hs256_secret = v; }));
  specs.push_back(text("auth.public_key_file", {"TANDEM_JWT_PUBLIC_KEY_FILE"}, "jwt-public-key",
                       "PEM public key for RS256/ES256 tokens",
                       [](Config& c, const std::string& v) { c.jwt.public_key_file = v; }));
  specs.push_back(text("auth.jwks_file", {"TANDEM_JWKS_FILE"}, "jwks", "JSON Web Key Set file",
                       [](Config& c, const std::string& v) { c.jwt.jwks_file = v; }));
  specs.push_back(text("auth.private_key_file", {"TANDEM_JWT_PRIVATE_KEY_FILE"}, "jwt-private-key",
                       "PEM private key, only for `tandem token`",
                       [](Config& c, const std::string& v) { c.jwt.private_key_file = v; }));
  specs.push_back(text("auth.issuer", {"TANDEM_JWT_ISSUER"}, "jwt-issuer", "required `iss`",
                       [](Config& c, const std::string& v) { c.jwt.issuer = v; }));
  specs.push_back(text("auth.audience", {"TANDEM_JWT_AUDIENCE"}, "jwt-audience", "required `aud`",
                       [](Config& c, const std::string& v) { c.jwt.audience = v; }));
  specs.push_back(text("auth.role_claim", {"TANDEM_JWT_ROLE_CLAIM"}, "jwt-role-claim",
                       "claim holding the role (user or admin)",
                       [](Config& c, const std::string& v) { c.jwt.role_claim = v; }));
  specs.push_back(text("auth.tenant_claim", {"TANDEM_JWT_TENANT_CLAIM"}, "jwt-tenant-claim",
                       "claim holding the tenant",
                       [](Config& c, const std::string& v) { c.jwt.tenant_claim = v; }));
  specs.push_back(boolean("auth.require_exp", {"TANDEM_JWT_REQUIRE_EXP"}, "jwt-require-exp",
                          "refuse tokens without `exp` (false: such tokens never expire)",
                          [](Config& c, bool v) { c.jwt.require_exp = v; }));
  specs.push_back(number<int>(
      "auth.leeway_seconds", {"TANDEM_JWT_LEEWAY_SECONDS"}, "jwt-leeway",
      "clock tolerance for exp/nbf/iat; a session ends when its token's exp plus this passes", 0,
      3600, [](Config& c, int v) { c.jwt.leeway = std::chrono::seconds(v); }));
  specs.push_back(OptionSpec{"rules.owner_column",
                             {"TANDEM_OWNER_COLUMN"},
                             "owner-column",
                             "column that makes a table private (realm-pg-sync: realm_id)",
                             [](Config& c, const std::string& v) -> Status {
                               if (auto valid = check_identifier(v, "owner column"); !valid)
                                 return valid;
                               c.rules.owner_column = v;
                               return ok_status();
                             }});
  specs.push_back(OptionSpec{"rules.file",
                             {"TANDEM_RULES"},
                             "rules",
                             "permission rules file (TOML, docs/permissions.md); without one a "
                             "table with the owner column is private and others are public",
                             [](Config& c, const std::string& v) -> Status {
                               c.rules_file = v;
                               return ok_status();
                             }});
  specs.push_back(
      number<int>("sync.max_clock_drift_ms", {"TANDEM_MAX_CLOCK_DRIFT_MS"}, "max-clock-drift-ms",
                  "refuse client clocks further ahead than this", 0, 86'400'000,
                  [](Config& c, int v) { c.max_clock_drift = std::chrono::milliseconds(v); }));
  specs.push_back(number<std::size_t>("sync.snapshot_batch_rows", {"TANDEM_SNAPSHOT_BATCH_ROWS"},
                                      "snapshot-batch-rows", "rows per snapshot message", 1,
                                      100'000,
                                      [](Config& c, std::size_t v) { c.snapshot_batch_rows = v; }));
  specs.push_back(number<std::size_t>("sync.max_push_mutations", {"TANDEM_MAX_PUSH_MUTATIONS"},
                                      "max-push-mutations", "mutations per push message at most", 1,
                                      1'000'000,
                                      [](Config& c, std::size_t v) { c.max_push_mutations = v; }));
  add_esink_specs(specs);
  add_mysql_specs(specs);
  specs.push_back(boolean("demo.enabled", {"TANDEM_DEMO"}, "demo",
                          "create the demo tables products and past_orders",
                          [](Config& c, bool v) { c.demo = v; }));
  return specs;
}

std::optional<std::string> toml_value_text(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (auto b = node.value_exact<bool>()) return *b ? "true" : "false";
  if (auto i = node.value_exact<std::int64_t>()) return std::to_string(*i);
  if (const auto* array = node.as_array()) {
    std::string joined;
    for (const auto& item : *array) {
      auto text = toml_value_text(item);
      if (!text) return std::nullopt;
      if (!joined.empty()) joined += ",";
      joined += *text;
    }
    return joined;
  }
  return std::nullopt;
}

Status apply_file(Config& config, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return invalid(fmt::format("configuration file '{}': {} (line {})", path, error.description(),
                               error.source().begin.line));
  }
  for (const auto& spec : option_specs()) {
    auto node = table.at_path(spec.key);
    if (!node) continue;
    auto text = toml_value_text(*node.node());
    if (!text)
      return invalid(
          fmt::format("configuration file '{}': {} has an unsupported type", path, spec.key));
    if (auto status = spec.set(config, *text); !status) {
      return invalid(
          fmt::format("configuration file '{}': {}: {}", path, spec.key, status.error().message()));
    }
  }
  // Unknown keys are mistakes (a typo would silently fall back to a default).
  for (const auto& [section, value] : table) {
    const auto* inner = value.as_table();
    if (!inner)
      return invalid(fmt::format("configuration file '{}': unknown key '{}'", path, section.str()));
    for (const auto& [key, ignored] : *inner) {
      auto full = fmt::format("{}.{}", section.str(), key.str());
      bool known = false;
      for (const auto& spec : option_specs())
        known = known || spec.key == full;
      if (!known)
        return invalid(fmt::format("configuration file '{}': unknown key '{}'", path, full));
    }
  }
  return ok_status();
}

}  // namespace

std::string Config::effective_database_path() const {
  if (!database_path.empty()) return database_path;
  return (std::filesystem::path(data_dir) / "tandem.db").string();
}

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = make_specs();
  return specs;
}

Config esink_defaults() {
  Config config;
  config.port = 80;
  config.esink.enabled = true;
  return config;
}

Result<Config> load(const Sources& sources) {
  Config config = sources.defaults;
  if (sources.config_file) {
    if (auto status = apply_file(config, *sources.config_file); !status) return status.error();
  }
  auto getenv =
      sources.getenv ? sources.getenv : [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
  for (const auto& spec : option_specs()) {
    for (const auto& name : spec.env) {
      auto value = getenv(name);
      if (!value) continue;
      if (auto status = spec.set(config, *value); !status) {
        return invalid(fmt::format("environment variable {}: {}", name, status.error().message()));
      }
      break;
    }
  }
  for (const auto& spec : option_specs()) {
    auto it = sources.flags.find(spec.flag);
    if (it == sources.flags.end()) continue;
    if (auto status = spec.set(config, it->second); !status) {
      return invalid(fmt::format("--{}: {}", spec.flag, status.error().message()));
    }
  }
  if (config.esink.use_ssl &&
      (config.tls_certificate_file.empty() || config.tls_private_key_file.empty())) {
    return invalid(
        "USE_SSL is set but no certificate is configured: set TANDEM_TLS_CERTIFICATE_FILE and "
        "TANDEM_TLS_PRIVATE_KEY_FILE (PEM files)");
  }
  return config;
}

}  // namespace tandem::config
