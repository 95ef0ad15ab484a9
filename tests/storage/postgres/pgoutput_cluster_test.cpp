// The pgoutput decoder on bytes a real PostgreSQL 15 produced: changes are made through
// psql, then read with pg_logical_slot_peek_binary_changes (the same pgoutput messages a
// replication connection receives inside XLogData).
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <vector>

#include "common/base64.h"
#include "storage/postgres/pg_types.h"
#include "storage/postgres/pgoutput.h"
#include "support/postgres_cluster.h"

namespace tandem::storage::postgres {
namespace {

using tandem::testing::PostgresCluster;

struct Change {
  Lsn lsn = 0;
  std::uint32_t xid = 0;
  std::string bytes;
  PgOutputMessage message;
};

class PgOutputCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    m_cluster.psql(R"(
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), tags text[], data jsonb,
                    created timestamptz, payload bytea, flag boolean, feeling mood, big text);
ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE full_items (id int PRIMARY KEY, name text);
ALTER TABLE full_items REPLICA IDENTITY FULL;
CREATE PUBLICATION p FOR TABLE items, full_items;
SELECT pg_replication_origin_create('upstream');
SELECT 'slot' FROM pg_create_logical_replication_slot('s', 'pgoutput');
)");
  }

  std::vector<Change> peek() {
    auto output = m_cluster.psql(
        "SET TimeZone='UTC'; SET DateStyle=ISO; SET bytea_output=hex; "
        "SELECT lsn, xid, encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('s', "
        "NULL, NULL, 'proto_version', '1', 'publication_names', 'p', 'messages', 'true')");
    std::vector<Change> changes;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      auto first = line.find('|');
      auto second = line.find('|', first + 1);
      Change change;
      change.lsn = parse_lsn(line.substr(0, first)).value();
      change.xid =
          static_cast<std::uint32_t>(std::stoul(line.substr(first + 1, second - first - 1)));
      auto bytes = hex_decode(line.substr(second + 1)).value();
      change.bytes.assign(bytes.begin(), bytes.end());
      auto decoded = decode_pgoutput(change.bytes);
      if (!decoded) throw std::runtime_error(std::string(decoded.error().message()));
      change.message = std::move(*decoded);
      changes.push_back(std::move(change));
    }
    return changes;
  }

  std::uint32_t oid_of(const std::string& expression) {
    return static_cast<std::uint32_t>(std::stoul(m_cluster.psql("SELECT " + expression)));
  }

  PostgresCluster m_cluster;
};

template <typename T>
const T& as(const Change& change) {
  if (!std::holds_alternative<T>(change.message))
    throw std::runtime_error("unexpected message type at index " +
                             std::to_string(change.message.index()));
  return std::get<T>(change.message);
}

TupleColumn text(std::string s) {
  return {TupleColumn::Kind::text, std::move(s)};
}
TupleColumn null() {
  return {TupleColumn::Kind::null, {}};
}

// Checks a transaction's Begin and Commit against each other and against the clock.
void expect_transaction(const Change& begin_change, const Change& commit_change) {
  const auto& begin = as<BeginMessage>(begin_change);
  const auto& commit = as<CommitMessage>(commit_change);
  EXPECT_EQ(begin.xid, begin_change.xid);
  EXPECT_EQ(commit.flags, 0);
  EXPECT_EQ(begin.final_lsn, commit.commit_lsn);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_EQ(begin.commit_time, commit.commit_time);
  auto now_pg = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count() -
                kPgEpochUnixMicros;
  EXPECT_LT(std::abs(now_pg - commit.commit_time), std::int64_t{600'000'000});
}

