#include "server/server.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "net/http_server.h"
#include "protocol/codec.h"
#include "rules/access_rules.h"
#include "rules/permissions.h"
#include "server/admin_api.h"
#include "server/change_publisher.h"
#include "server/datasource_factory.h"
#include "server/demo.h"
#include "server/dev_secret.h"
#include "server/esink_bridge.h"
#include "server/hub.h"
#include "server/membership_index.h"
#include "server/metrics.h"
#include "server/rules_control.h"
#include "server/sync_session.h"
#include "server/work_pool.h"

namespace tandem::server {

// The work pool's threads: PostgreSQL and MySQL datasources read with 4 connections.
constexpr std::size_t kBlockingThreads = 4;

struct Server::Impl {
  explicit Impl(config::Config c)
      : config(std::move(c)),
        clock(config.max_clock_drift),
        codec(protocol::make_json_codec()),
        rules(config.rules),
        rules_control(config),
        memberships(rules_control.current()->membership_tables()),
        hub(*codec),
        // Blocking work is mostly waiting on the database (snapshot pages, counts): as many
        // threads as the datasource has reader connections keep them all busy.
        pool(kBlockingThreads) {}

  void open_datasource();
  void install_routes(net::Router& router);
  void install_esink(net::Router& router);
  void handle_health(net::HttpResponder respond);

