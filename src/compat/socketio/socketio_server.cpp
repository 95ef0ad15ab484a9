#include "compat/socketio/socketio_server.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/logging.h"
#include "compat/socketio/engineio_http.h"
#include "compat/socketio/engineio_websocket.h"
#include "compat/socketio/random_id.h"
#include "compat/socketio/socketio_socket.h"
#include "net/http_server.h"

namespace tandem::compat::socketio {
namespace {

using Clock = std::chrono::steady_clock;

// Housekeeping runs at most this often (deadlines are met within it) and at least this often.
constexpr auto kMinTick = std::chrono::milliseconds(20);
constexpr auto kMaxTick = std::chrono::milliseconds(1000);

// Every query parameter, percent-decoded (by HttpRequest::query_param).
std::map<std::string, std::string> query_map(const net::HttpRequest& request) {
  std::map<std::string, std::string> query;
  std::string_view rest = request.query;
  while (!rest.empty()) {
    const auto end = rest.find('&');
    const std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const std::string key(pair.substr(0, pair.find('=')));
    if (key.empty() || query.contains(key)) continue;
    query.emplace(key, request.query_param(key).value_or(""));
  }
  return query;
}

}  // namespace

void Socket::emit(std::string_view event, const nlohmann::json& data) {
  send(encode_event(event, data));
}

void Socket::ack(std::uint64_t ack_id, const nlohmann::json& args) {
  send(std::make_shared<const std::string>(encode_ack(ack_id, args)));
}

std::shared_ptr<const std::string> encode_event(std::string_view event,
                                                const nlohmann::json& data) {
  return std::make_shared<const std::string>(encode_event_message(event, data));
}

struct SocketIoServer::Impl : std::enable_shared_from_this<SocketIoServer::Impl> {
  Impl(SocketIoOptions options_in, std::shared_ptr<SocketIoHandler> handler)
      : options(std::move(options_in)), context(std::make_shared<SocketContext>()) {
    context->handler = std::move(handler);
    engine_options.ping_interval = options.ping_interval;
    engine_options.ping_timeout = options.ping_timeout;
    engine_options.upgrade_timeout = options.upgrade_timeout;
    engine_options.max_payload = options.max_payload;
    engine_options.max_queued_bytes = options.max_queued_bytes;
  }

  const SocketIoOptions options;
  EngineIoOptions engine_options;
  const std::shared_ptr<SocketContext> context;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::unordered_map<std::string, std::shared_ptr<SocketIoSocket>> sockets;  // by Engine.IO sid
  std::vector<std::shared_ptr<SocketIoSocket>> pending_drains;
  bool stopping = false;
  bool quit = false;
  bool woken = false;
  std::thread housekeeper;

  void schedule_drain(std::shared_ptr<SocketIoSocket> socket) {
    {
      std::lock_guard lock(mutex);
      pending_drains.push_back(std::move(socket));
      woken = true;
    }
    wake.notify_one();
  }

  void run_pending_drains() {
    std::vector<std::shared_ptr<SocketIoSocket>> drains;
    {
      std::lock_guard lock(mutex);
      drains.swap(pending_drains);
    }
    for (const auto& socket : drains)
      socket->drain_callbacks();
  }

  // --- Registry ------------------------------------------------------------------------------

  // A new session and its socket, registered; null when stopping.
  std::shared_ptr<SocketIoSocket> create(EngineIoSession::Transport transport,
                                         const net::HttpRequest& request) {
    auto session = std::make_shared<EngineIoSession>(random_id(), transport, engine_options);
    Handshake handshake;
    handshake.remote_address = request.remote_address;
    handshake.query = query_map(request);
    handshake.headers = request.headers;
    auto socket = std::make_shared<SocketIoSocket>(context, session, std::move(handshake),
                                                   Clock::now() + options.connect_timeout);
    std::weak_ptr<Impl> weak_self = weak_from_this();
    session->set_listener(socket, [weak_self, sid = session->sid()] {
      if (auto self = weak_self.lock()) self->remove(sid);
    });
    {
      std::lock_guard lock(mutex);
      if (stopping) return nullptr;
      sockets.emplace(session->sid(), socket);
      woken = true;
    }
    wake.notify_one();
    return socket;
  }

