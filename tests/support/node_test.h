// Runs a JavaScript test file (tests/js/*.test.mjs) with Node's built-in test runner, as a
// child process with extra environment variables: how C++ fixtures (databases, servers)
// hand over to tests written against npm packages such as socket.io-client.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace tandem::testing {

struct NodeTestResult {
  int exit_code = -1;  // -1: killed after the timeout
  std::string output;  // the runner's report (stdout and stderr)
};

// `script` is relative to tests/js (whose node_modules `make test` installs).
NodeTestResult run_node_test(const std::string& script,
                             const std::map<std::string, std::string>& env,
                             std::chrono::seconds timeout = std::chrono::seconds(240));

}  // namespace tandem::testing
