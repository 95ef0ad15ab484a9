// `tandem client`: a replica on the command line. `tandem client --url --token --db` syncs
// continuously (a progress bar during the initial snapshot, then one line per change);
// `tandem client exec --db FILE "SQL"` runs SQL against the replica, e.g. from another
// terminal while the first one syncs.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace tandem::cli {

class ClientCommand {
 public:
  explicit ClientCommand(CLI::App& app);
  bool parsed() const { return m_command->parsed(); }
  int run();

 private:
  int sync();
  int exec();

  CLI::App* m_command = nullptr;
  CLI::App* m_exec = nullptr;
  std::string m_url;
  std::string m_token;
  std::string m_db;
  std::string m_exec_db;
  std::string m_sql;
  bool m_quiet = false;
};

}  // namespace tandem::cli
