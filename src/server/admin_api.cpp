#include "server/admin_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/identifier.h"
#include "common/logging.h"
#include "rules/permissions.h"
#include "server/admin_http.h"

namespace tandem::server {
namespace {

using nlohmann::json;

// What the admin API says of a table: its columns and who reads which of its rows.
struct AccessView {
  const rules::AccessRules& owner_rules;
  PermissionsPtr permissions;
};

json table_json(const TableSchema& table, const AccessView& access) {
  json columns = json::array();
  for (const auto& column : table.columns) {
    columns.push_back({{"name", column.name},
                       {"type", column_type_name(column.type)},
                       {"declared_type", column.declared_type},
                       {"not_null", column.not_null},
                       {"has_default", column.has_default},
                       {"primary_key", column.primary_key_position > 0}});
  }
  json object = {
      {"name", table.name}, {"primary_key", table.primary_key}, {"columns", std::move(columns)}};
  if (access.permissions->has_rules_file()) {
    object["access"] = "filtered";
    object["roles"] = access.permissions->roles_for(table.name);
    return object;
  }
  auto rule = access.owner_rules.rule_for(table);
  object["access"] = rule.is_private ? "private" : "public";
  if (rule.is_private) object["owner_column"] = rule.owner_column;
  return object;
}

json tables_json(const std::vector<TableSchema>& tables, const AccessView& access) {
  json array = json::array();
  for (const auto& table : tables)
    array.push_back(table_json(table, access));
  return {{"tables", std::move(array)}};
}

json job_json(const JobStatus& job) {
  json object = {{"id", job.id},
                 {"kind", job.kind},
                 {"table", job.table},
                 {"state", job_state_name(job.state)},
                 {"done", job.done},
                 {"total", job.total},
                 {"started_at", job.started_at_ms}};
  if (job.finished_at_ms != 0) object["finished_at"] = job.finished_at_ms;
  if (job.state == JobStatus::State::failed) {
    object["error"] = {{"code", error_code_name(job.error_code)}, {"message", job.error_message}};
  }
  return object;
}

std::vector<std::string> split_path(std::string_view rest) {
  std::vector<std::string> segments;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    segments.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return segments;
}

// The bearer token's claims if they carry the admin role; else the answer to send.
std::variant<auth::Claims, net::HttpResponse> authenticate(const net::HttpRequest& request,
                                                           const auth::TokenVerifier& verifier) {
  auto header = request.header("authorization").value_or("");
  constexpr std::string_view kScheme = "bearer ";
  bool bearer = header.size() > kScheme.size() &&
                std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char a, char b) {
                  return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
                });
  if (!bearer) {
    auto response = error_response(
        Error(ErrorCode::unauthenticated, "the admin API needs 'Authorization: Bearer <JWT>'"));
    response.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="tandem-admin")");
    return response;
  }
  auto claims = verifier.verify(std::string_view(header).substr(kScheme.size()));
  if (!claims) {
    auto response = error_response(claims.error());
    response.headers.emplace_back("WWW-Authenticate",
                                  R"(Bearer realm="tandem-admin", error="invalid_token")");
    return response;
  }
  if (claims->role != auth::Role::admin) {
    return error_response(
        Error(ErrorCode::forbidden, fmt::format("user '{}' is not an admin: the admin API needs a "
                                                "token with the admin role",
                                                claims->subject)));
  }
  return std::move(*claims);
}

}  // namespace

void AdminApi::install(net::Router& router) {
  router.add_prefix("*", std::string(kPrefix),
                    [this](const net::HttpRequest& request, net::HttpResponder respond) {
                      handle(request, std::move(respond));
                    });
}

void AdminApi::on_pool(net::HttpResponder respond, std::function<net::HttpResponse()> work) {
  m_context.pool.post([respond = std::move(respond), work = std::move(work)] {
    try {
      respond(work());
    } catch (const Error& error) {
      log::error("admin request failed", {{"error", error.message()}});
      respond(error_response(error));
    }
  });
}

