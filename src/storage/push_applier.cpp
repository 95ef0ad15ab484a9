#include "storage/push_applier.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "common/row_size.h"

namespace tandem::storage {

Status check_client_id(std::string_view client_id) {
  bool valid = !client_id.empty() && client_id.size() <= 64;
  for (char c : client_id) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-';
    valid = valid && allowed;
  }
  if (valid) return ok_status();
  return Error(ErrorCode::bad_request,
               "client_id must be 1 to 64 characters of letters, digits, '_' and '-'");
}

namespace {

// NaN and infinities have no JSON form and break key comparison (SQLite stores NaN as NULL).
bool is_finite(const Value& value) {
  return value.kind() != Value::Kind::real || std::isfinite(value.as_real());
}

}  // namespace

Status validate_mutation(const TableSchema& table, const sync::Mutation& mutation) {
  if (mutation.pk.size() != table.primary_key.size()) {
    return Error(ErrorCode::invalid_mutation,
                 fmt::format("table '{}': pk must name exactly the primary key ({})", table.name,
                             fmt::join(table.primary_key, ", ")));
  }
  for (const auto& [column, value] : mutation.pk) {
    if (!table.is_primary_key(column)) {
      return Error(ErrorCode::invalid_mutation,
                   fmt::format("table '{}': '{}' is not a primary-key column", table.name, column));
    }
    if (value.is_null()) {
      return Error(ErrorCode::invalid_mutation,
                   fmt::format("table '{}': primary-key column '{}' is null", table.name, column));
    }
  }
  if (mutation.op == sync::Op::remove && !mutation.values.empty()) {
    return Error(ErrorCode::invalid_mutation, "a delete carries no values");
  }
  if (mutation.op == sync::Op::update && mutation.values.empty()) {
    return Error(ErrorCode::invalid_mutation, "an update must change at least one column");
  }
  for (const auto* row : {&mutation.pk, &mutation.values}) {
    for (const auto& [column, value] : *row) {
      if (!is_finite(value)) {
        return Error(
            ErrorCode::invalid_mutation,
            fmt::format("table '{}': column '{}' is not a finite number", table.name, column));
      }
    }
  }
  for (const auto& [column, value] : mutation.values) {
    if (!table.has_column(column)) {
      return Error(ErrorCode::invalid_mutation,
                   fmt::format("table '{}' has no column '{}'", table.name, column));
    }
    if (table.is_primary_key(column)) {
      auto key_value = mutation.pk.find(column);
      if (key_value == mutation.pk.end() || !(key_value->second == value)) {
        return Error(ErrorCode::invalid_mutation,
                     fmt::format("table '{}': primary-key column '{}' cannot be changed",
                                 table.name, column));
      }
    }
  }
  return ok_status();
}

void RowEchoes::add(std::vector<MutationOutcome>& exceptions) {
  auto& latest = exceptions.back();
  auto [previous, first] =
      m_last_echo.try_emplace({latest.table, latest.pk}, exceptions.size() - 1);
  if (!first) {
    omit(exceptions[previous->second]);
    previous->second = exceptions.size() - 1;
  }
  if (!latest.current_row) return;
  // Past the bound no row is echoed; a reply holds at most the bound plus one row.
  if (m_bytes >= kMaxEchoedRowBytes) {
    latest.current_row.reset();
    latest.row_omitted = true;
    return;
  }
  m_bytes += approximate_size(*latest.current_row);
}

void RowEchoes::applied(const std::string& table, const Row& pk,
                        std::vector<MutationOutcome>& exceptions) {
  auto previous = m_last_echo.find({table, pk});
  if (previous == m_last_echo.end()) return;
  omit(exceptions[previous->second]);
  m_last_echo.erase(previous);
}

void RowEchoes::omit(MutationOutcome& exception) {
  // An echo still held was counted.
  if (exception.current_row) m_bytes -= approximate_size(*exception.current_row);
  exception.current_row.reset();
  exception.row_omitted = true;
}

void PushApplier::prefetch(WriteTxn& txn, const std::vector<const PushRequest*>& requests) const {
  std::vector<std::string> client_ids;
  std::vector<RowRef> rows;
  for (const auto* request : requests) {
    client_ids.push_back(request->client_id);
    for (const auto& item : request->mutations) {
      const TableSchema* table = m_schemas(item.mutation.table);
      if (!table || !validate_mutation(*table, item.mutation)) continue;
      rows.push_back({table, table->key_of(item.mutation.pk)});
    }
  }
  txn.prefetch(client_ids, rows);
}

