// The admin API's answers (docs/admin-api.md): JSON bodies, and errors as the transport's JSON
// error body with the stable codes of common/error.h. Shared by the admin API's files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "net/http_server.h"

namespace tandem::server {

// The error's HTTP status unless `status` is given.
net::HttpResponse error_response(const Error& error, int status = 0);
net::HttpResponse json_response(int status, const nlohmann::json& body);
net::HttpResponse method_not_allowed(std::string allow);

}  // namespace tandem::server
