#include "compat/socketio/engineio_http.h"

#include <string_view>

namespace tandem::compat::socketio {
namespace {

std::string_view error_message(EngineError error) {
  switch (error) {
    case EngineError::unknown_transport:
      return "Transport unknown";
    case EngineError::unknown_sid:
      return "Session ID unknown";
    case EngineError::bad_handshake_method:
      return "Bad handshake method";
    case EngineError::bad_request:
      return "Bad request";
    case EngineError::forbidden:
      return "Forbidden";
    case EngineError::unsupported_protocol_version:
      return "Unsupported protocol version";
  }
  return "Bad request";
}

}  // namespace

net::HttpResponse engine_error_response(EngineError error) {
  net::HttpResponse response;
  response.status = error == EngineError::forbidden ? 403 : 400;
  response.content_type = "application/json";
  // The messages are fixed ASCII strings: no escaping needed.
  response.body = "{\"code\":" + std::to_string(static_cast<int>(error)) + ",\"message\":\"" +
                  std::string(error_message(error)) + "\"}";
  return response;
}

net::HttpResponse polling_response(std::string body) {
  net::HttpResponse response;
  response.status = 200;
  response.content_type = "text/plain; charset=UTF-8";
  response.body = std::move(body);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

net::HttpResponse payload_too_large_response() {
  net::HttpResponse response;
  response.status = 413;
  response.content_type = "text/plain; charset=UTF-8";
  response.body = "Payload Too Large";
  return response;
}

}  // namespace tandem::compat::socketio
