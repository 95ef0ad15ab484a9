// Reading the admin API's answers (kept out of admin_client.cpp, which holds Beast).
#include <fmt/format.h>

#include <algorithm>

#include "cli/admin_client.h"
#include "common/error.h"

namespace tandem::cli {

nlohmann::json expect_reply(const AdminReply& reply, std::initializer_list<int> statuses) {
  auto body = nlohmann::json::parse(reply.body, nullptr, false);
  if (std::find(statuses.begin(), statuses.end(), reply.status) != statuses.end()) return body;
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    throw Error(parse_error_code(body["error"].get<std::string>()).value_or(ErrorCode::internal),
                fmt::format("the server refused ({} {}): {}", reply.status,
                            body["error"].get<std::string>(), body.value("message", "")));
  }
  throw Error(ErrorCode::internal, fmt::format("unexpected answer from the server ({}): {}",
                                               reply.status, reply.body.substr(0, 200)));
}

}  // namespace tandem::cli
