#include "server/admin_http.h"

#include <fmt/format.h>

namespace tandem::server {

net::HttpResponse error_response(const Error& error, int status) {
  return net::HttpResponse::json_error(status ? status : http_status(error.code()),
                                       error_code_name(error.code()), error.message());
}

net::HttpResponse json_response(int status, const nlohmann::json& body) {
  net::HttpResponse response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

net::HttpResponse method_not_allowed(std::string allow) {
  auto response =
      net::HttpResponse::json_error(405, error_code_name(ErrorCode::bad_request),
                                    fmt::format("method not allowed here; allowed: {}", allow));
  response.headers.emplace_back("Allow", std::move(allow));
  return response;
}

}  // namespace tandem::server
