#include "compat/esink/esink_service.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/logging.h"
#include "compat/esink/esink_json.h"
#include "compat/esink/event_id.h"
#include "sync/mutation.h"

namespace tandem::compat::esink {
namespace {

// Socket.IO refuses to emit these names; a table called so still reaches `changes`.
bool reserved_event_name(std::string_view name) {
  return name == "connect" || name == "connect_error" || name == "disconnect" ||
         name == "disconnecting" || name == "newListener" || name == "removeListener";
}

std::int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// JSON numbers as JavaScript writes them: integral values without a fraction.
nlohmann::json js_number(double number) {
  if (number == std::floor(number) && std::fabs(number) < 9.007e15) {
    return static_cast<std::int64_t>(number);
  }
  return number;
}

bool same_secret(std::string_view given, std::string_view expected) {
  // Constant time in the secret's content: a timing side channel must not reveal it.
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const char other = i < expected.size() ? expected[i] : '\0';
    difference |= static_cast<unsigned char>(given[i] ^ other);
  }
  return difference == 0;
}

net::HttpResponse json_response(int status, const nlohmann::json& body) {
  net::HttpResponse response;
  response.status = status;
  response.content_type = "application/json; charset=utf-8";
  response.body = body.dump();
  return response;
}

nlohmann::json invalid_body(const ValidationFailure& failure, std::string message) {
  return {{"code", 400},
          {"error", failure.error_json()},
          {"type", "ValidationError"},
          {"key", failure.key},
          {"message", std::move(message)}};
}

}  // namespace

struct EsinkService::Connection {
  enum class State { authorizing, admitted, closed };
  std::mutex mutex;
  State state = State::authorizing;
  std::string session_id;
  std::string user_key;
  // `event` messages that arrived while the token was being checked (Esink drops them).
  std::vector<nlohmann::json> early_events;
};

EsinkService::EsinkService(EsinkContext context)
    : m_context(std::move(context)), m_permissions(permissions_for({}, nullptr)) {}

EsinkService::~EsinkService() = default;

void EsinkService::install(net::Router& router) {
  socketio::SocketIoOptions options;
  options.ping_interval = m_context.options.ping_interval;
  options.ping_timeout = m_context.options.ping_timeout;
  m_socketio = std::make_unique<socketio::SocketIoServer>(options, shared_from_this());
  m_socketio->mount(router);
  router.add("POST", "/publish",
             [this](const net::HttpRequest& request, const net::HttpResponder& respond) {
               handle_publish(request, respond);
             });
  log::info("esink compatibility on",
            {{"socketio", "/socket.io/"},
             {"publish",
              m_context.options.security_token ? "enabled" : "disabled (SECURITY_TOKEN unset)"},
             {"permissions",
              m_context.rules_file ? "the rules file" : "TABLE_AUTH_COLUMN_ROUTING and FILTERS"},
             {"routed_tables", m_context.options.routing.size()}});
  if (m_context.rules_file &&
      (!m_context.options.routing.empty() || !m_context.options.filters.empty())) {
    log::warn(
        "esink: a rules file is given, so TABLE_AUTH_COLUMN_ROUTING and FILTERS are not "
        "used: the rules decide what each socket receives");
  }
}

void EsinkService::stop() {
  if (m_socketio) m_socketio->stop();
}

void EsinkService::release_transport() {
  m_socketio.reset();
}

std::shared_ptr<const EsinkPermissions> EsinkService::permissions_for(
    Catalog tables, const rules::RuleSet* rules_file) const {
  if (rules_file) {
    return EsinkPermissions::from_rules_file(*rules_file, m_context.rules_options,
                                             m_context.memberships, std::move(tables));
  }
  return EsinkPermissions::translated(m_context.options, std::move(tables));
}

std::shared_ptr<const EsinkPermissions> EsinkService::current_permissions() const {
  std::lock_guard lock(m_mutex);
  return m_permissions;
}