TEST_F(PgOutputCluster, DecodesEveryMessageOfRealChanges) {
  m_cluster.psql(R"(
INSERT INTO items VALUES (1, 'a', 1.50, '{x,"y z"}', '{"k": 1}', '2024-01-02 03:04:05.123456+00',
                          '\x00ff', true, 'happy', NULL);
UPDATE items SET name = 'b' WHERE id = 1;
UPDATE items SET id = 2 WHERE id = 1;
UPDATE items SET big = (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 200) i);
UPDATE items SET flag = false;
INSERT INTO full_items VALUES (1, 'x');
UPDATE full_items SET name = 'y';
DELETE FROM full_items;
DELETE FROM items;
TRUNCATE items, full_items RESTART IDENTITY;
SELECT 'm' FROM pg_logical_emit_message(true, 'tandem', 'hello');
SELECT 'm' FROM pg_logical_emit_message(false, 'tandem', 'now');
BEGIN;
SELECT pg_replication_origin_session_setup('upstream');
SELECT pg_replication_origin_xact_setup('0/12345678', now());
INSERT INTO full_items VALUES (3, 'from upstream');
COMMIT;
)");
  auto items_oid = oid_of("'items'::regclass::oid");
  auto full_oid = oid_of("'full_items'::regclass::oid");
  auto mood_oid = oid_of("'mood'::regtype::oid");
  auto changes = peek();

  std::vector<std::size_t> kinds;
  for (const auto& change : changes)
    kinds.push_back(change.message.index());
  // Begin 0, Commit 1, Origin 2, Relation 3, Type 4, Insert 5, Update 6, Delete 7,
  // Truncate 8, Message 9.
  std::vector<std::size_t> expected{0, 4, 3, 5, 1,     // insert: Type mood, Relation items
                                    0, 6, 1,           // update, key unchanged
                                    0, 6, 1,           // update of the key
                                    0, 6, 1,           // big TOASTed value
                                    0, 6, 1,           // update, big unchanged
                                    0, 3, 5, 1,        // insert into full_items
                                    0, 6, 1,           // update with full old row
                                    0, 7, 1,           // delete, full
                                    0, 7, 1,           // delete, key
                                    0, 4, 3, 3, 8, 1,  // truncate, relations sent again
                                    0, 9, 1,           // transactional message
                                    9,                 // non-transactional message
                                    0, 2, 3, 5, 1};    // insert with an origin
  std::string printed;
  for (auto kind : kinds)
    printed += std::to_string(kind) + ",";
  ASSERT_EQ(kinds, expected) << printed;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (changes[i].message.index() == 0) {
      std::size_t end = i;
      while (changes[end].message.index() != 1)
        ++end;
      expect_transaction(changes[i], changes[end]);
    }
  }

  const auto& type = as<TypeMessage>(changes[1]);
  EXPECT_EQ(type, (TypeMessage{mood_oid, "public", "mood"}));

  const auto& items = as<RelationMessage>(changes[2]);
  EXPECT_EQ(items.oid, items_oid);
  EXPECT_EQ(items.namespace_name, "public");
  EXPECT_EQ(items.name, "items");
  EXPECT_EQ(items.replica_identity, 'd');
  std::vector<RelationColumn> columns{
      {1, "id", 23, -1},      {0, "name", 25, -1},   {0, "price", 1700, (10 << 16 | 2) + 4},
      {0, "tags", 1009, -1},  {0, "data", 3802, -1}, {0, "created", 1184, -1},
      {0, "payload", 17, -1}, {0, "flag", 16, -1},   {0, "feeling", mood_oid, -1},
      {0, "big", 25, -1}};
  EXPECT_EQ(items.columns, columns);

  const auto& insert = as<InsertMessage>(changes[3]);
  EXPECT_EQ(insert.relation_oid, items_oid);
  EXPECT_EQ(insert.new_tuple, (TupleData{text("1"), text("a"), text("1.50"), text(R"({x,"y z"})"),
                                         text(R"({"k": 1})"), text("2024-01-02 03:04:05.123456+00"),
                                         text("\\x00ff"), text("t"), text("happy"), null()}));
  // The tuple's text goes straight into the type mapping.
  std::vector<Value> values;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    auto pg_type = builtin_pg_type(columns[c].type_oid)
                       .value_or(PgType{columns[c].type_oid, "mood", 'E', 0, {}, 0, ','});
    if (insert.new_tuple[c].kind == TupleColumn::Kind::null) {
      values.emplace_back();
      continue;
    }
    values.push_back(value_from_pg_text(pg_type, insert.new_tuple[c].data).value());
  }
  EXPECT_EQ(values, (std::vector<Value>{1, "a", "1.50", R"(["x","y z"])", R"({"k": 1})",
                                        "2024-01-02T03:04:05.123456Z", Blob{0x00, 0xff}, 1, "happy",
                                        Value{}}));

  const auto& same_key = as<UpdateMessage>(changes[6]);
  EXPECT_FALSE(same_key.old_kind.has_value());
  EXPECT_EQ(same_key.new_tuple[1], text("b"));

  const auto& new_key = as<UpdateMessage>(changes[9]);
  EXPECT_EQ(new_key.old_kind, OldTupleKind::key);
  EXPECT_EQ(new_key.old_tuple[0], text("1"));
  for (std::size_t c = 1; c < new_key.old_tuple.size(); ++c)
    EXPECT_EQ(new_key.old_tuple[c], null());
  EXPECT_EQ(new_key.new_tuple[0], text("2"));

  const auto& toasted = as<UpdateMessage>(changes[12]);
  EXPECT_EQ(toasted.new_tuple[9].data.size(), 6400u);
  const auto& unchanged = as<UpdateMessage>(changes[15]);
  EXPECT_EQ(unchanged.new_tuple[9].kind, TupleColumn::Kind::unchanged_toast);
  EXPECT_EQ(unchanged.new_tuple[7], text("f"));

  const auto& full = as<RelationMessage>(changes[18]);
  EXPECT_EQ(full.oid, full_oid);
  EXPECT_EQ(full.replica_identity, 'f');
  EXPECT_EQ(full.columns, (std::vector<RelationColumn>{{1, "id", 23, -1}, {1, "name", 25, -1}}));
  EXPECT_EQ(as<InsertMessage>(changes[19]), (InsertMessage{full_oid, {text("1"), text("x")}}));

  const auto& full_update = as<UpdateMessage>(changes[22]);
  EXPECT_EQ(full_update.old_kind, OldTupleKind::full);
  EXPECT_EQ(full_update.old_tuple, (TupleData{text("1"), text("x")}));
  EXPECT_EQ(full_update.new_tuple, (TupleData{text("1"), text("y")}));

  EXPECT_EQ(as<DeleteMessage>(changes[25]),
            (DeleteMessage{full_oid, OldTupleKind::full, {text("1"), text("y")}}));
  const auto& key_delete = as<DeleteMessage>(changes[28]);
  EXPECT_EQ(key_delete.relation_oid, items_oid);
  EXPECT_EQ(key_delete.old_kind, OldTupleKind::key);
  EXPECT_EQ(key_delete.old_tuple[0], text("2"));
  EXPECT_EQ(key_delete.old_tuple[1], null());

  const auto& truncate = as<TruncateMessage>(changes[34]);
  EXPECT_TRUE(truncate.restart_identity());
  EXPECT_FALSE(truncate.cascade());
  EXPECT_EQ(truncate.relation_oids, (std::vector<std::uint32_t>{items_oid, full_oid}));

  const auto& message = as<LogicalMessage>(changes[37]);
  EXPECT_TRUE(message.transactional);
  EXPECT_EQ(message.prefix, "tandem");
  EXPECT_EQ(message.content, "hello");
  EXPECT_EQ(message.lsn, changes[37].lsn);
  const auto& immediate = as<LogicalMessage>(changes[39]);
  EXPECT_FALSE(immediate.transactional);
  EXPECT_EQ(immediate.content, "now");

  EXPECT_EQ(as<OriginMessage>(changes[41]), (OriginMessage{0x12345678, "upstream"}));
  EXPECT_EQ(as<InsertMessage>(changes[43]).new_tuple,
            (TupleData{text("3"), text("from upstream")}));

  // Every prefix of every real message is refused, never misread.
  for (const auto& change : changes) {
    for (std::size_t size = 0; size < change.bytes.size(); ++size) {
      auto result = decode_pgoutput(std::string_view(change.bytes).substr(0, size));
      ASSERT_FALSE(result.ok()) << "a " << size << "-byte prefix of message type "
                                << change.message.index() << " decoded";
      ASSERT_EQ(result.error().code(), ErrorCode::malformed_message);
    }
  }
}

}  // namespace
}  // namespace tandem::storage::postgres
