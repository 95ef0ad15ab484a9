// Esink's behaviour on top of Tandem (docs/esink-migration.md): Socket.IO clients
// authenticated by a token looked up in AUTH_TABLE, every captured change delivered as a
// table event and a `changes` event to the users TABLE_AUTH_COLUMN_ROUTING names, FILTERS
// applied on every path out, POST /publish and client republishing.
//
// Thread-safety: every public member is thread-safe. publish_change() is called by the one
// publisher thread; Socket.IO callbacks come from I/O threads; token lookups run on the
// blocking-work executor given at construction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/table_schema.h"
#include "compat/esink/esink_rules.h"
#include "compat/esink/publish_request.h"
#include "compat/esink/socket_directory.h"
#include "compat/socketio/socketio_server.h"
#include "config/config.h"
#include "net/http_server.h"
#include "storage/datasource.h"
#include "sync/change.h"

namespace tandem::compat::esink {

struct EsinkContext {
  config::EsinkOptions options;
  std::string source_name;  // `source` of database changes: "postgres", the MySQL database, ...
  storage::Datasource& datasource;
  // Runs blocking work (token lookups) off the I/O threads.
  std::function<void(std::function<void()>)> run_blocking;
};

// Where a publish went: Esink's /publish answer.
struct PublishReceipt {
  std::string id;
  std::vector<std::string> sent_to;  // session ids
};

class EsinkService final : public socketio::SocketIoHandler,
                           public std::enable_shared_from_this<EsinkService> {
 public:
  explicit EsinkService(EsinkContext context);
  ~EsinkService() override;

  // Mounts /socket.io/ and POST /publish. Call once, before the HTTP server starts.
  void install(net::Router& router);
  // Disconnects every socket and releases pending long-polling requests (server shutdown).
  void stop();
  // Destroys the Socket.IO transport (which holds this service) once the HTTP server has
  // stopped and no callback can come.
  void release_transport();

  // The tracked tables' schemas, used to render values as Esink did (booleans, json).
  void set_tables(std::map<std::string, TableSchema, std::less<>> tables);
  // Delivers one captured change to the sockets its table's route names.
  void publish_change(const sync::Change& change);

  // Sends an event to a user's sockets ("*": every socket) after FILTERS; what /publish and
  // client republishing do.
  PublishReceipt publish(const std::string& user_key, const PublishRequest& request,
                         const std::string& source, const std::string& source_type);

  std::size_t socket_count() const;

  // socketio::SocketIoHandler
  void on_connect(const std::shared_ptr<socketio::Socket>& socket) override;
  void on_event(const std::shared_ptr<socketio::Socket>& socket, std::string_view event,
                const nlohmann::json& args, std::optional<std::uint64_t> ack_id) override;
  void on_disconnect(const socketio::Socket& socket, std::string_view reason) override;

 private:
  struct Connection;
  void authorize(const std::shared_ptr<socketio::Socket>& socket,
                 const std::shared_ptr<Connection>& connection, const std::string& token);
  void admit(const std::shared_ptr<socketio::Socket>& socket,
             const std::shared_ptr<Connection>& connection, nlohmann::json user);
  void refuse(const std::shared_ptr<socketio::Socket>& socket, int code, std::string message);
  void republish(const std::shared_ptr<socketio::Socket>& socket, const Connection& connection,
                 const nlohmann::json& args);
  std::shared_ptr<Connection> connection_of(const socketio::Socket& socket);
  void handle_publish(const net::HttpRequest& request, const net::HttpResponder& respond);
  // Encodes the table event and the `changes` event once, with a new id, and sends both to
  // every entry; returns the id.
  std::string send_event(const std::string& table, nlohmann::json payload, const Entries& to,
                         std::vector<std::string>* sent_to);

  EsinkContext m_context;
  EsinkRules m_rules;
  SocketDirectory m_directory;
  std::unique_ptr<socketio::SocketIoServer> m_socketio;

  mutable std::mutex m_mutex;
  std::unordered_map<const socketio::Socket*, std::shared_ptr<Connection>> m_connections;
  std::shared_ptr<const std::map<std::string, TableSchema, std::less<>>> m_tables =
      std::make_shared<const std::map<std::string, TableSchema, std::less<>>>();
};

}  // namespace tandem::compat::esink
