#include "cli/rules_command.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/admin_client.h"
#include "common/error.h"
#include "rules/rules_file.h"
#include "rules/view_digest.h"

namespace tandem::cli {

RulesCommand::RulesCommand(CLI::App& app) {
  m_command = app.add_subcommand(
      "rules", "permission rules: check a file, show or reload a running server's rules");
  m_command->add_option("action", m_action, "check | show | reload")
      ->required()
      ->check(CLI::IsMember({"check", "show", "reload"}));
  m_command->add_option("file", m_file, "the rules file (check)");
  m_command->add_option("--url", m_url, "a running server (http://host:port)")
      ->envname("TANDEM_URL");
  m_command->add_option("--token", m_token, "an admin JWT (tandem token --role admin)")
      ->envname("TANDEM_TOKEN");
}

int RulesCommand::run() {
  return m_action == "check" ? check() : remote();
}

int RulesCommand::check() {
  if (m_file.empty()) throw Error(ErrorCode::bad_request, "rules check needs a file");
  auto rules = rules::read_rules_file(m_file);
  if (!rules) throw rules.error();
  std::cout << fmt::format("{}: {} tables, {} memberships, version {}\n", m_file,
                           rules->tables.size(), rules->memberships.size(),
                           rules::rules_digest(*rules));
  return 0;
}

int RulesCommand::remote() {
  if (m_url.empty() || m_token.empty()) {
    throw Error(ErrorCode::config_invalid,
                fmt::format("rules {} talks to a running server: --url (TANDEM_URL) and an admin "
                            "--token (TANDEM_TOKEN)",
                            m_action));
  }
  AdminClient client(m_url, m_token);
  if (m_action == "reload") {
    auto answer = expect_reply(client.request("POST", "rules/reload"), {200});
    std::cout << fmt::format("rules version {} ({})\n", answer.at("version").get<std::string>(),
                             answer.at("changed").get<bool>() ? "changed: users whose view changed "
                                                                "receive it again"
                                                              : "unchanged");
    return 0;
  }
  auto answer = expect_reply(client.request("GET", "rules"), {200});
  if (answer.at("file").is_null()) {
    std::cout << "no rules file: the owner-column default applies\n";
    return 0;
  }
  std::cout << fmt::format("# {} (version {})\n", answer.at("file").get<std::string>(),
                           answer.at("version").get<std::string>());
  if (answer.contains("text") && answer["text"].is_string())
    std::cout << answer["text"].get<std::string>();
  return 0;
}

}  // namespace tandem::cli
