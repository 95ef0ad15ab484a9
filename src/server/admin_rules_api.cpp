// The admin API's permission-rules resources (docs/admin-api.md, "Rules"): show, replace and
// reload the rules file, and "view as user".
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/identifier.h"
#include "common/logging.h"
#include "common/value_json.h"
#include "rules/permissions.h"
#include "server/admin_api.h"
#include "server/admin_http.h"
#include "storage/filter_sql.h"

namespace tandem::server {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultViewRows = 100;
constexpr std::size_t kMaxViewRows = 1000;

json status_json(const RulesStatus& status) {
  json object = {{"file", status.file.empty() ? json(nullptr) : json(status.file)},
                 {"version", status.version},
                 {"loaded_at", status.loaded_at_ms}};
  return object;
}

// The request of a view: {"claims": {...}, "after": [...], "limit": N}.
struct ViewRequest {
  std::string claims;  // a JSON object, as text
  std::optional<std::vector<Value>> after;
  std::size_t limit = kDefaultViewRows;
};

Result<ViewRequest> parse_view_request(const std::string& body) {
  auto request = json::parse(body, nullptr, false);
  auto malformed = [](const std::string& message) {
    return Error(ErrorCode::malformed_message, message);
  };
  if (request.is_discarded() || !request.is_object()) {
    return malformed(R"(the body must be a JSON object {"claims": {"sub": "<user>", ...}})");
  }
  auto claims = request.find("claims");
  if (claims == request.end() || !claims->is_object()) {
    return malformed(
        R"(field 'claims' must be an object: the token's claims, e.g. {"sub": "alice"})");
  }
  ViewRequest view;
  view.claims = claims->dump();
  if (auto after = request.find("after"); after != request.end() && !after->is_null()) {
    if (!after->is_array())
      return malformed("field 'after' must be the last key received (an array)");
    std::vector<Value> key;
    for (const auto& item : *after) {
      auto value = value_from_json(item);
      if (!value) return value.error();
      key.push_back(std::move(*value));
    }
    view.after = std::move(key);
  }
  if (auto limit = request.find("limit"); limit != request.end() && !limit->is_null()) {
    if (!limit->is_number_unsigned() || limit->get<std::uint64_t>() == 0 ||
        limit->get<std::uint64_t>() > kMaxViewRows) {
      return malformed(fmt::format("field 'limit' must be from 1 to {}", kMaxViewRows));
    }
    view.limit = limit->get<std::size_t>();
  }
  return view;
}

}  // namespace

net::HttpResponse AdminApi::get_rules() {
  auto status = m_context.rules_control.status();
  auto body = status_json(status);
  auto permissions = m_context.rules_control.current();
  if (const auto* rules = permissions->rule_set()) {
    json tables = json::object();
    for (const auto& [table, roles] : rules->tables)
      tables[table] = permissions->roles_for(table);
    json memberships = json::object();
    for (const auto& [name, declared] : rules->memberships) {
      memberships[name] = {{"table", declared.table},
                           {"key_column", declared.key_column},
                           {"member_column", declared.member_column},
                           {"claim", declared.claim}};
    }
    body["tables"] = std::move(tables);
    body["memberships"] = std::move(memberships);
    auto text = m_context.rules_control.file_text();
    body["text"] = text ? json(*text) : json(nullptr);
  }
  return json_response(200, body);
}

net::HttpResponse AdminApi::put_rules(const std::string& body) {
  auto replaced = m_context.rules_control.replace(body);
  if (!replaced) return error_response(replaced.error());
  auto answer = status_json(*replaced);
  answer["changed"] = replaced->changed;
  return json_response(200, answer);
}

net::HttpResponse AdminApi::reload_rules() {
  auto reloaded = m_context.rules_control.reload();
  if (!reloaded) return error_response(reloaded.error());
  auto answer = status_json(*reloaded);
  answer["changed"] = reloaded->changed;
  return json_response(200, answer);
}

net::HttpResponse AdminApi::view_as_user(const std::string& table_name, const std::string& body) {
  if (auto valid = check_identifier(table_name, "table"); !valid) {
    return error_response(valid.error());
  }
  auto request = parse_view_request(body);
  if (!request) return error_response(request.error());
  auto claims = m_context.verifier->claims_of(request->claims);
  if (!claims) {
    return error_response(Error(ErrorCode::bad_request, std::string(claims.error().message())));
  }
  auto tables = m_context.datasource.tables();
  auto schema = std::find_if(tables.begin(), tables.end(),
                             [&](const TableSchema& table) { return table.name == table_name; });
  if (schema == tables.end()) {
    return error_response(
        Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", table_name)));
  }
  // A key of another shape would reach the SQL as a malformed comparison.
  if (request->after && request->after->size() != schema->primary_key.size()) {
    return error_response(
        Error(ErrorCode::malformed_message,
              fmt::format("field 'after' must be a key of '{}': {} value(s), for ({})", table_name,
                          schema->primary_key.size(), fmt::join(schema->primary_key, ", "))));
  }
  auto permissions = m_context.rules_control.current();
  std::string problem;
  auto access = permissions->read_access(
      *claims, *schema,
      [&](std::string_view name) -> const TableSchema* {
        for (const auto& table : tables) {
          if (table.name == name) return &table;
        }
        return nullptr;
      },
      &problem);
  json columns = json::array();
  for (const auto& column : schema->columns) {
    if (access.sees_column(column.name, *schema)) columns.push_back(column.name);
  }
  json answer = {{"table", table_name},
                 {"user", claims->subject},
                 {"role", claims->role_name},
                 {"visible", !access.sees_nothing()},
                 {"filter", storage::describe_filter(access.rows)},
                 {"columns", std::move(columns)},
                 {"rows", json::array()},
                 {"next", nullptr}};
  if (!problem.empty()) answer["problem"] = problem;
  if (access.sees_nothing()) return json_response(200, answer);
  // The same SQL a snapshot of this user runs: what the admin sees is what they would get.
  storage::SnapshotRequest snapshot;
  snapshot.table = &*schema;
  snapshot.filter = access.rows;
  snapshot.after_key = request->after;
  snapshot.limit = request->limit;
  auto page = m_context.datasource.read_snapshot(snapshot);
  for (const auto& row : page.rows)
    answer["rows"].push_back(to_json(rules::Permissions::visible_part(row, access, *schema)));
  if (!page.done && !page.rows.empty()) {
    json next = json::array();
    for (const auto& value : schema->key_of(page.rows.back()))
      next.push_back(to_json(value));
    answer["next"] = std::move(next);
  }
  return json_response(200, answer);
}

}  // namespace tandem::server
