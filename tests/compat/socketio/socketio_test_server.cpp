// A Socket.IO echo server for the JavaScript tests (tests/js): net::HttpServer on 127.0.0.1,
// port 0, with SocketIoServer mounted at /socket.io/. Prints the bound port on one line, then
// serves until SIGTERM or SIGINT.
//
//   socketio_test_server [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]
//
// The application: on connect it emits `hello` with the handshake's auth; `echo` emits `echo`
// back with the same argument; `broadcast` emits `broadcast` with the argument to every socket;
// `ack-me` answers the ack with its arguments; `flood` (a count) emits `flood` 0..count-1;
// `bye` makes the server disconnect the socket.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/logging.h"
#include "compat/socketio/socketio_server.h"
#include "net/http_server.h"

namespace {

using tandem::compat::socketio::encode_event;
using tandem::compat::socketio::Socket;
using tandem::compat::socketio::SocketIoHandler;
using tandem::compat::socketio::SocketIoOptions;
using tandem::compat::socketio::SocketIoServer;

class EchoApplication final : public SocketIoHandler {
 public:
  void on_connect(const std::shared_ptr<Socket>& socket) override {
    {
      std::lock_guard lock(m_mutex);
      m_sockets.insert(socket);
    }
    socket->emit("hello", socket->handshake().auth);
  }

  void on_event(const std::shared_ptr<Socket>& socket, std::string_view event,
                const nlohmann::json& args, std::optional<std::uint64_t> ack_id) override {
    const nlohmann::json first = args.empty() ? nlohmann::json() : args.front();
    if (event == "echo") {
      socket->emit("echo", first);
    } else if (event == "broadcast") {
      const auto packet = encode_event("broadcast", first);
      std::lock_guard lock(m_mutex);
      for (const auto& each : m_sockets)
        each->send(packet);
    } else if (event == "ack-me" && ack_id) {
      socket->ack(*ack_id, args);
    } else if (event == "flood" && first.is_number_unsigned()) {
      const auto count = first.get<std::uint64_t>();
      for (std::uint64_t i = 0; i < count; ++i)
        socket->emit("flood", i);
    } else if (event == "bye") {
      socket->disconnect();
    }
  }

  void on_disconnect(const Socket& socket, std::string_view reason) override {
    tandem::log::info("socket disconnected", {{"sid", socket.id()}, {"reason", reason}});
    std::lock_guard lock(m_mutex);
    for (auto it = m_sockets.begin(); it != m_sockets.end(); ++it) {
      if (it->get() == &socket) {
        m_sockets.erase(it);
        break;
      }
    }
  }

 private:
  std::mutex m_mutex;
  std::set<std::shared_ptr<Socket>> m_sockets;
};

bool parse_args(int argc, char** argv, SocketIoOptions& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view name = argv[i];
    const long value = std::strtol(argv[i + 1], nullptr, 10);
    if (value <= 0) return false;
    if (name == "--ping-interval") {
      options.ping_interval = std::chrono::milliseconds(value);
    } else if (name == "--ping-timeout") {
      options.ping_timeout = std::chrono::milliseconds(value);
    } else if (name == "--max-payload") {
      options.max_payload = static_cast<std::size_t>(value);
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

}  // namespace

int main(int argc, char** argv) {
  SocketIoOptions options;
  if (!parse_args(argc, argv, options)) {
    std::cerr << "usage: socketio_test_server [--ping-interval MS] [--ping-timeout MS] "
                 "[--max-payload BYTES]\n";
    return 2;
  }
  tandem::log::init(tandem::log::Level::warn, tandem::log::Format::text);

  // Blocked before any thread starts, so that only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SocketIoServer socketio(options, std::make_shared<EchoApplication>());
  tandem::net::Router router;
  socketio.mount(router);
  tandem::net::ServerOptions server_options;
  server_options.address = "127.0.0.1";
  server_options.port = 0;
  server_options.threads = 2;
  server_options.shutdown_grace = std::chrono::milliseconds(1000);
  tandem::net::HttpServer server(server_options, std::move(router));
  server.start();
  std::cout << server.port() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  socketio.stop();
  server.stop();
  server.wait();
  return 0;
}
