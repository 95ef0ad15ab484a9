// Feeds the hub's changes and catalog to the Esink service, so that one capture serves
// Socket.IO clients and Tandem protocol clients alike.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "compat/esink/esink_service.h"
#include "server/hub.h"

namespace tandem::server {

class EsinkBridge final : public HubSubscriber {
 public:
  explicit EsinkBridge(std::shared_ptr<compat::esink::EsinkService> service)
      : m_service(std::move(service)) {}

  void on_batch(const ChangeBatchPtr& batch) override;
  // Also called once by the server with the subscription's catalog: an older catalog than
  // one already applied (delivered meanwhile) is ignored.
  void on_catalog(const CatalogPtr& catalog) override;

 private:
  std::shared_ptr<compat::esink::EsinkService> m_service;
  std::mutex m_mutex;
  std::uint64_t m_catalog_version = 0;  // of the catalog applied last
};

// Esink's `source` of database changes: "postgres", the MySQL database's name, or the
// datasource's kind.
std::string esink_source_name(const config::Config& config, std::string_view datasource_kind);

}  // namespace tandem::server
