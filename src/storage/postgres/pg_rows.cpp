#include "storage/postgres/pg_rows.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/identifier.h"
#include "storage/postgres/pg_change_log.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::postgres {

std::string text_columns_sql(const PgTable& table, const std::string& alias) {
  std::string sql;
  for (const auto& column : table.schema.columns) {
    if (!sql.empty()) sql += ", ";
    if (!alias.empty()) sql += alias + ".";
    sql += quote_identifier(column.name) + "::text";
  }
  return sql;
}

std::string key_predicate_sql(const PgTable& table, int first) {
  std::string sql;
  for (std::size_t i = 0; i < table.schema.primary_key.size(); ++i) {
    const auto& column = table.schema.primary_key[i];
    sql += i == 0 ? " WHERE " : " AND ";
    sql += fmt::format("{} = ${}::{}", quote_identifier(column), first + static_cast<int>(i),
                       table.type_of(column).name);
  }
  return sql;
}

Param to_param(const PgTable& table, const std::string& column, const Value& value) {
  auto text = value_to_pg_text(table.type_of(column), value);
  if (!text) {
    throw Error(ErrorCode::invalid_mutation,
                fmt::format("column '{}': {}", column, text.error().message()));
  }
  return *text;
}

Params key_params(const PgTable& table, const std::vector<Value>& key) {
  Params params;
  for (std::size_t i = 0; i < key.size(); ++i)
    params.push_back(to_param(table, table.schema.primary_key[i], key[i]));
  return params;
}

namespace {

Value convert(const PgTable& table, std::size_t index, std::string_view text) {
  auto value = value_from_pg_text(table.types[index], text);
  if (!value) {
    throw Error(
        ErrorCode::internal,
        fmt::format("table '{}', column '{}': cannot read '{}': {}", table.schema.name,
                    table.schema.columns[index].name, text.substr(0, 80), value.error().message()));
  }
  return std::move(*value);
}

}  // namespace

Row row_from_result(const PgTable& table, const PgResult& result, int row, int first_column) {
  Row values;
  for (std::size_t i = 0; i < table.schema.columns.size(); ++i) {
    int column = first_column + static_cast<int>(i);
    auto text = result.optional_text(row, column);
    values.emplace(table.schema.columns[i].name, text ? convert(table, i, *text) : Value{});
  }
  return values;
}

Row row_from_text_json(const PgTable& table, std::string_view json_text) {
  auto json = nlohmann::json::parse(json_text, nullptr, false);
  if (!json.is_object()) throw Error(ErrorCode::internal, "corrupt captured row: not an object");
  Row values;
  for (std::size_t i = 0; i < table.schema.columns.size(); ++i) {
    const auto& name = table.schema.columns[i].name;
    auto it = json.find(name);
    // A column added after the capture was written has no value in it: NULL, as in the row.
    if (it == json.end() || it->is_null()) {
      values.emplace(name, Value{});
      continue;
    }
    if (!it->is_string()) throw Error(ErrorCode::internal, "corrupt captured row: not text");
    values.emplace(name, convert(table, i, it->get_ref<const std::string&>()));
  }
  return values;
}

std::optional<StoredMetadata> load_metadata(PgConnection& connection, const std::string& table,
                                            const std::string& key, bool lock) {
  auto result = connection.exec_prepared(
      lock ? "SELECT state, writer_xid FROM tandem.rows WHERE tbl = $1 AND pk = $2 FOR UPDATE"
           : "SELECT state, writer_xid FROM tandem.rows WHERE tbl = $1 AND pk = $2",
      {table, key});
  if (result.rows() == 0) return std::nullopt;
  return StoredMetadata{std::string(result.text(0, 0)), result.integer(0, 1)};
}

void save_metadata(PgConnection& connection, const std::string& table, const std::string& key,
                   const sync::RowState& state, std::int64_t writer_xid) {
  connection.exec_prepared(
      "INSERT INTO tandem.rows (tbl, pk, state, writer_xid) VALUES ($1, $2, $3, $4::bigint) "
      "ON CONFLICT (tbl, pk) DO UPDATE SET state = excluded.state, writer_xid = "
      "excluded.writer_xid",
      {table, key, sync::encode_row_state(state), std::to_string(writer_xid)});
}

MetadataMap load_metadata_batch(PgConnection& connection, const std::vector<MetadataKey>& keys,
                                bool lock) {
  MetadataMap found;
  // Sorted and distinct: locks are taken in key order, so that two bulk lockers cannot
  // deadlock.
  std::set<MetadataKey> sorted(keys.begin(), keys.end());
  if (sorted.empty()) return found;
  std::vector<std::optional<std::string>> tables;
  std::vector<std::optional<std::string>> pks;
  for (const auto& [table, key] : sorted) {
    tables.emplace_back(table);
    pks.emplace_back(key);
  }
  // One index probe per key, whatever the planner believes about the table's size: a
  // lateral subquery with FOR UPDATE or OFFSET is never flattened into a (hash) join that
  // would scan the whole table.
  auto result = connection.exec_prepared(
      lock ? "SELECT r.tbl, r.pk, r.state, r.writer_xid FROM unnest($1::text[], $2::text[]) "
             "WITH ORDINALITY AS u(tbl, pk, n) CROSS JOIN LATERAL (SELECT tbl, pk, state, "
             "writer_xid FROM tandem.rows WHERE tbl = u.tbl AND pk = u.pk FOR UPDATE) AS r "
             "ORDER BY u.n"
           : "SELECT r.tbl, r.pk, r.state, r.writer_xid FROM unnest($1::text[], $2::text[]) "
             "AS u(tbl, pk) CROSS JOIN LATERAL (SELECT tbl, pk, state, writer_xid FROM "
             "tandem.rows WHERE tbl = u.tbl AND pk = u.pk OFFSET 0) AS r",
      {text_array_literal(tables), text_array_literal(pks)});
  for (int row = 0; row < result.rows(); ++row) {
    found.emplace(MetadataKey{std::string(result.text(row, 0)), std::string(result.text(row, 1))},
                  StoredMetadata{std::string(result.text(row, 2)), result.integer(row, 3)});
  }
  return found;
}

Statement save_metadata_statement(const std::vector<MetadataWrite>& writes) {
  std::vector<std::optional<std::string>> tables, pks, states, writers;
  for (const auto& write : writes) {
    tables.emplace_back(write.table);
    pks.emplace_back(write.key);
    states.emplace_back(write.state);
    writers.push_back(write.writer_xid ? std::optional(std::to_string(*write.writer_xid))
                                       : std::nullopt);
  }
  return Statement{
      "INSERT INTO tandem.rows (tbl, pk, state, writer_xid) "
      "SELECT u.tbl, u.pk, u.state, coalesce(u.writer, txid_current() % 4294967296) "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(tbl, pk, state, writer) "
      "ON CONFLICT (tbl, pk) DO UPDATE SET state = excluded.state, "
      "writer_xid = excluded.writer_xid",
      {text_array_literal(tables), text_array_literal(pks), text_array_literal(states),
       text_array_literal(writers)}};
}

}  // namespace tandem::storage::postgres
