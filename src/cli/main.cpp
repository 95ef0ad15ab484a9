// The `tandem` command: serve, esink, token, tables, rules, client.
#include <fmt/format.h>
#include <signal.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/client_command.h"
#include "cli/commands.h"
#include "cli/rules_command.h"
#include "common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Tandem: keeps local databases and one cloud database in step, in real time"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tandem 0.1.0");
  tandem::cli::Commands commands(app);
  tandem::cli::ClientCommand client(app);
  tandem::cli::RulesCommand rules(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    if (client.parsed()) return client.run();
    if (rules.parsed()) return rules.run();
    return commands.run();
  } catch (const tandem::Error& error) {
    std::cerr << "tandem: " << error.message() << "\n";
    return tandem::exit_status(error.code());
  } catch (const std::exception& error) {
    std::cerr << "tandem: " << error.what() << "\n";
    return 1;
  }
}
