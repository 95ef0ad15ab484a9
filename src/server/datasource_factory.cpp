#include "server/datasource_factory.h"

#include <fmt/format.h>

#include <filesystem>

#include "common/logging.h"
#include "server/demo.h"
#include "storage/sqlite/sqlite_datasource.h"
#ifdef TANDEM_WITH_MYSQL
#include "storage/mysql/mysql_datasource.h"
#endif
#ifdef TANDEM_WITH_POSTGRES
#include "storage/postgres/pg_datasource.h"
#endif

namespace tandem::server {
namespace {

std::unique_ptr<storage::Datasource> open_sqlite(const config::Config& config,
                                                 sync::HlcClock& clock) {
  auto path = config.effective_database_path();
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  storage::sqlite::SqliteOptions options;
  options.path = path;
  options.synchronous_full = config.synchronous_full;
  options.retention = config.retention;
  auto datasource = std::make_unique<storage::sqlite::SqliteDatasource>(options, clock);
  if (config.demo) {
    install_demo(
        *datasource, [&](const std::string& sql) { datasource->execute(sql); }, config.rules);
  }
  return datasource;
}

#ifdef TANDEM_WITH_POSTGRES
std::unique_ptr<storage::Datasource> open_postgres(const config::Config& config,
                                                   sync::HlcClock& clock) {
  storage::postgres::PostgresOptions options;
  options.url = config.database_url;
  options.capture = config.capture == "trigger" ? storage::postgres::CaptureMode::trigger
                                                : storage::postgres::CaptureMode::logical;
  options.slot = config.replication_slot;
  options.retention = config.retention;
  auto datasource = std::make_unique<storage::postgres::PostgresDatasource>(options, clock);
  if (config.demo) {
    install_demo(
        *datasource, [&](const std::string& sql) { datasource->execute(sql); }, config.rules);
  }
  return datasource;
}
#endif

#ifdef TANDEM_WITH_MYSQL
// Esink's MySQL mode (MYSQL_DATABASE and friends): a read-only source captured by triggers.
std::unique_ptr<storage::Datasource> open_mysql(const config::Config& config,
                                                sync::HlcClock& clock) {
  storage::mysql::MysqlSourceOptions options;
  options.connect.database = config.mysql.database;
  options.connect.host = config.mysql.host;
  options.connect.port = config.mysql.port;
  options.connect.user = config.mysql.user;
  options.connect.password = config.mysql.password;
  options.events_table = config.mysql.events_table;
  options.poll_interval = config.mysql.poll_interval;
  options.retention = config.retention;
  return std::make_unique<storage::mysql::MysqlDatasource>(options, clock);
}
#endif

#if !defined(TANDEM_WITH_MYSQL) || !defined(TANDEM_WITH_POSTGRES)
// A datasource this build was configured without.
[[noreturn]] void not_built(std::string_view kind, std::string_view option) {
  throw Error(ErrorCode::config_invalid,
              fmt::format("this build of tandem has no {} datasource (configure with -D{}=ON)",
                          kind, option));
}
#endif

}  // namespace

std::unique_ptr<storage::Datasource> open_datasource(const config::Config& config,
                                                     sync::HlcClock& clock) {
  // As in Esink, MySQL wins when both MySQL and PostgreSQL are configured.
  std::unique_ptr<storage::Datasource> datasource;
  if (!config.mysql.database.empty()) {
#ifdef TANDEM_WITH_MYSQL
    datasource = open_mysql(config, clock);
#else
    not_built("MySQL", "TANDEM_WITH_MYSQL");
#endif
  } else if (!config.database_url.empty()) {
#ifdef TANDEM_WITH_POSTGRES
    datasource = open_postgres(config, clock);
#else
    not_built("PostgreSQL", "TANDEM_WITH_POSTGRES");
#endif
  } else {
    datasource = open_sqlite(config, clock);
  }
  log::info("datasource opened", {{"kind", std::string(datasource->kind())}});
  for (const auto& table : config.track_tables) {
    auto tracked = datasource->track(table);
    if (!tracked) {
      throw Error(ErrorCode::config_invalid,
                  fmt::format("cannot track table '{}': {}", table, tracked.error().message()));
    }
  }
  return datasource;
}

}  // namespace tandem::server
