// A stream layer under Beast's WebSocket stream that lets one connection own its writes;
// internal to src/net (include only from .cpp files that already compile Beast).
//
// Why: Beast writes one WebSocket message per async_write, i.e. one sendmsg per message, and
// that call is the fan-out's limit (about 13 us each on this machine). The session builds the
// frames of many queued messages itself and writes them in one call. Beast still writes its
// own frames (the handshake response, pings, pongs to the peer's pings, close frames) through
// this layer, at moments the session does not control; this layer serialises every writer, so
// that no frame is ever interleaved with another: each async_write_some here writes all of
// its buffers before the next write, whoever asked for it, starts.
//
// Not thread-safe: every call runs on the connection's strand (the next layer's executor),
// as Beast's own operations do.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

namespace tandem::net {

template <class NextLayer>
class ExclusiveWriteStream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  explicit ExclusiveWriteStream(NextLayer&& next) : m_next(std::move(next)) {}
  ~ExclusiveWriteStream() { m_state->alive = false; }
  ExclusiveWriteStream(const ExclusiveWriteStream&) = delete;
  ExclusiveWriteStream& operator=(const ExclusiveWriteStream&) = delete;

  NextLayer& next_layer() noexcept { return m_next; }
  const NextLayer& next_layer() const noexcept { return m_next; }
  executor_type get_executor() noexcept { return m_next.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return m_next.async_read_some(buffers, std::forward<Token>(token));
  }

  // Writes every byte of `buffers` (the completion reports their total size, or an error),
  // after the writes already started or waiting.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& buffers) {
          if (m_state->busy) {
            m_state->waiting.emplace_back([this, buffers, handler = std::move(handler)]() mutable {
              write_all(buffers, std::move(handler));
            });
            return;
          }
          write_all(buffers, std::move(handler));
        },
        token, buffers);
  }

 private:
  // Shared with the write in flight, which may complete after this layer is gone (Beast's
  // keep-alive ping does not keep the connection alive).
  struct State {
    bool alive = true;
    bool busy = false;
    std::deque<boost::asio::any_completion_handler<void()>> waiting;
  };

  template <class ConstBuffers, class Handler>
  void write_all(const ConstBuffers& buffers, Handler handler) {
    m_state->busy = true;
    boost::asio::async_write(m_next, buffers,
                             [state = m_state, handler = std::move(handler)](
                                 boost::beast::error_code ec, std::size_t bytes) mutable {
                               state->busy = false;
                               // Waiting writers go first: a session that writes again from its
                               // completion handler must not starve Beast's pongs and close frame.
                               if (state->alive && !state->waiting.empty()) {
                                 auto next = std::move(state->waiting.front());
                                 state->waiting.pop_front();
                                 std::move(next)();
                               }
                               std::move(handler)(ec, bytes);
                             });
  }

  NextLayer m_next;
  std::shared_ptr<State> m_state = std::make_shared<State>();
};

// Beast's closing handshake tears the connection down through the layer below.
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, ExclusiveWriteStream<NextLayer>& stream,
                    TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

template <class NextLayer>
void teardown(boost::beast::role_type role, ExclusiveWriteStream<NextLayer>& stream,
              boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

}  // namespace tandem::net
