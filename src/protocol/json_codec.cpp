// Protocol v1 in JSON text frames (docs/protocol.md).
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/identifier.h"
#include "common/value_json.h"
#include "protocol/codec.h"

namespace tandem::protocol {
namespace {

std::string_view access_name(TableAccess access) {
  switch (access) {
    case TableAccess::owner:
      return "private";
    case TableAccess::rules:
      return "filtered";
    case TableAccess::everyone:
      break;
  }
  return "public";
}

using nlohmann::json;

Error malformed(const std::string& message) {
  return Error(ErrorCode::malformed_message, message);
}

// Field readers: a missing or mistyped field is a malformed_message naming it.
Result<const json*> field(const json& object, std::string_view name, json::value_t type,
                          bool optional = false) {
  auto it = object.find(name);
  if (it == object.end() || (optional && it->is_null())) {
    if (optional) return static_cast<const json*>(nullptr);
    return malformed(fmt::format("field '{}' is missing", name));
  }
  // Integers are signed 64-bit: an unsigned one above INT64_MAX would wrap.
  bool matches = it->type() == type ||
                 (type == json::value_t::number_integer && it->is_number_unsigned() &&
                  it->get<std::uint64_t>() <= std::uint64_t{INT64_MAX}) ||
                 (type == json::value_t::number_unsigned && it->is_number_integer() &&
                  it->get<std::int64_t>() >= 0);
  if (!matches) {
    return malformed(fmt::format("field '{}' must be {}", name, json(type).type_name()));
  }
  return &*it;
}

// An optional field with a default: absent or null gives `fallback`, another type a
// malformed_message naming it (nlohmann's value() would throw a type_error instead).
template <typename T>
Result<T> optional_field(const json& object, std::string_view name, json::value_t type,
                         T fallback) {
  auto value = field(object, name, type, true);
  if (!value) return value.error();
  if (!*value) return fallback;
  return (*value)->get<T>();
}

Result<std::string> text_field(const json& object, std::string_view name) {
  auto value = field(object, name, json::value_t::string);
  if (!value) return value.error();
  return (*value)->get<std::string>();
}

Result<std::uint64_t> seq_field(const json& object, std::string_view name) {
  auto value = field(object, name, json::value_t::number_unsigned);
  if (!value) return value.error();
  return (*value)->get<std::uint64_t>();
}

Result<std::vector<Value>> key_array(const json& array) {
  if (!array.is_array()) return malformed("snapshot cursor 'after' must be an array");
  std::vector<Value> key;
  for (const auto& item : array) {
    auto value = value_from_json(item);
    if (!value) return value.error();
    key.push_back(std::move(*value));
  }
  return key;
}

// The optional `rules` digest of a checkpoint or a snapshot_begin: short text.
Result<std::string> rules_field(const json& object) {
  constexpr std::size_t kMaxDigest = 64;
  auto rules = field(object, "rules", json::value_t::string, true);
  if (!rules) return rules.error();
  if (!*rules) return std::string();
  const auto& text = (*rules)->get_ref<const std::string&>();
  if (text.size() > kMaxDigest) {
    return malformed(fmt::format("field 'rules' holds at most {} characters", kMaxDigest));
  }
  return text;
}

Result<Checkpoint> decode_checkpoint(const json& object) {
  if (!object.is_object()) return malformed("field 'checkpoint' must be an object or null");
  Checkpoint checkpoint;
  auto seq = seq_field(object, "seq");
  if (!seq) return seq.error();
  checkpoint.seq = *seq;
  auto snapshot = field(object, "snapshot", json::value_t::object, true);
  if (!snapshot) return snapshot.error();
  if (*snapshot) {
    auto table = text_field(**snapshot, "table");
    if (!table) return table.error();
    // No copy of `after` (json::value() would make one): copying a peer's deeply nested JSON
    // recurses once per level and can exhaust the stack.
    std::vector<Value> after_key;
    if (auto after = (*snapshot)->find("after"); after != (*snapshot)->end()) {
      auto key = key_array(*after);
      if (!key) return key.error();
      after_key = std::move(*key);
    }
    checkpoint.snapshot = Checkpoint::SnapshotCursor{std::move(*table), std::move(after_key)};
  }
  auto rules = rules_field(object);
  if (!rules) return rules.error();
  checkpoint.rules = std::move(*rules);
  return checkpoint;
}

Result<ClientMessage> decode_hello(const json& object) {
  Hello hello;
  auto protocol = field(object, "protocol", json::value_t::number_integer);
  if (!protocol) return protocol.error();
  const auto version = (*protocol)->get<std::int64_t>();
  if (version < std::numeric_limits<int>::min() || version > std::numeric_limits<int>::max()) {
    return malformed("field 'protocol' is out of range");
  }
  hello.protocol = static_cast<int>(version);
  auto token = text_field(object, "token");
  if (!token) return token.error();
  hello.token = std::move(*token);
  auto client_id = text_field(object, "client_id");
  if (!client_id) return client_id.error();
  hello.client_id = std::move(*client_id);
  if (auto it = object.find("checkpoint"); it != object.end() && !it->is_null()) {
    auto checkpoint = decode_checkpoint(*it);
    if (!checkpoint) return checkpoint.error();
    hello.checkpoint = std::move(*checkpoint);
  }
  return ClientMessage{std::move(hello)};
}

Result<PushedMutation> decode_mutation(const json& object, std::size_t index) {
  auto in_mutation = [&](const Error& error) {
    return malformed(fmt::format("mutations[{}]: {}", index, error.message()));
  };
  if (!object.is_object()) return malformed(fmt::format("mutations[{}] must be an object", index));
  PushedMutation pushed;
  auto seq = seq_field(object, "client_seq");
  if (!seq) return in_mutation(seq.error());
  pushed.client_seq = *seq;
  auto table = text_field(object, "table");
  if (!table) return in_mutation(table.error());
  pushed.mutation.table = std::move(*table);
  auto op_name = text_field(object, "op");
  if (!op_name) return in_mutation(op_name.error());
  auto op = sync::parse_op(*op_name);
  if (!op) return in_mutation(malformed("op must be insert, update or delete"));
  pushed.mutation.op = *op;
  auto pk = field(object, "pk", json::value_t::object);
  if (!pk) return in_mutation(pk.error());
  auto pk_row = row_from_json(**pk);
  if (!pk_row) return in_mutation(pk_row.error());
  pushed.mutation.pk = std::move(*pk_row);
  auto values = field(object, "values", json::value_t::object, true);
  if (!values) return in_mutation(values.error());
  if (*values) {
    auto row = row_from_json(**values);
    if (!row) return in_mutation(row.error());
    pushed.mutation.values = std::move(*row);
  }
  auto hlc_text = text_field(object, "hlc");
  if (!hlc_text) return in_mutation(hlc_text.error());
  auto hlc = sync::Hlc::parse(*hlc_text);
  if (!hlc) return in_mutation(malformed("hlc must be 16 lower-case hex digits"));
  pushed.mutation.stamp.hlc = *hlc;
  return pushed;
}

Result<ClientMessage> decode_push(const json& object) {
  auto mutations = field(object, "mutations", json::value_t::array);
  if (!mutations) return mutations.error();
  Push push;
  push.mutations.reserve((*mutations)->size());
  std::size_t index = 0;
  for (const auto& item : **mutations) {
    auto mutation = decode_mutation(item, index++);
    if (!mutation) return mutation.error();
    push.mutations.push_back(std::move(*mutation));
  }
  return ClientMessage{std::move(push)};
}

Result<ClientMessage> decode_ping(const json& object) {
  Ping ping;
  auto id = field(object, "id", json::value_t::number_integer, true);
  if (!id) return id.error();
  if (*id) ping.id = (*id)->get<std::int64_t>();
  return ClientMessage{ping};
}

// ---- server messages, decoded by clients ----------------------------------------------

Result<Row> row_field(const json& object, std::string_view name) {
  auto value = field(object, name, json::value_t::object);
  if (!value) return value.error();
  return row_from_json(**value);
}

Result<std::vector<std::string>> names_field(const json& object, std::string_view name) {
  auto value = field(object, name, json::value_t::array);
  if (!value) return value.error();
  std::vector<std::string> names;
  for (const auto& item : **value) {
    if (!item.is_string()) return malformed(fmt::format("field '{}' must hold strings", name));
    names.push_back(item.get<std::string>());
  }
  return names;
}

Result<Checkpoint> checkpoint_field(const json& object) {
  auto value = field(object, "checkpoint", json::value_t::object);
  if (!value) return value.error();
  return decode_checkpoint(**value);
}

Result<bool> bool_field(const json& object, std::string_view name) {
  auto value = field(object, name, json::value_t::boolean);
  if (!value) return value.error();
  return (*value)->get<bool>();
}

// Names are checked like the server checks them: a client creates tables and columns from
// them, so a hostile name must not reach its SQL.
Result<std::string> identifier_field(const json& object, std::string_view name,
                                     std::string_view what) {
  auto text = text_field(object, name);
  if (!text) return text.error();
  if (auto valid = check_identifier(*text, what); !valid) return malformed(valid.error().what());
  return text;
}

Result<ColumnSchema> decode_column(const json& object) {
  if (!object.is_object()) return malformed("a column must be an object");
  ColumnSchema column;
  auto name = identifier_field(object, "name", "column");
  if (!name) return name.error();
  column.name = std::move(*name);
  auto type = text_field(object, "type");
  if (!type) return type.error();
  // A type a newer server may add is read as `any`: the declared type still says more.
  column.type = parse_column_type(*type).value_or(ColumnType::any);
  auto declared_type =
      optional_field(object, "declared_type", json::value_t::string, std::string());
  if (!declared_type) return declared_type.error();
  column.declared_type = std::move(*declared_type);
  auto not_null = bool_field(object, "not_null");
  if (!not_null) return not_null.error();
  column.not_null = *not_null;
  auto has_default = bool_field(object, "has_default");
  if (!has_default) return has_default.error();
  column.has_default = *has_default;
  return column;
}

Result<TableInfo> decode_table(const json& object) {
  if (!object.is_object()) return malformed("a table must be an object");
  TableInfo info;
  auto name = identifier_field(object, "name", "table");
  if (!name) return name.error();
  info.schema.name = std::move(*name);
  auto columns = field(object, "columns", json::value_t::array);
  if (!columns) return columns.error();
  for (const auto& item : **columns) {
    auto column = decode_column(item);
    if (!column) return column.error();
    info.schema.columns.push_back(std::move(*column));
  }
  auto key = field(object, "primary_key", json::value_t::array);
  if (!key) return key.error();
  for (const auto& item : **key) {
    if (!item.is_string()) return malformed("primary_key must be an array of column names");
    auto column = std::find_if(info.schema.columns.begin(), info.schema.columns.end(),
                               [&](const auto& c) { return c.name == item.get<std::string>(); });
    if (column == info.schema.columns.end()) {
      return malformed(fmt::format("table '{}': primary-key column '{}' is not among its columns",
                                   info.schema.name, item.get<std::string>()));
    }
    info.schema.primary_key.push_back(column->name);
    column->primary_key_position = static_cast<int>(info.schema.primary_key.size());
  }
  if (info.schema.primary_key.empty()) {
    return malformed(fmt::format("table '{}' has no primary key", info.schema.name));
  }
  auto access = text_field(object, "access");
  if (!access) return access.error();
  if (*access == "private") {
    info.access = TableAccess::owner;
  } else if (*access == "filtered") {
    info.access = TableAccess::rules;
  } else if (*access != "public") {
    return malformed("field 'access' must be 'public', 'private' or 'filtered'");
  }
  if (info.access == TableAccess::owner) {
    auto owner = identifier_field(object, "owner_column", "column");
    if (!owner) return owner.error();
    info.owner_column = std::move(*owner);
  }
  auto writable = bool_field(object, "writable");
  if (!writable) return writable.error();
  info.writable = *writable;
  return info;
}

Result<ServerMessageReceived> decode_welcome(const json& object) {
  Welcome welcome;
  auto protocol = field(object, "protocol", json::value_t::number_integer);
  if (!protocol) return protocol.error();
  auto user = text_field(object, "user");
  if (!user) return user.error();
  welcome.user = std::move(*user);
  auto role = optional_field(object, "role", json::value_t::string, std::string("user"));
  if (!role) return role.error();
  welcome.role = std::move(*role);
  auto seq = seq_field(object, "server_seq");
  if (!seq) return seq.error();
  welcome.server_seq = *seq;
  auto snapshot = bool_field(object, "snapshot");
  if (!snapshot) return snapshot.error();
  welcome.snapshot = *snapshot;
  auto tables = field(object, "tables", json::value_t::array);
  if (!tables) return tables.error();
  for (const auto& item : **tables) {
    auto table = decode_table(item);
    if (!table) return table.error();
    welcome.tables.push_back(std::move(*table));
  }
  return ServerMessageReceived{std::move(welcome)};
}

Result<ServerMessageReceived> decode_snapshot_begin(const json& object) {
  SnapshotBeginReceived received;
  auto seq = seq_field(object, "seq");
  if (!seq) return seq.error();
  received.begin.seq = *seq;
  auto reset = bool_field(object, "reset");
  if (!reset) return reset.error();
  received.begin.reset = *reset;
  auto rows = field(object, "rows", json::value_t::number_unsigned, true);
  if (!rows) return rows.error();
  if (*rows) received.rows = (*rows)->get<std::uint64_t>();
  auto rules = rules_field(object);
  if (!rules) return rules.error();
  received.begin.rules = std::move(*rules);
  return ServerMessageReceived{received};
}

Result<ServerMessageReceived> decode_snapshot_rows(const json& object) {
  SnapshotRowsReceived received;
  auto table = text_field(object, "table");
  if (!table) return table.error();
  received.table = std::move(*table);
  auto rows = field(object, "rows", json::value_t::array);
  if (!rows) return rows.error();
  received.rows.reserve((*rows)->size());
  for (const auto& item : **rows) {
    auto row = row_from_json(item);
    if (!row) return row.error();
    received.rows.push_back(std::move(*row));
  }
  auto checkpoint = checkpoint_field(object);
  if (!checkpoint) return checkpoint.error();
  received.checkpoint = std::move(*checkpoint);
  return ServerMessageReceived{std::move(received)};
}

Result<ServerMessageReceived> decode_snapshot_end(const json& object) {
  auto checkpoint = checkpoint_field(object);
  if (!checkpoint) return checkpoint.error();
  return ServerMessageReceived{SnapshotEnd{std::move(*checkpoint)}};
}

Result<ChangeReceived> decode_change(const json& object, std::size_t index) {
  auto in_change = [&](const Error& error) {
    return malformed(fmt::format("changes[{}]: {}", index, error.message()));
  };
  if (!object.is_object()) return malformed(fmt::format("changes[{}] must be an object", index));
  ChangeReceived received;
  sync::Change& change = received.change;
  auto seq = seq_field(object, "seq");
  if (!seq) return in_change(seq.error());
  change.seq = *seq;
  auto table = text_field(object, "table");
  if (!table) return in_change(table.error());
  change.table = std::move(*table);
  auto op_name = text_field(object, "op");
  if (!op_name) return in_change(op_name.error());
  auto op = sync::parse_op(*op_name);
  if (!op) return in_change(malformed("op must be insert, update or delete"));
  change.op = *op;
  auto pk = row_field(object, "pk");
  if (!pk) return in_change(pk.error());
  change.pk = std::move(*pk);
  auto row = row_field(object, "row");
  if (!row) return in_change(row.error());
  change.row = std::move(*row);
  auto hlc_text = text_field(object, "hlc");
  if (!hlc_text) return in_change(hlc_text.error());
  auto hlc = sync::Hlc::parse(*hlc_text);
  if (!hlc) return in_change(malformed("hlc must be 16 lower-case hex digits"));
  change.stamp.hlc = *hlc;
  auto node = optional_field(object, "node", json::value_t::string, std::string());
  if (!node) return in_change(node.error());
  change.stamp.node = std::move(*node);
  auto at = optional_field(object, "at", json::value_t::number_integer, std::int64_t{0});
  if (!at) return in_change(at.error());
  change.committed_at_ms = *at;
  if (change.op == sync::Op::update) {
    auto changed = names_field(object, "changed");
    if (!changed) return in_change(changed.error());
    received.changed = std::move(*changed);
  }
  return received;
}

Result<ServerMessageReceived> decode_changes(const json& object) {
  ChangesReceived received;
  auto checkpoint = checkpoint_field(object);
  if (!checkpoint) return checkpoint.error();
  received.checkpoint = std::move(*checkpoint);
  auto changes = field(object, "changes", json::value_t::array);
  if (!changes) return changes.error();
  received.changes.reserve((*changes)->size());
  std::size_t index = 0;
  for (const auto& item : **changes) {
    auto change = decode_change(item, index++);
    if (!change) return change.error();
    received.changes.push_back(std::move(*change));
  }
  return ServerMessageReceived{std::move(received)};
}

Result<AckException> decode_ack_exception(const json& object) {
  if (!object.is_object()) return malformed("an ack exception must be an object");
  AckException item;
  auto seq = seq_field(object, "client_seq");
  if (!seq) return seq.error();
  item.client_seq = *seq;
  auto status = text_field(object, "status");
  if (!status) return status.error();
  if (*status != "rejected" && *status != "superseded") {
    return malformed("an ack exception's status must be rejected or superseded");
  }
  item.rejected = *status == "rejected";
  if (item.rejected) {
    auto code = optional_field(object, "code", json::value_t::string, std::string());
    if (!code) return code.error();
    item.code = parse_error_code(*code).value_or(ErrorCode::internal);
    auto message = optional_field(object, "message", json::value_t::string, std::string());
    if (!message) return message.error();
    item.message = std::move(*message);
  }
  auto table = text_field(object, "table");
  if (!table) return table.error();
  item.table = std::move(*table);
  auto pk = row_field(object, "pk");
  if (!pk) return pk.error();
  item.pk = std::move(*pk);
  item.row_omitted = !object.contains("row");
  auto row = field(object, "row", json::value_t::object, true);
  if (!row) return row.error();
  if (*row) {
    auto values = row_from_json(**row);
    if (!values) return values.error();
    item.row = std::move(*values);
  }
  return item;
}

Result<ServerMessageReceived> decode_ack(const json& object) {
  Ack ack;
  auto seq = seq_field(object, "client_seq");
  if (!seq) return seq.error();
  ack.client_seq = *seq;
  auto exceptions = field(object, "exceptions", json::value_t::array, true);
  if (!exceptions) return exceptions.error();
  if (*exceptions) {
    for (const auto& item : **exceptions) {
      auto exception = decode_ack_exception(item);
      if (!exception) return exception.error();
      ack.exceptions.push_back(std::move(*exception));
    }
  }
  return ServerMessageReceived{std::move(ack)};
}

Result<ServerMessageReceived> decode_error(const json& object) {
  ErrorMessage error;
  auto code = text_field(object, "code");
  if (!code) return code.error();
  error.code = parse_error_code(*code).value_or(ErrorCode::internal);
  auto message = optional_field(object, "message", json::value_t::string, std::string());
  if (!message) return message.error();
  error.message = std::move(*message);
  auto fatal = optional_field(object, "fatal", json::value_t::boolean, false);
  if (!fatal) return fatal.error();
  error.fatal = *fatal;
  return ServerMessageReceived{std::move(error)};
}

Result<ServerMessageReceived> decode_pong(const json& object) {
  Pong pong;
  auto id = field(object, "id", json::value_t::number_integer, true);
  if (!id) return id.error();
  if (*id) pong.id = (*id)->get<std::int64_t>();
  return ServerMessageReceived{pong};
}

json encode_checkpoint(const Checkpoint& checkpoint) {
  json object = {{"seq", checkpoint.seq}};
  if (checkpoint.snapshot) {
    json after = json::array();
    for (const auto& value : checkpoint.snapshot->after)
      after.push_back(to_json(value));
    object["snapshot"] = {{"table", checkpoint.snapshot->table}, {"after", std::move(after)}};
  }
  if (!checkpoint.rules.empty()) object["rules"] = checkpoint.rules;
  return object;
}

json encode_table(const TableInfo& info) {
  json columns = json::array();
  for (const auto& column : info.schema.columns) {
    columns.push_back({{"name", column.name},
                       {"type", column_type_name(column.type)},
                       {"declared_type", column.declared_type},
                       {"not_null", column.not_null},
                       {"has_default", column.has_default}});
  }
  json table = {{"name", info.schema.name},
                {"primary_key", info.schema.primary_key},
                {"columns", std::move(columns)},
                {"access", access_name(info.access)},
                {"writable", info.writable}};
  if (info.access == TableAccess::owner) table["owner_column"] = info.owner_column;
  return table;
}

json encode_tables(const std::vector<TableInfo>& tables) {
  json array = json::array();
  for (const auto& table : tables)
    array.push_back(encode_table(table));
  return array;
}

struct ServerEncoder {
  json operator()(const Welcome& welcome) const {
    return {{"type", "welcome"},
            {"protocol", kProtocolVersion},
            {"user", welcome.user},
            {"role", welcome.role},
            {"tables", encode_tables(welcome.tables)},
            {"server_seq", welcome.server_seq},
            {"snapshot", welcome.snapshot}};
  }
  json operator()(const Schema& schema) const {
    return {{"type", "schema"}, {"tables", encode_tables(schema.tables)}};
  }
  json operator()(const SnapshotBegin& begin) const {
    json object = {{"type", "snapshot_begin"}, {"seq", begin.seq}, {"reset", begin.reset}};
    if (begin.rows) object["rows"] = *begin.rows;
    if (!begin.rules.empty()) object["rules"] = begin.rules;
    return object;
  }
  json operator()(const SnapshotRows& rows) const {
    json array = json::array();
    for (const auto& row : *rows.rows)
      array.push_back(to_json(row));
    return {{"type", "snapshot_rows"},
            {"table", rows.table},
            {"rows", std::move(array)},
            {"checkpoint", encode_checkpoint(rows.checkpoint)}};
  }
  json operator()(const SnapshotEnd& end) const {
    return {{"type", "snapshot_end"}, {"checkpoint", encode_checkpoint(end.checkpoint)}};
  }
  json operator()(const Ack& ack) const {
    json exceptions = json::array();
    for (const auto& item : ack.exceptions) {
      json entry = {{"client_seq", item.client_seq},
                    {"status", item.rejected ? "rejected" : "superseded"},
                    {"table", item.table},
                    {"pk", to_json(item.pk)}};
      if (!item.row_omitted) entry["row"] = item.row ? to_json(*item.row) : json(nullptr);
      if (item.rejected) {
        entry["code"] = error_code_name(item.code);
        entry["message"] = item.message;
      }
      exceptions.push_back(std::move(entry));
    }
    return {{"type", "ack"}, {"client_seq", ack.client_seq}, {"exceptions", std::move(exceptions)}};
  }
  json operator()(const ErrorMessage& error) const {
    return {{"type", "error"},
            {"code", error_code_name(error.code)},
            {"message", error.message},
            {"fatal", error.fatal}};
  }
  json operator()(const Pong& pong) const {
    json object = {{"type", "pong"}};
    if (pong.id) object["id"] = *pong.id;
    return object;
  }
};

json encode_change_json(const sync::Change& change, sync::Op op) {
  json object = {{"seq", change.seq},          {"table", change.table},
                 {"op", sync::op_name(op)},    {"pk", to_json(change.pk)},
                 {"row", to_json(change.row)}, {"hlc", change.stamp.hlc.to_string()},
                 {"node", change.stamp.node},  {"at", change.committed_at_ms}};
  if (op == sync::Op::update) {
    json changed = json::array();
    for (const auto& [column, value] : change.old)
      changed.push_back(column);
    object["changed"] = std::move(changed);
  }
  return object;
}

class JsonCodec final : public Codec {
 public:
  Result<ClientMessage> decode(std::string_view frame) const override {
    json object = json::parse(frame, nullptr, false);
    if (object.is_discarded()) return malformed("the frame is not valid JSON");
    if (!object.is_object()) return malformed("a message must be a JSON object");
    auto type = text_field(object, "type");
    if (!type) return type.error();
    if (*type == "hello") return decode_hello(object);
    if (*type == "push") return decode_push(object);
    if (*type == "ping") return decode_ping(object);
    return Error(ErrorCode::unknown_message_type,
                 fmt::format("unknown message type '{}'", type->substr(0, 64)));
  }