void EsinkService::set_tables(Catalog tables, const rules::RuleSet* rules_file) {
  // Built before the lock is taken: deliveries in progress keep the permissions they started
  // with.
  auto permissions = permissions_for(std::move(tables), rules_file);
  std::lock_guard lock(m_mutex);
  m_permissions = std::move(permissions);
}

std::size_t EsinkService::socket_count() const {
  return m_directory.size();
}

void EsinkService::publish_change(const sync::Change& change) {
  const auto permissions = current_permissions();
  const auto* table = permissions->table(change.table);
  if (!table) return;  // not in the catalog (yet): the engine cannot judge it, so nobody
  // Esink sends the new row, or the old one for a delete: change.row either way.
  const auto recipients = permissions->candidates(*table, change.row);
  if (recipients.everyone) {
    deliver(*permissions, *table, change, *m_directory.everyone());
    return;
  }
  // One event per routing column that names a connected user, each with its own id, as
  // Esink publishes once per column.
  for (const auto& user : recipients.users) {
    auto sockets = m_directory.of_user(user);
    if (!sockets->empty()) deliver(*permissions, *table, change, *sockets);
  }
}

void EsinkService::deliver(const EsinkPermissions& permissions, const TableSchema& table,
                           const sync::Change& change,
                           const std::vector<DirectoryEntry>& candidates) {
  // Sockets that read the same columns share one encoded event. The columns belong to the
  // role, so this is normally one audience; the rows each user sees do not (the filter).
  struct Audience {
    rules::ReadAccess access;
    std::vector<const DirectoryEntry*> sockets;
  };
  std::vector<Audience> audiences;
  for (const auto& candidate : candidates) {
    auto access = permissions.read_access(*candidate.claims, table);
    if (!permissions.may_see(access, change.row)) continue;
    auto same = std::find_if(audiences.begin(), audiences.end(), [&](const Audience& audience) {
      return audience.access.columns == access.columns;
    });
    if (same == audiences.end()) {
      audiences.push_back(Audience{std::move(access), {&candidate}});
    } else {
      same->sockets.push_back(&candidate);
    }
  }
  const auto id = audiences.empty() ? std::string() : new_uuid();
  for (const auto& audience : audiences) {
    auto row = permissions.visible_part(audience.access, table, change.row);
    nlohmann::json payload = {{"table", change.table},
                              {"type", sync::op_name(change.op)},
                              {"data", esink_row(&table, row)},
                              {"source", m_context.source_name},
                              {"source_type", "database"},
                              {"timestamp", change.committed_at_ms},
                              {"version", 1}};
    send_event(change.table, std::move(payload), id, audience.sockets, nullptr);
  }
}

void EsinkService::send_event(const std::string& table, nlohmann::json payload,
                              const std::string& id, const std::vector<const DirectoryEntry*>& to,
                              std::vector<std::string>* sent_to) {
  payload["id"] = id;
  std::shared_ptr<const std::string> table_packet;
  if (!reserved_event_name(table)) table_packet = socketio::encode_event(table, payload);
  const auto changes_packet = socketio::encode_event("changes", payload);
  for (const auto* entry : to) {
    if (table_packet) entry->socket->send(table_packet);
    entry->socket->send(changes_packet);
    if (sent_to) sent_to->push_back(entry->session_id);
  }
}

PublishReceipt EsinkService::publish(const std::string& user_key, const PublishRequest& request,
                                     const std::string& source, const std::string& source_type) {
  auto data = request.data;
  // The columns a user reads belong to the role, not to who the user is: any user's claims
  // judge them ("*" included).
  current_permissions()->remove_hidden_columns(esink_claims(user_key, {}), request.table, data);
  nlohmann::json payload = {
      {"table", request.table},
      {"type", request.type},
      {"data", std::move(data)},
      {"source", source},
      {"source_type", source_type},
      {"timestamp",
       request.timestamp ? js_number(*request.timestamp) : nlohmann::json(now_millis())},
      {"version", request.version ? js_number(*request.version) : nlohmann::json(1)}};
  PublishReceipt receipt;
  receipt.id = new_uuid();
  const auto to = user_key == "*" ? m_directory.everyone() : m_directory.of_user(user_key);
  std::vector<const DirectoryEntry*> recipients;
  recipients.reserve(to->size());
  for (const auto& entry : *to)
    recipients.push_back(&entry);
  send_event(request.table, std::move(payload), receipt.id, recipients, &receipt.sent_to);
  return receipt;
}

