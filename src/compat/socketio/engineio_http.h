// The HTTP responses of the Engine.IO polling transport and its error answers, shaped as the
// reference server (engine.io) shapes them.
#pragma once

#include <string>

#include "net/http_server.h"

namespace tandem::compat::socketio {

// Engine.IO's error codes, sent as {"code": n, "message": "..."}.
enum class EngineError {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};

// 400 (403 for forbidden) with {"code": n, "message": "Session ID unknown"} etc.
net::HttpResponse engine_error_response(EngineError error);

// 200 with a polling payload or "ok" as text/plain.
net::HttpResponse polling_response(std::string body);

// 413 for a POST body above maxPayload.
net::HttpResponse payload_too_large_response();

}  // namespace tandem::compat::socketio
