#include "cli/commands.h"

#include <fmt/format.h>
#include <signal.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/token.h"
#include "cli/admin_client.h"
#include "common/logging.h"
#include "server/dev_secret.h"
#include "server/server.h"
#include "storage/sqlite/sqlite_datasource.h"

namespace tandem::cli {

Commands::Commands(CLI::App& app) : m_app(app) {
  m_serve = app.add_subcommand("serve", "run the sync server (embedded SQLite unless configured)");
  add_config_options(*m_serve, true);

  m_esink = app.add_subcommand(
      "esink",
      "run the server as a drop-in for Esink: its environment variables and defaults "
      "(port 80, Socket.IO at /socket.io/, POST /publish); see docs/esink-migration.md");
  add_config_options(*m_esink, true);

  m_token = app.add_subcommand("token", "mint a development token with the configured key");
  add_config_options(*m_token, false);
  m_token->add_option("--sub", m_subject, "user id (the token's subject)")->required();
  m_token->add_option("--role", m_role, "user or admin")->check(CLI::IsMember({"user", "admin"}));
  m_token->add_option("--tenant", m_tenant, "tenant claim");
  m_token->add_option("--ttl-hours", m_ttl_hours, "validity in hours")
      ->check(CLI::Range(1, 24 * 365));

  m_tables =
      app.add_subcommand("tables", "manage tracked tables: add, remove, list, reload, reset");
  add_config_options(*m_tables, false);
  m_tables->add_option("action", m_tables_action, "add | remove | list | reload | reset")
      ->required()
      ->check(CLI::IsMember({"add", "remove", "list", "reload", "reset"}));
  m_tables->add_option("table", m_table_name, "table name (add, remove, reset)");
  m_tables
      ->add_option("--url", m_admin_url,
                   "a running server (http://host:port): use its admin API instead of opening "
                   "the database file")
      ->envname("TANDEM_URL");
  m_tables
      ->add_option("--token", m_admin_token, "an admin JWT for --url (tandem token --role admin)")
      ->envname("TANDEM_TOKEN");
}

void Commands::add_config_options(CLI::App& command, bool all) {
  command.add_option("-c,--config", m_config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  for (const auto& spec : config::option_specs()) {
    bool relevant = all || spec.key.starts_with("auth.") || spec.key.starts_with("storage.") ||
                    spec.key.starts_with("log.") || spec.key.starts_with("rules.");
    if (!relevant) continue;
    std::string env = spec.env.empty() ? "" : fmt::format(" [env: {}]", fmt::join(spec.env, ", "));
    command.add_option_function<std::string>(
        "--" + spec.flag,
        [this, flag = spec.flag](const std::string& value) { m_flags[flag] = value; },
        spec.help + env);
  }
}

config::Config Commands::load_config(config::Config defaults) {
  config::Sources sources;
  sources.defaults = std::move(defaults);
  sources.config_file = m_config_file;
  sources.flags = m_flags;
  auto loaded = config::load(sources);
  if (!loaded) throw loaded.error();
  log::init(loaded->log_level, loaded->log_format);
  return std::move(*loaded);
}

int Commands::run() {
  if (m_serve->parsed()) return serve({});
  if (m_esink->parsed()) return serve(config::esink_defaults());
  if (m_token->parsed()) return token();
  if (m_tables->parsed()) return tables();
  return 2;
}

int Commands::serve(config::Config defaults) {
  // Signals are taken by this thread with sigwait, so they must be blocked before any other
  // thread starts (threads inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::Server server(load_config(std::move(defaults)));
  server.start();
  int received = 0;
  // SIGHUP reads the rules file again, as `tandem rules reload` does; a file with a mistake
  // is refused (logged) and the rules in force stay.
  while (sigwait(&signals, &received) == 0 && received == SIGHUP)
    server.reload_rules();
  log::info("signal received; shutting down gracefully",
            {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.stop();
  return 0;
}

int Commands::token() {
  auto config = load_config();
  server::use_development_secret(config);
  auto minter = auth::TokenMinter::create(config.jwt);
  if (!minter) throw minter.error();
  auth::MintRequest request;
  request.subject = m_subject;
  request.role = m_role == "admin" ? auth::Role::admin : auth::Role::user;
  if (!m_tenant.empty()) request.tenant = m_tenant;
  request.ttl = std::chrono::hours(m_ttl_hours);
  auto token = (*minter)->mint(request);
  if (!token) throw token.error();
  std::cout << *token << "\n";
  return 0;
}

int Commands::tables() {
  if (m_tables_action != "list" && m_tables_action != "reload" && m_table_name.empty()) {
    throw Error(ErrorCode::bad_request,
                fmt::format("tables {} needs a table name", m_tables_action));
  }
  return m_admin_url.empty() ? tables_offline() : tables_remote();
}

namespace {

void print_table(const std::string& name, std::size_t columns,
                 const std::vector<std::string>& key) {
  std::cout << fmt::format("{}\t{} columns\tkey {}\n", name, columns, fmt::join(key, ","));
}

std::vector<std::string> key_of(const nlohmann::json& table) {
  return table.at("primary_key").get<std::vector<std::string>>();
}

}  // namespace

int Commands::tables_remote() {
  if (m_admin_token.empty()) {
    throw Error(ErrorCode::config_invalid,
                "--url needs an admin token: --token or TANDEM_TOKEN (tandem token --sub <id> "
                "--role admin)");
  }
  AdminClient client(m_admin_url, m_admin_token);
  if (m_tables_action == "add") {
    auto table = expect_reply(
        client.request("POST", "tables", nlohmann::json{{"name", m_table_name}}.dump()),
        {200, 201});
    std::cout << fmt::format("tracking {} ({} columns, key {})\n",
                             table.at("name").get<std::string>(), table.at("columns").size(),
                             fmt::join(key_of(table), ", "));
  } else if (m_tables_action == "remove") {
    expect_reply(client.request("DELETE", "tables/" + m_table_name), {204});
    std::cout << fmt::format("no longer tracking {}\n", m_table_name);
  } else if (m_tables_action == "reset") {
    auto job =
        expect_reply(client.request("POST", fmt::format("tables/{}/reset", m_table_name)), {202});
    auto path = "jobs/" + job.at("id").get<std::string>();
    // Polled rather than streamed: a job outlives a dropped connection, and another admin
    // can watch the same job.
    while (job.at("state") == "running") {
      std::cerr << fmt::format("\r{} / {} rows", job.at("done").get<std::uint64_t>(),
                               job.at("total").get<std::uint64_t>())
                << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      job = expect_reply(client.request("GET", path), {200});
    }
    std::cerr << fmt::format("\r{} / {} rows\n", job.at("done").get<std::uint64_t>(),
                             job.at("total").get<std::uint64_t>());
    if (job.at("state") != "succeeded") {
      const auto& error = job.at("error");
      throw Error(
          parse_error_code(error.at("code").get<std::string>()).value_or(ErrorCode::internal),
          fmt::format("hard reset of {} failed: {}", m_table_name,
                      error.at("message").get<std::string>()));
    }
    std::cout << fmt::format("queued {} existing rows of {} for every client\n",
                             job.at("done").get<std::uint64_t>(), m_table_name);
  } else {
    auto reply = m_tables_action == "reload" ? client.request("POST", "tables/reload")
                                             : client.request("GET", "tables");
    auto body = expect_reply(reply, {200});
    for (const auto& table : body.at("tables")) {
      print_table(table.at("name").get<std::string>(), table.at("columns").size(), key_of(table));
    }
  }
  std::cout.flush();
  return 0;
}

int Commands::tables_offline() {
  auto config = load_config();
  if (!config.database_url.empty() || !config.mysql.database.empty()) {
    // The running server owns the change log (and PostgreSQL's replication slot, MySQL's
    // events mover); a second writer of either would corrupt the log's order.
    throw Error(ErrorCode::config_invalid,
                "with PostgreSQL or MySQL, manage tracked tables through the running server: "
                "tandem tables <action> --url http://host:port --token <admin token>");
  }
  sync::HlcClock clock;
  storage::sqlite::SqliteOptions options;
  options.path = config.effective_database_path();
  storage::sqlite::SqliteDatasource datasource(options, clock);
  if (m_tables_action == "add") {
    auto schema = datasource.track(m_table_name);
    if (!schema) throw schema.error();
    std::cout << fmt::format("tracking {} ({} columns, key {})\n", schema->name,
                             schema->columns.size(), fmt::join(schema->primary_key, ", "));
  } else if (m_tables_action == "remove") {
    if (auto status = datasource.untrack(m_table_name); !status) throw status.error();
    std::cout << fmt::format("no longer tracking {}\n", m_table_name);
  } else if (m_tables_action == "reset") {
    auto report = datasource.hard_reset(m_table_name, [](std::uint64_t done, std::uint64_t total) {
      std::cerr << fmt::format("\r{} / {} rows", done, total);
    });
    if (!report) throw report.error();
    std::cout << fmt::format("\nqueued {} existing rows of {} for every client\n", report->rows,
                             m_table_name);
  } else {
    auto tables = m_tables_action == "reload" ? datasource.reload() : datasource.tables();
    for (const auto& table : tables)
      print_table(table.name, table.columns.size(), table.primary_key);
  }
  std::cout.flush();
  datasource.close();
  return 0;
}

}  // namespace tandem::cli
