#include "storage/backend_under_test.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "storage/sqlite/sqlite_connection.h"
#include "storage/sqlite/sqlite_datasource.h"
#include "support/temp_dir.h"

#ifdef TANDEM_TEST_POSTGRES
#include "storage/postgres/pg_datasource.h"
#include "support/postgres_cluster.h"
#endif
#ifdef TANDEM_TEST_MYSQL
#include "storage/mysql/mysql_datasource.h"
#include "support/mariadb_server.h"
#endif

namespace tandem::testing {
namespace {

class SqliteBackend final : public BackendUnderTest {
 public:
  std::unique_ptr<storage::Datasource> open(sync::HlcClock& clock) override {
    storage::sqlite::SqliteOptions options;
    options.path = m_path;
    options.poll_interval = std::chrono::milliseconds(5);
    return std::make_unique<storage::sqlite::SqliteDatasource>(options, clock);
  }
  void outside(const std::string& sql) override {
    storage::SqliteConnection other(m_path, storage::SqliteConnection::Mode::read_write);
    other.exec(sql);
  }
  std::vector<std::string> reserved_table_names() const override {
    // sqlite_sequence exists: Tandem's log uses AUTOINCREMENT.
    return {"tandem_changes", "tandem_clients", "sqlite_sequence", "sqlite_master",
            "sqlite_schema"};
  }
  std::string blob_type() const override { return "BLOB"; }
  std::string case_insensitive_text_type() override { return "VARCHAR(20) COLLATE NOCASE"; }
  // SQLite checks the capture triggers, which name the column, unless told not to.
  std::string drop_column_sql(const std::string& table, const std::string& column) const override {
    return "PRAGMA legacy_alter_table = ON; ALTER TABLE " + table + " DROP COLUMN " + column;
  }

 private:
  TempDir m_dir;
  std::string m_path = m_dir.file("tandem.db");
};

#ifdef TANDEM_TEST_POSTGRES
class PostgresBackend final : public BackendUnderTest {
 public:
  explicit PostgresBackend(storage::postgres::CaptureMode capture) : m_capture(capture) {}

  std::unique_ptr<storage::Datasource> open(sync::HlcClock& clock) override {
    storage::postgres::PostgresOptions options;
    options.url = m_url;
    options.capture = m_capture;
    return std::make_unique<storage::postgres::PostgresDatasource>(options, clock);
  }
  void outside(const std::string& sql) override { m_cluster.psql(sql, "app"); }
  std::vector<std::string> reserved_table_names() const override {
    // pg_catalog is always on the search path, so these names resolve to its tables.
    return {"tandem_changes", "tandem_clients", "pg_authid", "pg_class", "pg_statistic"};
  }
  std::string blob_type() const override { return "bytea"; }
  std::string case_insensitive_text_type() override {
    outside(
        "CREATE COLLATION IF NOT EXISTS case_insensitive "
        "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
    return "VARCHAR(20) COLLATE case_insensitive";
  }

 private:
  PostgresCluster m_cluster;
  std::string m_url = m_cluster.create_database("app");
  storage::postgres::CaptureMode m_capture;
};
#endif

#ifdef TANDEM_TEST_MYSQL
class MysqlBackend final : public BackendUnderTest {
 public:
  MysqlBackend() { MariadbServer::shared().create_database(m_database); }

  std::unique_ptr<storage::Datasource> open(sync::HlcClock& clock) override {
    storage::mysql::MysqlSourceOptions options;
    options.connect.host = server().host();
    options.connect.port = server().port();
    options.connect.user = server().user();
    options.connect.database = m_database;
    options.poll_interval = std::chrono::milliseconds(5);
    return std::make_unique<storage::mysql::MysqlDatasource>(options, clock);
  }
  void outside(const std::string& sql) override { server().exec(sql, m_database); }
  std::vector<std::string> reserved_table_names() const override {
    // Its own tables, and the events table its triggers write (Esink's pub_events).
    return {"tandem_changes", "tandem_meta", "pub_events"};
  }
  std::string blob_type() const override { return "BLOB"; }
  // Also PAD SPACE: 'ann ' equals 'ann'.
  std::string case_insensitive_text_type() override {
    return "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci";
  }

 private:
  static MariadbServer& server() { return MariadbServer::shared(); }
  std::string m_database = "conformance";
};
#endif

}  // namespace

std::vector<std::string> backends_in_this_build() {
  std::vector<std::string> names = {"sqlite"};
#ifdef TANDEM_TEST_POSTGRES
  names.insert(names.end(), {"postgres_trigger", "postgres_logical"});
#endif
#ifdef TANDEM_TEST_MYSQL
  names.emplace_back("mysql");
#endif
  return names;
}

std::vector<std::string> writable_backends_in_this_build() {
  auto names = backends_in_this_build();
  std::erase(names, "mysql");
  return names;
}

std::unique_ptr<BackendUnderTest> make_backend(const std::string& name) {
  if (name == "sqlite") return std::make_unique<SqliteBackend>();
#ifdef TANDEM_TEST_POSTGRES
  if (name == "postgres_trigger")
    return std::make_unique<PostgresBackend>(storage::postgres::CaptureMode::trigger);
  if (name == "postgres_logical")
    return std::make_unique<PostgresBackend>(storage::postgres::CaptureMode::logical);
#endif
#ifdef TANDEM_TEST_MYSQL
  if (name == "mysql") return std::make_unique<MysqlBackend>();
#endif
  throw std::invalid_argument("no backend '" + name + "' in this build");
}

}  // namespace tandem::testing