PushResult PushApplier::apply(WriteTxn& txn, PushRequest& request) {
  PushResult result;
  auto record = txn.load_client(request.client_id);
  if (record && record->user_id != request.user_id) {
    result.error = Error(ErrorCode::forbidden,
                         fmt::format("client id '{}' is registered to another user; use a new "
                                     "client id per user and device",
                                     request.client_id));
    return result;
  }
  ClientRecord updated{request.user_id, record ? record->last_seq : 0};
  RowEchoes echoes;
  for (auto& item : request.mutations) {
    // A sequence number at or below the last applied one is a retry of a mutation already
    // applied (or refused): acknowledging it again without applying is what makes a retried
    // push exactly-once. Its outcome is not kept, so the row goes back as it is now.
    if (item.client_seq <= updated.last_seq) {
      if (auto retried = retry_outcome(txn, item)) {
        result.exceptions.push_back(std::move(*retried));
        echoes.add(result.exceptions);
      }
      continue;
    }
    auto outcome = apply_one(txn, request, item);
    updated.last_seq = item.client_seq;
    if (outcome.kind == MutationOutcome::Kind::applied) {
      echoes.applied(outcome.table, outcome.pk, result.exceptions);
    } else {
      result.exceptions.push_back(std::move(outcome));
      echoes.add(result.exceptions);
    }
  }
  if (!record || updated.last_seq != record->last_seq) txn.save_client(request.client_id, updated);
  result.acked_seq = updated.last_seq;
  return result;
}

namespace {

// Whether a write that revived a dead row keeps values written by someone other than the
// request's user: the columns whose winning stamp is not the write's own were written after
// the row's delete, by the stamps' nodes (client ids, or the database itself).
bool revives_others_values(WriteTxn& txn, const PushRequest& request, const sync::RowState& merged,
                           const sync::Stamp& stamp) {
  std::set<std::string_view> nodes;
  for (const auto& [column, winner] : merged.stamps) {
    if (winner != stamp) nodes.insert(winner.node);
  }
  for (auto node : nodes) {
    if (node == request.client_id) continue;
    auto writer = node == kDatabaseNode ? std::nullopt : txn.load_client(node);
    if (!writer || writer->user_id != request.user_id) return true;
  }
  return false;
}

MutationOutcome refusal(const ClientMutation& item, const Error& error) {
  MutationOutcome outcome;
  outcome.client_seq = item.client_seq;
  outcome.kind = MutationOutcome::Kind::rejected;
  outcome.code = error.code();
  outcome.message = std::string(error.message());
  outcome.table = item.mutation.table;
  outcome.pk = item.mutation.pk;
  return outcome;
}

}  // namespace

// The reply to a retried mutation: reported as superseded, with the row as it is now, so the
// client ends at the server's row whatever the first attempt did (its ack was lost with the
// connection; a client that merged the write again could keep a value that lost).
std::optional<MutationOutcome> PushApplier::retry_outcome(WriteTxn& txn,
                                                          const ClientMutation& item) const {
  const auto& mutation = item.mutation;
  const TableSchema* table = m_schemas(mutation.table);
  if (!table || !validate_mutation(*table, mutation)) return std::nullopt;
  MutationOutcome outcome;
  outcome.client_seq = item.client_seq;
  outcome.kind = MutationOutcome::Kind::superseded;
  outcome.table = mutation.table;
  outcome.pk = mutation.pk;
  auto state = txn.load_row_state(*table, table->key_of(mutation.pk));
  if (state && state->exists) outcome.current_row = std::move(state->values);
  return outcome;
}

MutationOutcome PushApplier::apply_one(WriteTxn& txn, PushRequest& request, ClientMutation& item) {
  sync::Mutation& mutation = item.mutation;
  const TableSchema* table = m_schemas(mutation.table);
  if (!table) {
    return refusal(item, Error(ErrorCode::unknown_table,
                               fmt::format("table '{}' is not tracked", mutation.table)));
  }
  if (auto valid = validate_mutation(*table, mutation); !valid) return refusal(item, valid.error());
  if (auto observed = m_clock.observe(mutation.stamp.hlc); !observed) {
    return refusal(item, observed.error());
  }
  // A client cannot write under another node's id: its stamps are always its own.
  mutation.stamp.node = request.client_id;

  auto key = table->key_of(mutation.pk);
  MutationSavepoint savepoint(txn);
  try {
    auto state = txn.load_row_state(*table, key);
    const Row* existing = state && state->exists ? &state->values : nullptr;
    if (auto allowed = request.authorize(*table, existing, mutation); !allowed) {
      savepoint.rollback();
      auto outcome = refusal(item, allowed.error());
      if (existing) outcome.current_row = *existing;
      return outcome;
    }
    bool was_dead = state && !state->exists;
    sync::RowState merged = state ? std::move(*state) : sync::RowState{};
    auto effect = sync::merge(merged, mutation);
    if (merged.exists && effect.state_changed && request.authorize_result) {
      bool inherits = was_dead && revives_others_values(txn, request, merged, mutation.stamp);
      if (auto allowed = request.authorize_result(*table, merged.values, inherits); !allowed) {
        savepoint.rollback();
        return refusal(item, allowed.error());
      }
    }
    if (effect.state_changed) txn.store_row_state(*table, key, merged, effect, mutation.stamp);
    savepoint.release();
    MutationOutcome outcome;
    outcome.client_seq = item.client_seq;
    outcome.table = mutation.table;
    outcome.pk = mutation.pk;
    if (effect.kind == sync::MergeEffect::Kind::none) {
      // Later writes already decided this row: the client learns the row as it is.
      outcome.kind = MutationOutcome::Kind::superseded;
      if (merged.exists) outcome.current_row = merged.values;
    }
    return outcome;
  } catch (const Error& error) {
    if (error.code() != ErrorCode::invalid_mutation) throw;
    savepoint.rollback();
    return refusal(item, error);
  }
}

}  // namespace tandem::storage
