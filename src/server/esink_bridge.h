// Feeds the hub's changes and catalog to the Esink service, so that one capture serves
// Socket.IO clients and Tandem protocol clients alike.
#pragma once

#include <memory>

#include "compat/esink/esink_service.h"
#include "server/hub.h"

namespace tandem::server {

class EsinkBridge final : public HubSubscriber {
 public:
  explicit EsinkBridge(std::shared_ptr<compat::esink::EsinkService> service)
      : m_service(std::move(service)) {}

  void on_batch(const ChangeBatchPtr& batch) override;
  void on_catalog(const CatalogPtr& catalog) override;

 private:
  std::shared_ptr<compat::esink::EsinkService> m_service;
};

// Esink's `source` of database changes: "postgres", the MySQL database's name, or the
// datasource's kind.
std::string esink_source_name(const config::Config& config, std::string_view datasource_kind);

}  // namespace tandem::server
