#include "net/http_responder.h"

#include <atomic>

#include "common/logging.h"
#include "net/request_dispatch.h"

namespace tandem::net {
namespace {

// Shared by every copy of one responder (std::function copies its target).
class ResponderState {
 public:
  ResponderState(std::weak_ptr<ResponseSink> sink, std::string path)
      : m_sink(std::move(sink)), m_path(std::move(path)) {}

  ~ResponderState() {
    if (m_used.load()) return;
    log::error("HTTP handler dropped its responder", {{"path", m_path}});
    if (auto sink = m_sink.lock()) {
      sink->deliver(error_response(500, ErrorCode::internal, "Internal server error"));
    }
  }
  ResponderState(const ResponderState&) = delete;
  ResponderState& operator=(const ResponderState&) = delete;

  void respond(HttpResponse response) {
    if (m_used.exchange(true)) {
      log::warn("HTTP responder called more than once", {{"path", m_path}});
      return;
    }
    if (auto sink = m_sink.lock()) sink->deliver(std::move(response));
  }

 private:
  std::weak_ptr<ResponseSink> m_sink;
  std::string m_path;
  std::atomic<bool> m_used{false};
};

}  // namespace

HttpResponder make_responder(std::weak_ptr<ResponseSink> sink, std::string path) {
  auto state = std::make_shared<ResponderState>(std::move(sink), std::move(path));
  return [state](HttpResponse response) { state->respond(std::move(response)); };
}

}  // namespace tandem::net
