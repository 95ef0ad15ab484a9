// The subcommands of `tandem`. Each reads the same configuration sources as the server
// (--config file, environment, flags), so `tandem token` signs with the server's key.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>

#include "config/config.h"

namespace tandem::cli {

class Commands {
 public:
  explicit Commands(CLI::App& app);
  // Runs the parsed subcommand; returns the exit code. Throws tandem::Error on failure.
  int run();

 private:
  void add_config_options(CLI::App& command, bool all);
  config::Config load_config(config::Config defaults = {});
  int serve(config::Config defaults);
  int token();
  int tables();
  int tables_offline();
  int tables_remote();

  CLI::App& m_app;
  CLI::App* m_serve = nullptr;
  CLI::App* m_esink = nullptr;
  CLI::App* m_token = nullptr;
  CLI::App* m_tables = nullptr;
  std::optional<std::string> m_config_file;
  std::map<std::string, std::string> m_flags;

  // token
  std::string m_subject;
  std::string m_role = "user";
  std::string m_tenant;
  int m_ttl_hours = 24;

  // tables
  std::string m_tables_action;
  std::string m_table_name;
  std::string m_admin_url;    // set: talk to a running server's admin API
  std::string m_admin_token;  // an admin JWT for it
};

}  // namespace tandem::cli