  std::shared_ptr<SocketIoSocket> find(const std::string& sid) const {
    std::lock_guard lock(mutex);
    const auto found = sockets.find(sid);
    return found == sockets.end() ? nullptr : found->second;
  }

  void remove(const std::string& sid) {
    std::shared_ptr<SocketIoSocket> removed;  // released outside the lock
    std::lock_guard lock(mutex);
    const auto found = sockets.find(sid);
    if (found == sockets.end()) return;
    removed = std::move(found->second);
    sockets.erase(found);
  }

  std::vector<std::shared_ptr<SocketIoSocket>> snapshot() const {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<SocketIoSocket>> all;
    all.reserve(sockets.size());
    for (const auto& [sid, socket] : sockets)
      all.push_back(socket);
    return all;
  }

  // --- Housekeeping --------------------------------------------------------------------------

  void run_housekeeping() {
    std::unique_lock lock(mutex);
    while (!quit) {
      lock.unlock();
      run_pending_drains();
      const auto now = Clock::now();
      auto next = now + kMaxTick;
      for (const auto& socket : snapshot())
        next = std::min(next, socket->on_timer(now));
      next = std::max(next, now + kMinTick);
      lock.lock();
      wake.wait_until(lock, next, [&] { return quit || woken; });
      woken = false;
    }
    lock.unlock();
    run_pending_drains();
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    for (const auto& socket : snapshot())
      socket->shutdown();
    run_pending_drains();
  }

  // --- CORS ----------------------------------------------------------------------------------

  // The Access-Control headers for a request from `origin`, if CORS allows it.
  void add_cors_headers(const net::HttpRequest& request, net::HttpResponse& response) const {
    if (options.cors_origins.empty()) return;
    const auto origin = request.header("origin");
    const bool any = std::find(options.cors_origins.begin(), options.cors_origins.end(), "*") !=
                     options.cors_origins.end();
    if (any) {
      response.headers.emplace_back("Access-Control-Allow-Origin", "*");
    } else if (origin && std::find(options.cors_origins.begin(), options.cors_origins.end(),
                                   *origin) != options.cors_origins.end()) {
      response.headers.emplace_back("Access-Control-Allow-Origin", *origin);
      response.headers.emplace_back("Access-Control-Allow-Credentials", "true");
      response.headers.emplace_back("Vary", "Origin");
    }
  }

  net::HttpResponder with_cors(const net::HttpRequest& request, net::HttpResponder responder) {
    if (options.cors_origins.empty()) return responder;
    net::HttpResponse headers_only;
    add_cors_headers(request, headers_only);
    return [responder = std::move(responder),
            headers = std::move(headers_only.headers)](net::HttpResponse response) {
      response.headers.insert(response.headers.end(), headers.begin(), headers.end());
      responder(std::move(response));
    };
  }

  // --- HTTP long-polling ---------------------------------------------------------------------

  void handle_http(const net::HttpRequest& request, net::HttpResponder responder) {
    responder = with_cors(request, std::move(responder));
    if (request.method == "OPTIONS" && !options.cors_origins.empty()) {
      net::HttpResponse preflight;
      preflight.status = 204;
      preflight.content_type.clear();
      preflight.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      if (auto asked = request.header("access-control-request-headers")) {
        preflight.headers.emplace_back("Access-Control-Allow-Headers", *asked);
      }
      return responder(std::move(preflight));
    }
    const auto transport = request.query_param("transport");
    if (transport != "polling" && transport != "websocket") {
      return responder(engine_error_response(EngineError::unknown_transport));
    }
    if (const auto sid = request.query_param("sid")) {
      auto socket = find(*sid);
      if (!socket) return responder(engine_error_response(EngineError::unknown_sid));
      // A WebSocket request without an upgrade, or polling on an upgraded session.
      if (transport != "polling") {
        return responder(engine_error_response(EngineError::bad_request));
      }
      if (request.method == "GET") return socket->session().handle_poll(std::move(responder));
      if (request.method == "POST") {
        return socket->session().handle_post(request.body, responder);
      }
      return responder(engine_error_response(EngineError::bad_request));
    }
    if (request.method != "GET") {
      return responder(engine_error_response(EngineError::bad_handshake_method));
    }
    if (request.query_param("EIO") != "4") {
      return responder(engine_error_response(EngineError::unsupported_protocol_version));
    }
    if (transport != "polling") return responder(engine_error_response(EngineError::bad_request));
    auto socket = create(EngineIoSession::Transport::polling, request);
    if (!socket) return responder(shutting_down());
    responder(polling_response(socket->session().open_packet()));
  }