void AdminApi::handle(const net::HttpRequest& request, net::HttpResponder respond) {
  auto identity = authenticate(request, *m_context.verifier);
  if (auto* refusal = std::get_if<net::HttpResponse>(&identity)) {
    respond(std::move(*refusal));
    return;
  }
  const auto& admin = std::get<auth::Claims>(identity);
  std::string_view rest(request.path);
  rest.remove_prefix(kPrefix.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  auto path = split_path(rest);
  const auto& method = request.method;
  log::info("admin request",
            {{"admin", admin.subject}, {"method", method}, {"path", request.path}});

  if (path.size() == 1 && path[0] == "tables") {
    if (method == "GET") return on_pool(std::move(respond), [this] { return list_tables(); });
    if (method == "POST") {
      return on_pool(std::move(respond), [this, body = request.body] { return add_table(body); });
    }
    return respond(method_not_allowed("GET, POST"));
  }
  if (path.size() == 2 && path[0] == "tables") {
    const auto& name = path[1];
    if (method == "POST" && name == "reload") {
      return on_pool(std::move(respond), [this] { return reload_tables(); });
    }
    if (method == "GET")
      return on_pool(std::move(respond), [this, name] { return get_table(name); });
    if (method == "DELETE") {
      return on_pool(std::move(respond), [this, name] { return remove_table(name); });
    }
    return respond(method_not_allowed(name == "reload" ? "GET, DELETE, POST" : "GET, DELETE"));
  }
  if (path.size() == 3 && path[0] == "tables" && path[2] == "reset") {
    if (method != "POST") return respond(method_not_allowed("POST"));
    return on_pool(std::move(respond), [this, name = path[1]] { return reset_table(name); });
  }
  if (path.size() == 3 && path[0] == "tables" && path[2] == "view") {
    if (method != "POST") return respond(method_not_allowed("POST"));
    return on_pool(std::move(respond), [this, name = path[1], body = request.body] {
      return view_as_user(name, body);
    });
  }
  if (path.size() == 1 && path[0] == "rules") {
    if (method == "GET") return on_pool(std::move(respond), [this] { return get_rules(); });
    if (method == "PUT") {
      return on_pool(std::move(respond), [this, body = request.body] { return put_rules(body); });
    }
    return respond(method_not_allowed("GET, PUT"));
  }
  if (path.size() == 2 && path[0] == "rules" && path[1] == "reload") {
    if (method != "POST") return respond(method_not_allowed("POST"));
    return on_pool(std::move(respond), [this] { return reload_rules(); });
  }
  if (path.size() == 1 && path[0] == "jobs") {
    if (method != "GET") return respond(method_not_allowed("GET"));
    return respond(list_jobs());
  }
  if (path.size() == 2 && path[0] == "jobs") {
    if (method != "GET") return respond(method_not_allowed("GET"));
    return respond(get_job(path[1]));
  }
  respond(error_response(
      Error(ErrorCode::not_found, fmt::format("no admin resource at '{}'", request.path))));
}

net::HttpResponse AdminApi::list_tables() {
  return json_response(200,
                       tables_json(m_context.datasource.tables(),
                                   AccessView{m_context.rules, m_context.rules_control.current()}));
}

net::HttpResponse AdminApi::get_table(const std::string& name) {
  if (auto valid = check_identifier(name, "table"); !valid) return error_response(valid.error());
  for (const auto& table : m_context.datasource.tables()) {
    if (table.name == name)
      return json_response(
          200, table_json(table, AccessView{m_context.rules, m_context.rules_control.current()}));
  }
  return error_response(
      Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name)));
}

net::HttpResponse AdminApi::add_table(const std::string& body) {
  auto request = json::parse(body, nullptr, false);
  if (request.is_discarded()) {
    return error_response(Error(ErrorCode::malformed_message, "the body is not valid JSON"));
  }
  if (!request.is_object() || !request.contains("name") || !request["name"].is_string()) {
    return error_response(Error(ErrorCode::malformed_message,
                                R"(the body must be a JSON object {"name": "<table>"})"));
  }
  auto name = request["name"].get<std::string>();
  bool was_tracked = false;
  for (const auto& table : m_context.datasource.tables())
    was_tracked = was_tracked || table.name == name;
  auto schema = m_context.datasource.track(name);
  if (!schema) return error_response(schema.error());
  m_context.publisher.refresh_catalog();
  // Tracking a tracked table is not an error: it re-reads its schema, like a reload of it.
  auto response = json_response(
      was_tracked ? 200 : 201,
      table_json(*schema, AccessView{m_context.rules, m_context.rules_control.current()}));
  response.headers.emplace_back("Location", fmt::format("{}tables/{}", kPrefix, name));
  return response;
}

net::HttpResponse AdminApi::remove_table(const std::string& name) {
  if (auto valid = check_identifier(name, "table"); !valid) return error_response(valid.error());
  if (auto removed = m_context.datasource.untrack(name); !removed) {
    return error_response(removed.error());
  }
  m_context.publisher.refresh_catalog();
  net::HttpResponse response;
  response.status = 204;
  return response;
}

net::HttpResponse AdminApi::reload_tables() {
  auto tables = m_context.datasource.reload();
  m_context.publisher.refresh_catalog();
  return json_response(
      200, tables_json(tables, AccessView{m_context.rules, m_context.rules_control.current()}));
}

net::HttpResponse AdminApi::reset_table(const std::string& name) {
  if (auto valid = check_identifier(name, "table"); !valid) return error_response(valid.error());
  bool tracked = false;
  for (const auto& table : m_context.datasource.tables())
    tracked = tracked || table.name == name;
  if (!tracked) {
    return error_response(
        Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name)));
  }
  auto& datasource = m_context.datasource;
  auto started = m_jobs.start("hard_reset", name, [&datasource, name](const JobProgress& progress) {
    auto report = datasource.hard_reset(name, progress);
    if (!report) return Status(report.error());
    return ok_status();
  });
  if (!started) return error_response(started.error());
  auto response = json_response(202, job_json(started->job));
  response.headers.emplace_back("Location", fmt::format("{}jobs/{}", kPrefix, started->job.id));
  return response;
}

net::HttpResponse AdminApi::get_job(const std::string& id) {
  auto job = m_jobs.find(id);
  if (!job) return error_response(Error(ErrorCode::not_found, fmt::format("no job '{}'", id)));
  return json_response(200, job_json(*job));
}

net::HttpResponse AdminApi::list_jobs() {
  json jobs = json::array();
  for (const auto& job : m_jobs.list())
    jobs.push_back(job_json(job));
  return json_response(200, {{"jobs", std::move(jobs)}});
}

}  // namespace tandem::server
