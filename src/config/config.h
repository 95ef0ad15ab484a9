// Server configuration: defaults < TOML file < environment variables < command-line flags.
// Every option is declared once in the option table (config.cpp) with its TOML key, its
// environment variable names and its flag; `tandem serve --help` and docs/configuration.md
// list them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/jwt_options.h"
#include "common/logging.h"
#include "common/result.h"
#include "rules/rules_options.h"

namespace tandem::config {

// Where one table's changes go on the Socket.IO endpoint (Esink's TABLE_AUTH_COLUMN_ROUTING).
struct EsinkRoute {
  bool everyone = false;             // "*": every connected socket
  std::vector<std::string> columns;  // else: sockets whose user id equals one of these columns
};

// Esink compatibility (docs/esink-migration.md). The environment variables are Esink's own.
struct EsinkOptions {
  bool enabled = false;  // mount /socket.io/ and POST /publish (`tandem esink` turns it on)
  // Also serve /sync. Off by default: an Esink deployment's tables are made for Esink's
  // routing and FILTERS, which /sync does not apply (a `users` table would be public there).
  bool serve_sync = false;
  std::string node_env = "development";
  bool use_ssl = false;  // USE_SSL: serve TLS only; needs server.tls_certificate_file and key
  std::string default_source = "API";
  bool allow_republishing = false;
  std::optional<std::string> security_token;  // unset: POST /publish answers 403
  std::string auth_table = "auth";
  std::string auth_column = "token";
  std::map<std::string, std::vector<std::string>> filters;  // table -> hidden columns
  std::map<std::string, EsinkRoute> routing;                // table -> route; absent: nobody
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
};

// The MySQL/MariaDB source (selected when `database` is set, as Esink's MYSQL_DATABASE).
struct MysqlOptions {
  std::string database;
  std::string host = "localhost";
  std::uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string events_table = "pub_events";  // MYSQL_TABLE_TARGET: filled by the triggers
  std::chrono::milliseconds poll_interval{20};
};

struct Config {
  // [server]
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  int threads = 2;
  std::size_t max_message_bytes = 4 << 20;
  std::chrono::seconds idle_timeout{60};
  // A /sync connection that has sent no valid hello by then is closed.
  std::chrono::seconds hello_timeout{10};
  // Open connections at most, overall and per client IP address (0: no cap; see
  // net::ServerOptions).
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_address = 256;
  std::chrono::milliseconds shutdown_grace{5000};
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  std::string port_file;  // when set, the bound port is written there (tests, supervisors)

  // [log]
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::text;

  // [storage]
  std::string data_dir = "./tandem-data";
  std::string database_path;  // default: <data_dir>/tandem.db
  bool synchronous_full = true;
  std::chrono::hours retention{24 * 7};
  std::vector<std::string> track_tables;  // tracked at start-up (in addition to the registry)
  // postgres://... selects the PostgreSQL datasource; empty means embedded SQLite.
  std::string database_url;
  std::string capture = "logical";  // PostgreSQL change capture: logical or trigger
  std::string replication_slot = "tandem";

  // [auth]
  auth::JwtOptions jwt;

  // [rules]
  rules::RulesOptions rules;
  // A permission rules file (docs/permissions.md); empty: the owner-column default.
  std::string rules_file;

  // [sync]
  std::chrono::milliseconds max_clock_drift{60'000};
  std::size_t snapshot_batch_rows = 500;
  std::size_t max_push_mutations = 1000;

  // [esink], [mysql]
  EsinkOptions esink;
  MysqlOptions mysql;

  // [demo]
  bool demo = false;  // create and fill the demo tables (products, past_orders)

  std::string effective_database_path() const;
};

struct OptionSpec {
  std::string key;               // TOML key, "server.port"
  std::vector<std::string> env;  // environment variables, first wins
  std::string flag;              // command-line flag without dashes, "port"
  std::string help;
  std::function<Status(Config&, const std::string&)> set;
};

const std::vector<OptionSpec>& option_specs();

// Where option values come from, in increasing precedence.
struct Sources {
  std::optional<std::string> config_file;                                // TOML file path
  std::function<std::optional<std::string>(const std::string&)> getenv;  // default: ::getenv
  std::map<std::string, std::string> flags;                              // flag name -> value
  // Defaults before any source: `tandem esink` starts from Esink's (port 80, Socket.IO on).
  Config defaults;
};

// Esink's defaults: Socket.IO and /publish on, port 80.
Config esink_defaults();

// config_invalid naming the source and option on a bad value or an unreadable file.
Result<Config> load(const Sources& sources);

}  // namespace tandem::config