  static net::HttpResponse shutting_down() {
    return net::HttpResponse::json_error(503, "shutting_down", "Server is shutting down");
  }

  // --- WebSocket -----------------------------------------------------------------------------

  std::variant<std::shared_ptr<net::WebSocketHandler>, net::HttpResponse> accept_websocket(
      const net::HttpRequest& request) {
    const auto transport = request.query_param("transport");
    if (transport != "websocket") {
      return engine_error_response(transport == "polling" ? EngineError::bad_request
                                                          : EngineError::unknown_transport);
    }
    if (const auto sid = request.query_param("sid")) {
      auto socket = find(*sid);
      if (!socket) return engine_error_response(EngineError::unknown_sid);
      if (!socket->session().can_upgrade()) return engine_error_response(EngineError::bad_request);
      return EngineIoWebSocket::for_upgrade(socket->session().shared_from_this());
    }
    if (request.query_param("EIO") != "4") {
      return engine_error_response(EngineError::unsupported_protocol_version);
    }
    {
      std::lock_guard lock(mutex);
      if (stopping) return shutting_down();
    }
    // The session is made when the connection opens: a failed WebSocket handshake leaves none.
    std::weak_ptr<Impl> weak_self = weak_from_this();
    return EngineIoWebSocket::for_new_session(
        [weak_self, request]() -> std::shared_ptr<EngineIoSession> {
          auto self = weak_self.lock();
          if (!self) return nullptr;
          auto socket = self->create(EngineIoSession::Transport::websocket, request);
          if (!socket) return nullptr;
          return socket->session().shared_from_this();
        });
  }
};

SocketIoServer::SocketIoServer(SocketIoOptions options, std::shared_ptr<SocketIoHandler> handler)
    : m_impl(std::make_shared<Impl>(std::move(options), std::move(handler))) {
  m_impl->context->schedule_drain =
      [weak_impl = std::weak_ptr<Impl>(m_impl)](std::shared_ptr<SocketIoSocket> socket) {
        if (auto impl = weak_impl.lock()) return impl->schedule_drain(std::move(socket));
        socket->drain_callbacks();
      };
  m_impl->housekeeper = std::thread([impl = m_impl.get()] { impl->run_housekeeping(); });
}

SocketIoServer::~SocketIoServer() {
  stop();
  {
    std::lock_guard lock(m_impl->mutex);
    m_impl->quit = true;
  }
  m_impl->wake.notify_one();
  m_impl->housekeeper.join();
}

void SocketIoServer::mount(net::Router& router, const std::string& path) {
  std::weak_ptr<Impl> weak_impl = m_impl;
  router.add("*", path, [weak_impl](const net::HttpRequest& request, net::HttpResponder responder) {
    auto impl = weak_impl.lock();
    if (!impl) return responder(Impl::shutting_down());
    impl->handle_http(request, std::move(responder));
  });
  router.add_websocket(
      path,
      [weak_impl](const net::HttpRequest& request)
          -> std::variant<std::shared_ptr<net::WebSocketHandler>, net::HttpResponse> {
        auto impl = weak_impl.lock();
        if (!impl) return Impl::shutting_down();
        return impl->accept_websocket(request);
      });
}

void SocketIoServer::stop() {
  m_impl->stop();
}

std::size_t SocketIoServer::socket_count() const {
  return m_impl->context->connected.load();
}

std::size_t SocketIoServer::session_count() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->sockets.size();
}

}  // namespace tandem::compat::socketio