  config::Config config;
  sync::HlcClock clock;
  std::unique_ptr<protocol::Codec> codec;
  rules::AccessRules rules;
  RulesControl rules_control;
  MembershipIndex memberships;
  std::shared_ptr<const auth::TokenVerifier> verifier;
  std::unique_ptr<storage::Datasource> datasource;
  Hub hub;
  WorkPool pool;
  Metrics metrics;
  std::unique_ptr<ChangePublisher> publisher;
  std::unique_ptr<AdminApi> admin;
  std::shared_ptr<compat::esink::EsinkService> esink;  // when config.esink.enabled
  std::shared_ptr<EsinkBridge> esink_bridge;
  std::unique_ptr<net::HttpServer> http;
  std::mutex stop_mutex;
  bool stopped = false;
};

void Server::Impl::open_datasource() {
  datasource = server::open_datasource(config, clock);
}

void Server::Impl::handle_health(net::HttpResponder respond) {
  // The datasource check may block (a busy database): answer from the work pool.
  pool.post([this, respond = std::move(respond)] {
    auto health = datasource->health();
    nlohmann::json body = {{"status", health.reachable ? "ok" : "unavailable"},
                           {"datasource",
                            {{"kind", datasource->kind()},
                             {"reachable", health.reachable},
                             {"detail", health.detail}}},
                           {"log",
                            {{"head_seq", health.head_seq},
                             {"oldest_seq", health.oldest_seq},
                             {"published_seq", publisher->published_seq()}}},
                           {"tracked_tables", health.tracked_tables},
                           {"sessions", metrics.sessions_active.load()}};
    net::HttpResponse response;
    response.status = health.reachable ? 200 : 503;
    response.body = body.dump();
    respond(std::move(response));
  });
}

void Server::Impl::install_routes(net::Router& router) {
  router.add("*", "/ping", [](const net::HttpRequest&, const net::HttpResponder& respond) {
    respond(net::HttpResponse::text(200, "pong"));
  });
  router.add("GET", "/health", [this](const net::HttpRequest&, net::HttpResponder respond) {
    handle_health(std::move(respond));
  });
  router.add("GET", "/metrics", [this](const net::HttpRequest&, const net::HttpResponder& respond) {
    net::HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics.render_prometheus(datasource->head_seq(), publisher->published_seq());
    respond(std::move(response));
  });
  admin = std::make_unique<AdminApi>(
      AdminContext{*datasource, *publisher, verifier, rules, rules_control, pool});
  admin->install(router);
  router.add_websocket(
      "/sync",
      [this](const net::HttpRequest&)
          -> std::variant<std::shared_ptr<net::WebSocketHandler>, net::HttpResponse> {
        if (config.esink.enabled && !config.esink.serve_sync) {
          return net::HttpResponse::text(
              404,
              "/sync is off in esink mode: Esink's routing and FILTERS apply to /socket.io/ "
              "only; set esink.serve_sync (TANDEM_ESINK_SERVE_SYNC=1) to serve /sync with "
              "Tandem's rules\n");
        }
        SyncContext context{*datasource,  hub,  *codec,  verifier, rules,
                            &memberships, pool, metrics, config};
        return std::make_shared<SyncSession>(context);
      });
  if (config.esink.enabled) install_esink(router);
}

void Server::Impl::install_esink(net::Router& router) {
  compat::esink::EsinkContext context{
      config.esink,
      esink_source_name(config, datasource->kind()),
      *datasource,
      [this](std::function<void()> task) { pool.post(std::move(task)); },
      !config.rules_file.empty(),
      config.rules,
      &memberships};
  esink = std::make_shared<compat::esink::EsinkService>(std::move(context));
  esink->install(router);
  esink_bridge = std::make_shared<EsinkBridge>(esink);
  auto subscription = hub.subscribe(esink_bridge);
  esink_bridge->on_catalog(subscription.catalog);
}

Server::Server(config::Config config) : m_impl(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  auto& impl = *m_impl;
  if (use_development_secret(impl.config)) {
    log::warn("no JWT key configured: using the development secret in the data directory",
              {{"file", (std::filesystem::path(impl.config.data_dir) / "jwt-secret").string()}});
  }
  auto verifier = auth::TokenVerifier::create(impl.config.jwt);
  if (!verifier) throw verifier.error();
  impl.verifier = std::move(*verifier);
  impl.open_datasource();
  impl.datasource->catch_up();
  impl.publisher = std::make_unique<ChangePublisher>(*impl.datasource, impl.hub, &impl.memberships);
  impl.hub.set_permissions(impl.rules_control.current());
  impl.hub.set_memberships(&impl.memberships);
  impl.publisher->start();
  impl.rules_control.attach(*impl.datasource, *impl.publisher, impl.hub, impl.memberships);

  net::ServerOptions options;
  options.address = impl.config.address;
  options.port = impl.config.port;
  options.threads = impl.config.threads;
  options.max_websocket_message = impl.config.max_message_bytes;
  options.idle_timeout = impl.config.idle_timeout;
  options.max_connections = impl.config.max_connections;
  options.max_connections_per_address = impl.config.max_connections_per_address;
  options.shutdown_grace = impl.config.shutdown_grace;
  if (!impl.config.tls_certificate_file.empty()) {
    options.tls =
        net::TlsOptions{impl.config.tls_certificate_file, impl.config.tls_private_key_file};
  }
  net::Router router;
  impl.install_routes(router);
  impl.http = std::make_unique<net::HttpServer>(options, std::move(router));
  impl.http->start();
  if (!impl.config.port_file.empty()) {
    std::ofstream(impl.config.port_file) << impl.http->port() << "\n";
  }
  log::info("tandem listening", {{"address", impl.config.address},
                                 {"port", static_cast<int>(impl.http->port())},
                                 {"datasource", impl.datasource->kind()},
                                 {"database", impl.config.effective_database_path()},
                                 {"tables", impl.datasource->tables().size()}});
}

void Server::reload_rules() {
  auto reloaded = m_impl->rules_control.reload();
  if (!reloaded) {
    log::warn("rules not reloaded", {{"error", reloaded.error().message()}});
    return;
  }
  log::info("rules reloaded", {{"version", reloaded->version}, {"changed", reloaded->changed}});
}

std::uint16_t Server::port() const {
  return m_impl->http ? m_impl->http->port() : 0;
}

void Server::stop() {
  auto& impl = *m_impl;
  {
    std::lock_guard lock(impl.stop_mutex);
    if (impl.stopped) return;
    impl.stopped = true;
  }
  // Socket.IO first: its long-polling requests would otherwise hold the HTTP server's
  // graceful stop until the grace period ends.
  if (impl.esink) impl.esink->stop();
  if (impl.http) {
    impl.http->stop();
    impl.http->wait();
  }
  // Sessions are closed: no more pushes arrive. The datasource completes queued pushes
  // before its writer stops, so every acknowledged write is committed. A running hard reset
  // stops after its current chunk (what it logged stays valid; it can be run again).
  if (impl.esink) {
    impl.hub.unsubscribe(impl.esink_bridge.get());
    impl.esink->release_transport();
  }
  if (impl.admin) impl.admin->stop();
  impl.pool.stop();
  if (impl.publisher) impl.publisher->stop();
  if (impl.datasource) impl.datasource->close();
  log::info("tandem stopped");
}

storage::Datasource& Server::datasource() {
  return *m_impl->datasource;
}
const config::Config& Server::config() const {
  return m_impl->config;
}

}  // namespace tandem::server
