// The admin REST API under /admin/api/ (docs/admin-api.md): tracked-table administration
// (list, add, remove, reload, hard reset), the permission rules (show, replace, reload) and
// "view as user" (a table's rows as a user's token would read them) for a running server. Every
// request needs a bearer token with the admin role. JSON in and out; errors are the transport's
// JSON error body with the stable codes of common/error.h.
//
// Threads: requests are authenticated on the I/O thread (no I/O involved); datasource
// calls run on the work pool, hard resets on their own job threads. After a change of the
// tracked tables the hub's catalog is refreshed before the answer goes out, so every live
// session has been sent the new `schema` by then.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/token.h"
#include "net/http_server.h"
#include "rules/access_rules.h"
#include "server/admin_jobs.h"
#include "server/change_publisher.h"
#include "server/rules_control.h"
#include "server/work_pool.h"
#include "storage/datasource.h"

namespace tandem::server {

struct AdminContext {
  storage::Datasource& datasource;
  ChangePublisher& publisher;
  std::shared_ptr<const auth::TokenVerifier> verifier;
  const rules::AccessRules& rules;
  RulesControl& rules_control;
  WorkPool& pool;
};

class AdminApi {
 public:
  static constexpr std::string_view kPrefix = "/admin/api/";

  explicit AdminApi(AdminContext context) : m_context(std::move(context)) {}

  // Routes every path under kPrefix to this API; it must outlive the HTTP server.
  void install(net::Router& router);
  // Stops running jobs at their next progress report and waits for them. Idempotent.
  void stop() { m_jobs.stop(); }

 private:
  void handle(const net::HttpRequest& request, net::HttpResponder respond);
  // Runs `work` on the work pool and answers with what it returns.
  void on_pool(net::HttpResponder respond, std::function<net::HttpResponse()> work);

  net::HttpResponse list_tables();
  net::HttpResponse add_table(const std::string& body);
  net::HttpResponse remove_table(const std::string& name);
  net::HttpResponse get_table(const std::string& name);
  net::HttpResponse reload_tables();
  net::HttpResponse reset_table(const std::string& name);
  net::HttpResponse get_job(const std::string& id);
  net::HttpResponse list_jobs();
  // admin_rules_api.cpp
  net::HttpResponse get_rules();
  net::HttpResponse put_rules(const std::string& body);
  net::HttpResponse reload_rules();
  net::HttpResponse view_as_user(const std::string& table, const std::string& body);

  AdminContext m_context;
  JobRegistry m_jobs;
};

}  // namespace tandem::server
