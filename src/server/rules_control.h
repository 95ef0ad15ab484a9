// The permission rules a running server applies, and how they change (docs/permissions.md,
// "Changing the rules"): loaded from the rules file at start, read again on demand (the admin
// API, `tandem rules reload`) or replaced with a new text that is written to the file first.
// A rule set that does not parse changes nothing: the rules in force stay, and the answer says
// where the mistake is.
//
// A new rule set is applied between two batches of the change publisher: the membership index
// reads the tables it newly declares, then the hub carries the rules to every session in a new
// catalog, so all sessions switch at the same log position. A session whose user's view changed
// resends it (SyncSession::on_catalog); a client offline meanwhile gets it at its next connect
// (its checkpoint's rules digest differs).
//
// Threads: current() and status() from any thread; reload() and replace() may block (file I/O,
// membership reads): never on an I/O thread. They are serialized.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"
#include "server/catalog.h"
#include "server/change_publisher.h"
#include "server/hub.h"
#include "server/membership_index.h"
#include "storage/datasource.h"

namespace tandem::server {

struct RulesStatus {
  std::string file;     // empty: no rules file, the owner-column default applies
  std::string version;  // rules::Permissions::rules_version(); empty without a file
  std::int64_t loaded_at_ms = 0;
  bool changed = false;  // what a reload or replace did: false when the rules were the same
};

class RulesControl {
 public:
  // Reads the rules file of `config` (none: the owner-column default). Throws
  // Error(config_invalid) naming the file and the mistake: a server does not start with
  // rules it cannot apply.
  explicit RulesControl(const config::Config& config);

  PermissionsPtr current() const;
  RulesStatus status() const;
  // The rules file's text as it is on disk now (the admin console edits it); config_invalid
  // without a rules file.
  Result<std::string> file_text() const;

  // Where new rules go once publishing runs; until then reload() and replace() are refused.
  void attach(storage::Datasource& datasource, ChangePublisher& publisher, Hub& hub,
              MembershipIndex& memberships);

  // Reads the rules file again and applies it if it differs from the rules in force.
  Result<RulesStatus> reload();
  // Checks `toml_text`, writes it to the rules file (atomically: a crash leaves the old file or
  // the new one) and applies it.
  Result<RulesStatus> replace(std::string_view toml_text);

 private:
  bool attached() const;
  Result<RulesStatus> apply(PermissionsPtr permissions);  // m_change_mutex held

  const rules::RulesOptions m_options;
  const std::string m_file;
  mutable std::mutex m_mutex;  // guards the members below
  PermissionsPtr m_current;
  std::int64_t m_loaded_at_ms = 0;
  storage::Datasource* m_datasource = nullptr;
  ChangePublisher* m_publisher = nullptr;
  Hub* m_hub = nullptr;
  MembershipIndex* m_memberships = nullptr;
  std::mutex m_change_mutex;  // one reload or replace at a time
};

}  // namespace tandem::server