std::shared_ptr<EsinkService::Connection> EsinkService::connection_of(
    const socketio::Socket& socket) {
  std::lock_guard lock(m_mutex);
  const auto found = m_connections.find(&socket);
  return found == m_connections.end() ? nullptr : found->second;
}

void EsinkService::on_connect(const std::shared_ptr<socketio::Socket>& socket) {
  auto connection = std::make_shared<Connection>();
  {
    std::lock_guard lock(m_mutex);
    m_connections[socket.get()] = connection;
  }
  const auto& auth = socket->handshake().auth;
  const auto token = auth.is_object() ? auth.find("token") : auth.end();
  if (!auth.is_object() || token == auth.end() || !token->is_string()) {
    refuse(socket, 401, "Unauthorized");
    return;
  }
  auto text = token->get<std::string>();
  if (text == "TEST") {
    admit(socket, connection, Row{{"id", Value("-1")}, {"name", Value("Test User")}});
    return;
  }
  m_context.run_blocking([self = shared_from_this(), socket, connection, text = std::move(text)] {
    self->authorize(socket, connection, text);
  });
}

void EsinkService::authorize(const std::shared_ptr<socketio::Socket>& socket,
                             const std::shared_ptr<Connection>& connection,
                             const std::string& token) {
  const auto& options = m_context.options;
  try {
    auto rows =
        m_context.datasource.lookup_rows(options.auth_table, options.auth_column, Value(token), 2);
    if (!rows) {
      log::error("esink: the token lookup failed", {{"auth_table", options.auth_table},
                                                    {"auth_column", options.auth_column},
                                                    {"error", rows.error().message()}});
      refuse(socket, 401, "Unauthorized");
      return;
    }
    // Exactly one row authorises: a token shared by two rows names nobody.
    if (rows->size() != 1) {
      refuse(socket, 401, "Unauthorized");
      return;
    }
    admit(socket, connection, rows->front());
  } catch (const std::exception& e) {
    log::error("esink: the token lookup failed", {{"error", e.what()}});
    refuse(socket, 500, "Internal server error");
  }
}

void EsinkService::admit(const std::shared_ptr<socketio::Socket>& socket,
                         const std::shared_ptr<Connection>& connection, const Row& user) {
  const auto shown = esink_row(nullptr, user);
  const auto id = shown.find("id");
  auto user_key = id == shown.end() ? std::string() : routing_key(*id);
  if (user_key.empty()) {
    log::error("esink: the AUTH_TABLE row has no usable id column; refusing the socket",
               {{"auth_table", m_context.options.auth_table}});
    refuse(socket, 401, "Unauthorized");
    return;
  }
  auto claims = std::make_shared<const auth::Claims>(esink_claims(user_key, user));
  std::vector<nlohmann::json> early_events;
  {
    std::lock_guard lock(connection->mutex);
    if (connection->state != Connection::State::authorizing) return;  // gone meanwhile
    connection->state = Connection::State::admitted;
    connection->session_id = new_uuid();
    connection->user_key = user_key;
    early_events.swap(connection->early_events);
    m_directory.add({connection->session_id, user_key, socket, std::move(claims)});
  }
  socket->emit("connected", {{"sessionId", connection->session_id},
                             {"userId", *id},
                             {"code", 200},
                             {"message", "Successfully connected."}});
  log::debug("esink socket connected", {{"session", connection->session_id}, {"user", user_key}});
  for (const auto& args : early_events)
    republish(socket, *connection, args);
}

