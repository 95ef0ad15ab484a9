// `tandem tables ... --url`: the CLI drives a running server's admin API.
#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "e2e/admin_fixture.h"

namespace tandem::testing {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class AdminCli : public AdminEndToEnd {
 protected:
  // Runs `tandem <args>` through the shell, with `env` prepended (e.g. "TANDEM_URL=...").
  CommandResult tandem(const std::string& args, const std::string& env = {}) {
    auto out = dir.file("cli.out");
    auto err = dir.file("cli.err");
    auto command = fmt::format("{} '{}' {} >'{}' 2>'{}' </dev/null", env,
                               std::getenv("TANDEM_BINARY"), args, out, err);
    int status = std::system(command.c_str());
    return CommandResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out),
                         read_file(err)};
  }

  std::string url() { return fmt::format("http://127.0.0.1:{}", server->port()); }
  std::string remote() { return fmt::format("--url {} --token {}", url(), admin_token()); }
};

TEST_F(AdminCli, ManagesTablesOfARunningServer) {
  sql("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
      "INSERT INTO notes VALUES (1, 'one'), (2, 'two'), (3, 'three');");
  auto alice = synced("alice", "alice-phone");

  auto list = tandem("tables list " + remote());
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("products\t4 columns\tkey id"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("past_orders\t5 columns\tkey id"), std::string::npos) << list.out;

  auto add = tandem("tables add notes " + remote());
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("tracking notes (2 columns, key id)"), std::string::npos) << add.out;
  ASSERT_TRUE(alice->wait_for([&] {
    return !alice->schemas().empty() && has_table(alice->schemas().back()["tables"], "notes");
  })) << "the running server announced it: no restart";

  auto reset = tandem("tables reset notes " + remote());
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_NE(reset.out.find("queued 3 existing rows of notes"), std::string::npos) << reset.out;
  EXPECT_NE(reset.err.find("3 / 3 rows"), std::string::npos) << "progress: " << reset.err;
  EXPECT_TRUE(alice->wait_for([&] { return alice->rows("notes") == 3; }));

  auto reload =
      tandem("tables reload", fmt::format("TANDEM_URL={} TANDEM_TOKEN={}", url(), admin_token()));
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_NE(reload.out.find("notes\t2 columns\tkey id"), std::string::npos) << reload.out;

  auto remove = tandem("tables remove notes " + remote());
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_NE(remove.out.find("no longer tracking notes"), std::string::npos);
  EXPECT_EQ(call("GET", "tables/notes").status, 404);
}

TEST_F(AdminCli, ReportsTheServersRefusalAndFailsWithoutAdminRights) {
  auto user = ServerProcess::token("alice");
  auto refused = tandem(fmt::format("tables list --url {} --token {}", url(), user));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("403 forbidden"), std::string::npos) << refused.err;

  auto missing = tandem("tables add nowhere " + remote());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("404 not_found"), std::string::npos) << missing.err;

  auto system = tandem("tables add sqlite_sequence " + remote());
  EXPECT_EQ(system.exit_code, 1);
  EXPECT_NE(system.err.find("400 invalid_identifier"), std::string::npos) << system.err;

  auto no_token = tandem("tables list --url " + url());
  EXPECT_EQ(no_token.exit_code, 2) << no_token.err;
  EXPECT_NE(no_token.err.find("admin token"), std::string::npos) << no_token.err;

  auto unreachable = tandem("tables list --url http://127.0.0.1:1 --token x");
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("127.0.0.1:1"), std::string::npos) << unreachable.err;
}

}  // namespace
}  // namespace tandem::testing
