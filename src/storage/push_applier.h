// Applies client pushes inside a write transaction: exactly once per (client id, client_seq),
// each mutation validated against the table's schema, authorized, merged by the shared merge
// rule, and stored. Datasource-independent.
#pragma once

#include <functional>
#include <map>

#include "storage/datasource.h"
#include "storage/write_txn.h"
#include "sync/hlc.h"

namespace tandem::storage {

using SchemaLookup = std::function<const TableSchema*(std::string_view table)>;

// Node id of changes captured from writers other than Tandem (psql, an application). It can
// never be a client id: those are validated to [A-Za-z0-9_-].
inline constexpr std::string_view kDatabaseNode = "$db";

// Checks a client id: 1 to 64 characters of [A-Za-z0-9_-].
Status check_client_id(std::string_view client_id);

// Checks that a mutation names exactly the table's primary key and only its columns.
Status validate_mutation(const TableSchema& table, const sync::Mutation& mutation);

// The rows an ack echoes (MutationOutcome::current_row). A client takes an echoed row as
// the row when the push committed, so a row is echoed at most once, on the last exception
// about it, and not at all when a later mutation of the same push applied to it (the row
// the exception saw is gone by the commit). None is echoed once kMaxEchoedRowBytes are (a
// reply holds at most that plus one row), so that a push of many stale writes to one large
// row cannot make the reply, or the server's memory, grow with each.
class RowEchoes {
 public:
  static constexpr std::size_t kMaxEchoedRowBytes = 1 << 20;

  // Takes note of exceptions.back(), just appended, and drops the echoes it makes redundant
  // or that pass the bound.
  void add(std::vector<MutationOutcome>& exceptions);
  // Takes note of a mutation of the push that applied to (table, pk): drops the echo of an
  // earlier exception about that row.
  void applied(const std::string& table, const Row& pk, std::vector<MutationOutcome>& exceptions);

 private:
  void omit(MutationOutcome& exception);

  std::map<std::pair<std::string, Row>, std::size_t> m_last_echo;  // (table, pk) -> index
  std::size_t m_bytes = 0;
};

class PushApplier {
 public:
  PushApplier(SchemaLookup schemas, sync::HlcClock& clock)
      : m_schemas(std::move(schemas)), m_clock(clock) {}

  // Tells `txn` (WriteTxn::prefetch) which clients and rows applying `requests` will load.
  void prefetch(WriteTxn& txn, const std::vector<const PushRequest*>& requests) const;

  // Throws only for unexpected database failures (the whole transaction must then roll back).
  PushResult apply(WriteTxn& txn, PushRequest& request);

 private:
  MutationOutcome apply_one(WriteTxn& txn, PushRequest& request, ClientMutation& item);
  std::optional<MutationOutcome> retry_outcome(WriteTxn& txn, const ClientMutation& item) const;

  SchemaLookup m_schemas;
  sync::HlcClock& m_clock;
};

}  // namespace tandem::storage