  std::string encode(const ServerMessage& message) const override {
    return std::visit(ServerEncoder{}, message)
        .dump(-1, ' ', false, json::error_handler_t::replace);
  }

  std::string encode_change(const sync::Change& change) const override {
    return encode_change_as(change, change.op);
  }

  std::string encode_change_as(const sync::Change& change, sync::Op op) const override {
    return encode_change_json(change, op).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  std::string encode_changes_frame(std::span<const std::string_view> encoded_changes,
                                   std::uint64_t checkpoint_seq) const override {
    std::size_t size = 64;
    for (auto change : encoded_changes)
      size += change.size() + 1;
    std::string frame;
    frame.reserve(size);
    frame += R"({"type":"changes","checkpoint":{"seq":)";
    frame += std::to_string(checkpoint_seq);
    frame += R"(},"changes":[)";
    for (std::size_t i = 0; i < encoded_changes.size(); ++i) {
      if (i > 0) frame += ',';
      frame += encoded_changes[i];
    }
    frame += "]}";
    return frame;
  }

  Result<ServerMessageReceived> decode_server(std::string_view frame) const override {
    json object = json::parse(frame, nullptr, false);
    if (object.is_discarded()) return malformed("the frame is not valid JSON");
    if (!object.is_object()) return malformed("a message must be a JSON object");
    auto type = text_field(object, "type");
    if (!type) return type.error();
    if (*type == "changes") return decode_changes(object);
    if (*type == "snapshot_rows") return decode_snapshot_rows(object);
    if (*type == "ack") return decode_ack(object);
    if (*type == "welcome") return decode_welcome(object);
    if (*type == "snapshot_begin") return decode_snapshot_begin(object);
    if (*type == "snapshot_end") return decode_snapshot_end(object);
    if (*type == "error") return decode_error(object);
    if (*type == "pong") return decode_pong(object);
    if (*type == "schema") {
      auto schema = decode_schema(frame);
      if (!schema) return schema.error();
      return ServerMessageReceived{std::move(*schema)};
    }
    return Error(ErrorCode::unknown_message_type,
                 fmt::format("unknown message type '{}'", type->substr(0, 64)));
  }

  std::string encode(const ClientMessage& message) const override {
    return std::visit(
        [](const auto& m) -> std::string {
          using T = std::decay_t<decltype(m)>;
          json object;
          if constexpr (std::is_same_v<T, Hello>) {
            object = {{"type", "hello"},
                      {"protocol", m.protocol},
                      {"token", m.token},
                      {"client_id", m.client_id}};
            object["checkpoint"] = m.checkpoint ? encode_checkpoint(*m.checkpoint) : json(nullptr);
          } else if constexpr (std::is_same_v<T, Push>) {
            json mutations = json::array();
            for (const auto& pushed : m.mutations) {
              const auto& mutation = pushed.mutation;
              json item = {{"client_seq", pushed.client_seq},
                           {"table", mutation.table},
                           {"op", sync::op_name(mutation.op)},
                           {"pk", to_json(mutation.pk)},
                           {"hlc", mutation.stamp.hlc.to_string()}};
              if (mutation.op != sync::Op::remove) item["values"] = to_json(mutation.values);
              mutations.push_back(std::move(item));
            }
            object = {{"type", "push"}, {"mutations", std::move(mutations)}};
          } else {
            object = {{"type", "ping"}};
            if (m.id) object["id"] = *m.id;
          }
          return object.dump();
        },
        message);
  }

  Result<Schema> decode_schema(std::string_view frame) const override {
    json object = json::parse(frame, nullptr, false);
    if (object.is_discarded()) return malformed("the frame is not valid JSON");
    if (!object.is_object()) return malformed("a message must be a JSON object");
    auto type = text_field(object, "type");
    if (!type) return type.error();
    if (*type != "schema")
      return malformed(fmt::format("expected a schema message, not '{}'", type->substr(0, 64)));
    auto tables = field(object, "tables", json::value_t::array);
    if (!tables) return tables.error();
    Schema schema;
    for (const auto& item : **tables) {
      auto table = decode_table(item);
      if (!table)
        return malformed(
            fmt::format("tables[{}]: {}", schema.tables.size(), table.error().message()));
      schema.tables.push_back(std::move(*table));
    }
    return schema;
  }
};

}  // namespace

std::unique_ptr<Codec> make_json_codec() {
  return std::make_unique<JsonCodec>();
}

}  // namespace tandem::protocol
