// Esink's behaviour on top of Tandem (docs/esink-migration.md): Socket.IO clients
// authenticated by a token looked up in AUTH_TABLE, every captured change delivered as a
// table event and a `changes` event to the sockets whose user the permission engine lets read
// the row, with the columns it lets them read (TABLE_AUTH_COLUMN_ROUTING and FILTERS
// translated into rules, or a rules file: esink_permissions.h), POST /publish and client
// republishing with the same columns removed.
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
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/row_filter.h"
#include "common/table_schema.h"
#include "compat/esink/esink_permissions.h"
#include "compat/esink/publish_request.h"
#include "compat/esink/socket_directory.h"
#include "compat/socketio/socketio_server.h"
#include "config/config.h"
#include "net/http_server.h"
#include "rules/permission_rules.h"
#include "rules/rules_options.h"
#include "storage/datasource.h"
#include "sync/change.h"

namespace tandem::compat::esink {

struct EsinkContext {
  config::EsinkOptions options;
  std::string source_name;  // `source` of database changes: "postgres", the MySQL database, ...
  storage::Datasource& datasource;
  // Runs blocking work (token lookups) off the I/O threads.
  std::function<void(std::function<void()>)> run_blocking;
  // `--rules FILE` was given: the rules set_tables() receives with each catalog decide what
  // sockets read, instead of the translation of TABLE_AUTH_COLUMN_ROUTING and FILTERS.
  bool rules_file = false;
  rules::RulesOptions rules_options;
  // Answers the rules file's _in_membership filters; must outlive the service. Null: such
  // filters pass nothing.
  const MembershipLookup* memberships = nullptr;
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

  // The tracked tables' schemas: what the permissions are rebuilt for (a translated route
  // reads the table's columns) and how values render as Esink rendered them (booleans, json).
  // A change of a table not in the catalog reaches nobody.
  // `rules_file`: the rules file's rules as the server's catalog carries them (they follow a
  // rules reload); nullptr: the translation.
  void set_tables(Catalog tables, const rules::RuleSet* rules_file = nullptr);
  // Delivers one captured change: to each candidate socket (by routing key, see
  // EsinkPermissions::candidates) that the engine lets see the row, with the columns it lets
  // that socket's user read. Never holds the service's lock while it evaluates or sends.
  void publish_change(const sync::Change& change);

  // Sends an event to a user's sockets ("*": every socket) with the columns of the table a
  // user may not read removed; what /publish and client republishing do.
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
  // Admits the socket as the user of the AUTH_TABLE row `user` (or the TEST user).
  void admit(const std::shared_ptr<socketio::Socket>& socket,
             const std::shared_ptr<Connection>& connection, const Row& user);
  void refuse(const std::shared_ptr<socketio::Socket>& socket, int code, std::string message);
  void republish(const std::shared_ptr<socketio::Socket>& socket, const Connection& connection,
                 const nlohmann::json& args);
  std::shared_ptr<Connection> connection_of(const socketio::Socket& socket);
  void handle_publish(const net::HttpRequest& request, const net::HttpResponder& respond);
  std::shared_ptr<const EsinkPermissions> permissions_for(Catalog tables,
                                                          const rules::RuleSet* rules_file) const;
  std::shared_ptr<const EsinkPermissions> current_permissions() const;
  // Sends `change` to the `candidates` the engine lets see it, each with its visible columns.
  void deliver(const EsinkPermissions& permissions, const TableSchema& table,
               const sync::Change& change, const std::vector<DirectoryEntry>& candidates);
  // Encodes the table event and the `changes` event once, with the id `id`, and sends both to
  // every entry.
  void send_event(const std::string& table, nlohmann::json payload, const std::string& id,
                  const std::vector<const DirectoryEntry*>& to, std::vector<std::string>* sent_to);

  EsinkContext m_context;
  SocketDirectory m_directory;
  std::unique_ptr<socketio::SocketIoServer> m_socketio;

  mutable std::mutex m_mutex;
  std::unordered_map<const socketio::Socket*, std::shared_ptr<Connection>> m_connections;
  // Replaced whole with each catalog; readers copy the pointer under m_mutex.
  std::shared_ptr<const EsinkPermissions> m_permissions;
};

}  // namespace tandem::compat::esink
