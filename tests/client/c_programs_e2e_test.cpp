// The C API test program and the example of docs/client.md, both compiled as C, run against
// a real server; and the guide's code is the example's file, byte for byte.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "client/client_fixture.h"
#include "support/source_tree.h"

namespace tandem::testing {
namespace {

int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(ClientEndToEnd, CApiProgramCompiledAsCPassesItsChecks) {
  auto command = std::string(TANDEM_C_API_PROGRAM) + " '" + url() + "' '" +
                 ServerProcess::token("root", auth::Role::admin) + "' '" + replica_path("c") + "'";
  EXPECT_EQ(run(command), 0);
}

TEST_F(ClientEndToEnd, GuideExampleRunsAgainstARealServer) {
  auto output = dir.file("example.out");
  auto command = std::string(TANDEM_CLIENT_EXAMPLE) + " '" + url() + "' '" +
                 ServerProcess::token("alice") + "' '" + replica_path("example") + "' > " + output;
  ASSERT_EQ(run(command), 0);
  auto text = read_file(output);
  EXPECT_NE(text.find("insert past_orders {\"id\":\"o-example\"} (local)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("row: {\"id\":\"o-example\",\"item_name\":\"Filter\",\"quantity\":2}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("0 pending"), std::string::npos) << text;
}

TEST(ClientGuide, CodeBlockIsTheCompiledExample) {
  auto source_dir = source_tree().string();
  auto guide = read_file(source_dir + "/docs/client.md");
  auto example = read_file(source_dir + "/docs/examples/client_example.c");
  auto start = guide.find("```c\n/* A complete Tandem client");
  ASSERT_NE(start, std::string::npos) << "docs/client.md has no example block";
  start += 5;
  auto end = guide.find("```", start);
  EXPECT_EQ(guide.substr(start, end - start), example)
      << "docs/client.md's example differs from docs/examples/client_example.c";
}

}  // namespace
}  // namespace tandem::testing
