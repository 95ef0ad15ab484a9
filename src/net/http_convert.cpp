#include "net/http_convert.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <cctype>

#include "common/error.h"
#include "common/logging.h"

namespace tandem::net {
namespace {

std::string lower_case(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

}  // namespace

std::optional<std::string> ambiguous_framing(const http::request_header<>& header) {
  std::size_t lengths = 0;
  std::size_t encodings = 0;
  std::string_view encoding;
  for (const auto& field : header) {
    if (field.name() == http::field::content_length) {
      ++lengths;
      // Beast accepts a list of equal numbers; a proxy may take only the first.
      if (field.value().find(',') != std::string_view::npos) {
        return "Content-Length must be a single number";
      }
    } else if (field.name() == http::field::transfer_encoding) {
      ++encodings;
      encoding = field.value();
    }
  }
  if (lengths > 0 && encodings > 0) {
    return "a request must not have both Transfer-Encoding and Content-Length";
  }
  if (lengths > 1) return "a request must have at most one Content-Length";
  if (encodings > 1) return "a request must have at most one Transfer-Encoding";
  if (encodings == 1 && !beast::iequals(encoding, "chunked")) {
    return "Transfer-Encoding must be exactly \"chunked\"";
  }
  return std::nullopt;
}

HttpRequest to_request(const http::request_header<>& header, std::string body,
                       std::string remote_address) {
  HttpRequest request;
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  for (const auto& field : header) {
    auto [it, inserted] =
        request.headers.try_emplace(lower_case(field.name_string()), std::string(field.value()));
    // Repeated fields combine into one list (RFC 9110 section 5.3).
    if (!inserted) (it->second += ", ") += field.value();
  }
  request.body = std::move(body);
  request.remote_address = std::move(remote_address);
  return request;
}

BeastResponse to_beast_response(HttpResponse response, unsigned version, bool keep_alive,
                                bool head_request) {
  // Beast throws on a status outside 100-999; a handler's bug must not escape into Asio.
  if (response.status < 100 || response.status > 999) {
    log::error("HTTP handler returned an invalid status", {{"status", response.status}});
    response = HttpResponse::json_error(500, error_code_name(ErrorCode::internal),
                                        "Internal server error");
  }
  BeastResponse beast_response{static_cast<http::status>(response.status), version};
  beast_response.set(http::field::server, kServerName);
  if (!response.content_type.empty()) {
    beast_response.set(http::field::content_type, response.content_type);
  }
  for (auto& [name, value] : response.headers)
    beast_response.insert(name, value);
  beast_response.body() = std::move(response.body);
  beast_response.keep_alive(keep_alive);
  beast_response.prepare_payload();
  // After prepare_payload: Content-Length keeps the length the GET would have.
  if (head_request) beast_response.body().clear();
  return beast_response;
}

}  // namespace tandem::net
