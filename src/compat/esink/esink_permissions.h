// What an Esink socket may read, decided by the permission engine (src/rules/,
// docs/permissions.md) like every other path out of Tandem: Esink's TABLE_AUTH_COLUMN_ROUTING
// and FILTERS translated into rules (esink_rule_set), or a rules file (`tandem esink --rules`)
// instead. Routing only narrows down which sockets to ask the engine about; the engine decides.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/token.h"
#include "common/row_filter.h"
#include "common/table_schema.h"
#include "common/value.h"
#include "compat/esink/esink_rules.h"
#include "config/config.h"
#include "rules/permission_rules.h"
#include "rules/permissions.h"

namespace tandem::compat::esink {

// The tracked tables by name.
using Catalog = std::map<std::string, TableSchema, std::less<>>;

// The role every Esink socket has: the AUTH_TABLE row names a user, never an administrator.
inline constexpr std::string_view kEsinkRole = "user";

// Esink's variables as rules over `tables`. Each routed table that is tracked gives role `user`
// a select permission:
//  - rows: `{_or: [{col: {_eq: {_claim: "sub"}}}, ...]}`, one operand per routing column the
//    table has (a column it lacks routes nobody, as in Esink; a repeated column stays
//    repeated), or every row for "*";
//  - columns: every column but the table's FILTERS columns ("*" when FILTERS names none).
//    The engine keeps key columns readable; EsinkPermissions removes a filtered key column
//    all the same, as Esink deleted it from the payload.
// A table without a route has no entry: users read nothing of it.
rules::RuleSet esink_rule_set(const std::map<std::string, config::EsinkRoute>& routing,
                              const std::map<std::string, std::vector<std::string>>& filters,
                              const Catalog& tables);

// The sockets worth asking the engine about, per table, read off the `user` role's select
// filter: when it requires columns to equal the reader's `sub` (`{col: {_eq: {_claim:
// "sub"}}}`, an `_or` of those, or an `_and` with one of them), the users those columns name,
// once per column; every socket for any other filter. Tables without a `user` select are
// absent (their changes reach nobody).
std::map<std::string, config::EsinkRoute> candidate_routes(const rules::RuleSet& rules);

// The claims of a socket admitted by the AUTH_TABLE row `user`: `sub` is its routing key, the
// role is `user`, and the row's other columns (but `id`, `sub` and `role`) are custom claims a
// rules file can compare with (`{_claim: "team"}`). NULLs and blobs are not claims.
auth::Claims esink_claims(const std::string& user_key, const Row& user);

// One catalog's worth of decisions. Immutable: thread-safe, shared by every delivery made
// while it is current.
class EsinkPermissions {
 public:
  // Esink's routing and FILTERS, translated for `tables`.
  static std::shared_ptr<const EsinkPermissions> translated(const config::EsinkOptions& options,
                                                            Catalog tables);
  // A rules file. `memberships` answers its _in_membership filters and must outlive this
  // object; null: such filters pass nothing.
  static std::shared_ptr<const EsinkPermissions> from_rules_file(
      rules::RuleSet rules, rules::RulesOptions options, const MembershipLookup* memberships,
      Catalog tables);

  // The tracked table's schema, nullptr when the table is not tracked.
  const TableSchema* table(std::string_view name) const;

  // The users whose sockets may receive a change of `table` whose whole row is `row`: one
  // entry per candidate column naming a user (compared as Esink's routing_key text), or
  // everyone. The engine still has to confirm each socket (may_see).
  Recipients candidates(const TableSchema& table, const Row& row) const;

  // What `reader` reads of `table` (a tracked table).
  rules::ReadAccess read_access(const auth::Claims& reader, const TableSchema& table) const;
  // Whether the reader of `access` may see `row` (the row Esink sends: the new row, or the
  // old one for a delete).
  bool may_see(const rules::ReadAccess& access, const Row& row) const;
  // `row` with only the columns the reader of `access` receives.
  Row visible_part(const rules::ReadAccess& access, const TableSchema& table, const Row& row) const;

  // Removes from a published payload `data` (POST /publish, a socket's `event`) every column
  // of `table` that `reader` may not read: all of them when they read nothing of the table.
  // Fields that are not columns of the tracked table are the publisher's own and stay. A
  // table that is not tracked has no columns for the engine to judge: the translation then
  // removes its FILTERS columns (a rules file, nothing).
  void remove_hidden_columns(const auth::Claims& reader, std::string_view table,
                             nlohmann::json& data) const;

 private:
  EsinkPermissions(Catalog tables, rules::Permissions permissions, EsinkRules routes,
                   const MembershipLookup* memberships,
                   std::map<std::string, std::set<std::string>, std::less<>> filtered_keys);

  bool sees_column(const rules::ReadAccess& access, const TableSchema& table,
                   std::string_view column) const;

  Catalog m_tables;
  rules::Permissions m_permissions;
  // Candidate columns per table; with the translation also FILTERS, for tables not tracked.
  EsinkRules m_routes;
  const MembershipLookup* m_memberships;
  // The translation's FILTERS columns that are key columns, per table.
  std::map<std::string, std::set<std::string>, std::less<>> m_filtered_keys;
};

}  // namespace tandem::compat::esink
