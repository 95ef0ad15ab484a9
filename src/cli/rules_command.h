// `tandem rules`: the permission rules file (docs/permissions.md).
//   tandem rules check FILE                       checks a file as the server would read it
//   tandem rules show   --url URL --token ADMIN   the rules a running server applies
//   tandem rules reload --url URL --token ADMIN   makes it read its rules file again
// (A running server also reloads its rules file on SIGHUP.)
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace tandem::cli {

class RulesCommand {
 public:
  explicit RulesCommand(CLI::App& app);
  bool parsed() const { return m_command->parsed(); }
  int run();

 private:
  int check();
  int remote();

  CLI::App* m_command = nullptr;
  std::string m_action;
  std::string m_file;
  std::string m_url;
  std::string m_token;
};

}  // namespace tandem::cli