void EsinkService::refuse(const std::shared_ptr<socketio::Socket>& socket, int code,
                          std::string message) {
  socket->emit("error", {{"code", code}, {"message", std::move(message)}});
  socket->disconnect();
}

void EsinkService::on_event(const std::shared_ptr<socketio::Socket>& socket, std::string_view event,
                            const nlohmann::json& args, std::optional<std::uint64_t>) {
  if (event != "event") return;  // Esink listens to nothing else
  auto connection = connection_of(*socket);
  if (!connection) return;
  {
    std::lock_guard lock(connection->mutex);
    if (connection->state == Connection::State::authorizing) {
      connection->early_events.push_back(args);
      return;
    }
    if (connection->state == Connection::State::closed) return;
  }
  republish(socket, *connection, args);
}

void EsinkService::republish(const std::shared_ptr<socketio::Socket>& socket,
                             const Connection& connection, const nlohmann::json& args) {
  if (!m_context.options.allow_republishing) {
    socket->emit("error", {{"code", 403},
                           {"message",
                            "Republishing is disabled: the server's ALLOW_REPUBLISHING "
                            "is off"}});
    return;
  }
  const nlohmann::json body = args.is_array() && !args.empty() ? args[0] : nlohmann::json();
  auto validated = validate_publish(body, PublishBody::socket);
  if (auto* failure = std::get_if<ValidationFailure>(&validated)) {
    auto error = invalid_body(*failure, "Invalid parameters given");
    error["originalBody"] = body;
    socket->emit("error", error);
    return;
  }
  publish(connection.user_key, std::get<PublishRequest>(validated), "socketio", "socketio");
}

void EsinkService::on_disconnect(const socketio::Socket& socket, std::string_view) {
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard lock(m_mutex);
    const auto found = m_connections.find(&socket);
    if (found == m_connections.end()) return;
    connection = found->second;
    m_connections.erase(found);
  }
  std::lock_guard lock(connection->mutex);
  connection->state = Connection::State::closed;
  m_directory.remove(&socket);
}

void EsinkService::handle_publish(const net::HttpRequest& request,
                                  const net::HttpResponder& respond) {
  const auto body = parse_publish_body(request.header("content-type").value_or(""), request.body);
  if (!body) {
    respond(json_response(400, {{"code", 400},
                                {"error", {{"name", "SyntaxError"}}},
                                {"type", "SyntaxError"},
                                {"key", nullptr},
                                {"message", "The request body is not valid JSON"}}));
    return;
  }
  auto validated = validate_publish(*body, PublishBody::api);
  if (auto* failure = std::get_if<ValidationFailure>(&validated)) {
    respond(json_response(400, invalid_body(*failure, failure->message)));
    return;
  }
  const auto& options = m_context.options;
  if (!options.security_token) {
    respond(json_response(403, {{"code", 403},
                                {"message",
                                 "Publishing API is disabled, because SECURITY_TOKEN environment "
                                 "variable is not set!"}}));
    return;
  }
  const auto& publish_request = std::get<PublishRequest>(validated);
  if (!same_secret(publish_request.security_token, *options.security_token)) {
    respond(
        json_response(401, {{"code", 401}, {"message", "Unauthorized, invalid security token"}}));
    return;
  }
  try {
    auto receipt = publish(publish_request.user_id, publish_request,
                           publish_request.source.value_or(options.default_source), "api");
    respond(json_response(200, {{"code", 200},
                                {"id", receipt.id},
                                {"sentTo", receipt.sent_to},
                                {"message", "Message queued for publishing"}}));
  } catch (const std::exception& e) {
    log::error("esink: publish failed", {{"error", e.what()}});
    respond(json_response(500, {{"code", 500}, {"message", "Internal server error"}}));
  }
}

}  // namespace tandem::compat::esink
