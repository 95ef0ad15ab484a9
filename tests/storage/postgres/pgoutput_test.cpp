#include "storage/postgres/pgoutput.h"

#include <gtest/gtest.h>

#include <vector>

namespace tandem::storage::postgres {
namespace {

// Builds protocol bytes the way the server writes them: big-endian integers,
// NUL-terminated strings.
class Bytes {
 public:
  Bytes& u8(std::uint8_t v) {
    m_data.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& tag(char c) {
    m_data.push_back(c);
    return *this;
  }
  Bytes& u16(std::uint16_t v) { return big_endian(v, 2); }
  Bytes& u32(std::uint32_t v) { return big_endian(v, 4); }
  Bytes& u64(std::uint64_t v) { return big_endian(v, 8); }
  Bytes& str(std::string_view s) {
    m_data.append(s);
    m_data.push_back('\0');
    return *this;
  }
  // A TupleData column of kind 't' or 'b'.
  Bytes& value(char kind, std::string_view s) {
    tag(kind).u32(static_cast<std::uint32_t>(s.size()));
    m_data.append(s);
    return *this;
  }
  std::string build() const { return m_data; }
  operator std::string_view() const { return m_data; }  // NOLINT(google-explicit-constructor)

 private:
  Bytes& big_endian(std::uint64_t v, int size) {
    for (int i = size - 1; i >= 0; --i)
      m_data.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string m_data;
};

template <typename T>
T decode_as(std::string_view bytes) {
  auto result = decode_pgoutput(bytes);
  EXPECT_TRUE(result.ok()) << result.error().message();
  EXPECT_TRUE(std::holds_alternative<T>(*result));
  return std::get<T>(*result);
}

TupleColumn text(std::string s) {
  return {TupleColumn::Kind::text, std::move(s)};
}
TupleColumn null() {
  return {TupleColumn::Kind::null, {}};
}

// Every strict prefix of a valid message is malformed, and so is the message with one more
// byte; none of them reads out of bounds (the sanitizer build checks).
void expect_every_truncation_fails(std::string_view bytes) {
  ASSERT_TRUE(decode_pgoutput(bytes).ok());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    auto result = decode_pgoutput(bytes.substr(0, size));
    ASSERT_FALSE(result.ok()) << "prefix of " << size << " bytes decoded";
    EXPECT_EQ(result.error().code(), ErrorCode::malformed_message);
  }
  auto longer = std::string(bytes) + '\0';
  EXPECT_FALSE(decode_pgoutput(longer).ok());
}

TEST(PgOutput, BeginCarriesFinalLsnCommitTimeAndXid) {
  auto bytes = Bytes().tag('B').u64(0x16B374D848).u64(756'000'000'123'456).u32(742);
  EXPECT_EQ(decode_as<BeginMessage>(bytes), (BeginMessage{0x16B374D848, 756'000'000'123'456, 742}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, CommitCarriesFlagsLsnsAndTime) {
  auto bytes = Bytes().tag('C').u8(0).u64(0x100).u64(0x1A0).u64(5);
  EXPECT_EQ(decode_as<CommitMessage>(bytes), (CommitMessage{0, 0x100, 0x1A0, 5}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, OriginCarriesLsnAndName) {
  auto bytes = Bytes().tag('O').u64(0x12345678).str("upstream");
  EXPECT_EQ(decode_as<OriginMessage>(bytes), (OriginMessage{0x12345678, "upstream"}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, RelationDescribesColumnsAndKey) {
  auto bytes = Bytes()
                   .tag('R')
                   .u32(16385)
                   .str("public")
                   .str("items")
                   .tag('d')
                   .u16(2)
                   .u8(1)
                   .str("id")
                   .u32(23)
                   .u32(0xffffffff)
                   .u8(0)
                   .str("price")
                   .u32(1700)
                   .u32(655366);
  auto relation = decode_as<RelationMessage>(bytes);
  EXPECT_EQ(relation.oid, 16385u);
  EXPECT_EQ(relation.namespace_name, "public");
  EXPECT_EQ(relation.name, "items");
  EXPECT_EQ(relation.replica_identity, 'd');
  ASSERT_EQ(relation.columns.size(), 2u);
  EXPECT_EQ(relation.columns[0], (RelationColumn{1, "id", 23, -1}));
  EXPECT_TRUE(relation.columns[0].is_key());
  EXPECT_EQ(relation.columns[1], (RelationColumn{0, "price", 1700, 655366}));
  EXPECT_FALSE(relation.columns[1].is_key());
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, RelationInPgCatalogHasAnEmptyNamespace) {
  auto bytes = Bytes().tag('R').u32(1).str("").str("t").tag('f').u16(0);
  auto relation = decode_as<RelationMessage>(bytes);
  EXPECT_EQ(relation.namespace_name, "");
  EXPECT_EQ(relation.replica_identity, 'f');
  EXPECT_TRUE(relation.columns.empty());
}

TEST(PgOutput, TypeNamesANonBuiltinType) {
  auto bytes = Bytes().tag('Y').u32(16400).str("public").str("mood");
  EXPECT_EQ(decode_as<TypeMessage>(bytes), (TypeMessage{16400, "public", "mood"}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, InsertCarriesEveryColumnKind) {
  auto bytes = Bytes().tag('I').u32(16385).tag('N').u16(4).value('t', "42").tag('n').tag('u').value(
      'b', std::string("\x00\xff", 2));
  auto insert = decode_as<InsertMessage>(bytes);
  EXPECT_EQ(insert.relation_oid, 16385u);
  EXPECT_EQ(insert.new_tuple, (TupleData{text("42"),
                                         null(),
                                         {TupleColumn::Kind::unchanged_toast, {}},
                                         {TupleColumn::Kind::binary, std::string("\x00\xff", 2)}}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, InsertKeepsEmptyTextDistinctFromNull) {
  auto bytes = Bytes().tag('I').u32(1).tag('N').u16(2).value('t', "").tag('n');
  EXPECT_EQ(decode_as<InsertMessage>(bytes).new_tuple, (TupleData{text(""), null()}));
}

TEST(PgOutput, UpdateWithoutOldTuple) {
  auto bytes = Bytes().tag('U').u32(7).tag('N').u16(1).value('t', "x");
  auto update = decode_as<UpdateMessage>(bytes);
  EXPECT_EQ(update.relation_oid, 7u);
  EXPECT_FALSE(update.old_kind.has_value());
  EXPECT_TRUE(update.old_tuple.empty());
  EXPECT_EQ(update.new_tuple, (TupleData{text("x")}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, UpdateWithOldKey) {
  auto bytes = Bytes()
                   .tag('U')
                   .u32(7)
                   .tag('K')
                   .u16(2)
                   .value('t', "1")
                   .tag('n')
                   .tag('N')
                   .u16(2)
                   .value('t', "2")
                   .value('t', "b");
  auto update = decode_as<UpdateMessage>(bytes);
  EXPECT_EQ(update.old_kind, OldTupleKind::key);
  EXPECT_EQ(update.old_tuple, (TupleData{text("1"), null()}));
  EXPECT_EQ(update.new_tuple, (TupleData{text("2"), text("b")}));
  expect_every_truncation_fails(bytes);
}

TEST(PgOutput, UpdateWithFullOldRow) {
  auto bytes =
      Bytes().tag('U').u32(7).tag('O').u16(1).value('t', "a").tag('N').u16(1).value('t', "b");
  auto update = decode_as<UpdateMessage>(bytes);
  EXPECT_EQ(update.old_kind, OldTupleKind::full);
  EXPECT_EQ(update.old_tuple, (TupleData{text("a")}));
  EXPECT_EQ(update.new_tuple, (TupleData{text("b")}));
}

TEST(PgOutput, UpdateWithAnUnknownTupleTagIsMalformed) {
  auto result = decode_pgoutput(Bytes().tag('U').u32(7).tag('X').u16(0));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("expected 'N'"), std::string_view::npos);
}

TEST(PgOutput, DeleteWithKeyOrFullRow) {
  auto key = Bytes().tag('D').u32(9).tag('K').u16(2).value('t', "5").tag('n');
  EXPECT_EQ(decode_as<DeleteMessage>(key),
            (DeleteMessage{9, OldTupleKind::key, {text("5"), null()}}));
  expect_every_truncation_fails(key);
  auto full = Bytes().tag('D').u32(9).tag('O').u16(1).value('t', "5");
  EXPECT_EQ(decode_as<DeleteMessage>(full), (DeleteMessage{9, OldTupleKind::full, {text("5")}}));
  EXPECT_FALSE(decode_pgoutput(Bytes().tag('D').u32(9).tag('N').u16(0)).ok());
}

TEST(PgOutput, TruncateListsRelationsAndOptions) {
  auto bytes = Bytes().tag('T').u32(2).u8(3).u32(100).u32(200);
  auto truncate = decode_as<TruncateMessage>(bytes);
  EXPECT_EQ(truncate.relation_oids, (std::vector<std::uint32_t>{100, 200}));
  EXPECT_TRUE(truncate.cascade());
  EXPECT_TRUE(truncate.restart_identity());
  expect_every_truncation_fails(bytes);
  auto plain = decode_as<TruncateMessage>(Bytes().tag('T').u32(1).u8(0).u32(5));
  EXPECT_FALSE(plain.cascade());
  EXPECT_FALSE(plain.restart_identity());
}

TEST(PgOutput, LogicalMessageCarriesPrefixAndBinaryContent) {
  std::string content("hi\0there", 8);
  auto bytes = Bytes().tag('M').u8(1).u64(0xABC).str("tandem").u32(8);
  auto full = bytes.build() + content;
  EXPECT_EQ(decode_as<LogicalMessage>(full), (LogicalMessage{true, 0xABC, "tandem", content}));
  expect_every_truncation_fails(full);
  auto nontransactional = Bytes().tag('M').u8(0).u64(1).str("p").u32(0);
  EXPECT_FALSE(decode_as<LogicalMessage>(nontransactional).transactional);
}

TEST(PgOutput, EmptyAndUnknownMessagesAreMalformed) {
  auto empty = decode_pgoutput("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::malformed_message);
  // 'S' is Stream Start, protocol version 2.
  auto stream = decode_pgoutput(Bytes().tag('S').u32(1).u8(1));
  ASSERT_FALSE(stream.ok());
  EXPECT_NE(stream.error().message().find("unknown message type 0x53"), std::string_view::npos);
}

TEST(PgOutput, CorruptTuplesAreMalformedWithoutHugeAllocations) {
  auto bad_kind = decode_pgoutput(Bytes().tag('I').u32(1).tag('N').u16(1).tag('x'));
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.error().message().find("unknown tuple column kind 0x78"),
            std::string_view::npos);
  auto negative = decode_pgoutput(Bytes().tag('I').u32(1).tag('N').u16(1).tag('t').u32(0xffffffff));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message().find("negative length"), std::string_view::npos);
  auto huge_length =
      decode_pgoutput(Bytes().tag('I').u32(1).tag('N').u16(1).tag('t').u32(1u << 30));
  EXPECT_FALSE(huge_length.ok());
  EXPECT_FALSE(decode_pgoutput(Bytes().tag('I').u32(1).tag('N').u16(65535)).ok());
  EXPECT_FALSE(decode_pgoutput(Bytes().tag('R').u32(1).str("").str("t").tag('d').u16(65535)).ok());
  EXPECT_FALSE(decode_pgoutput(Bytes().tag('T').u32(0xffffffff).u8(0)).ok());
  EXPECT_FALSE(decode_pgoutput(Bytes().tag('M').u8(2).u64(1).str("p").u32(0)).ok());
}

TEST(PgOutput, ErrorsNameTheMessageAndOffset) {
  auto result = decode_pgoutput(Bytes().tag('B').u64(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(std::string(result.error().message()),
            "pgoutput Begin: truncated reading commit time (8 byte(s) needed, 0 left) (at byte 9 "
            "of 9)");
}

TEST(ReplicationFraming, XLogDataCarriesPositionsAndThePgOutputMessage) {
  std::string inner = Bytes().tag('B').u64(0x300).u64(7).u32(9).build();
  auto bytes = Bytes().tag('w').u64(0x200).u64(0x300).u64(12345).build() + inner;
  auto result = decode_replication_message(bytes);
  ASSERT_TRUE(result.ok()) << result.error().message();
  auto& data = std::get<XLogData>(*result);
  EXPECT_EQ(data, (XLogData{0x200, 0x300, 12345, inner}));
  EXPECT_EQ(std::get<BeginMessage>(decode_pgoutput(data.data).value()).xid, 9u);
  for (std::size_t size = 0; size < 25; ++size)
    EXPECT_FALSE(decode_replication_message(std::string_view(bytes).substr(0, size)).ok());
}

TEST(ReplicationFraming, KeepaliveSaysWhetherAReplyIsRequested) {
  auto bytes = Bytes().tag('k').u64(0x1000).u64(99).u8(1).build();
  auto result = decode_replication_message(bytes);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(std::get<PrimaryKeepalive>(*result), (PrimaryKeepalive{0x1000, 99, true}));
  auto no_reply = decode_replication_message(Bytes().tag('k').u64(1).u64(2).u8(0));
  EXPECT_FALSE(std::get<PrimaryKeepalive>(no_reply.value()).reply_requested);
  for (std::size_t size = 0; size < bytes.size(); ++size)
    EXPECT_FALSE(decode_replication_message(std::string_view(bytes).substr(0, size)).ok());
  EXPECT_FALSE(decode_replication_message(bytes + "x").ok());
  EXPECT_FALSE(decode_replication_message(Bytes().tag('k').u64(1).u64(2).u8(2)).ok());
}

TEST(ReplicationFraming, UnknownFrameIsMalformed) {
  auto result = decode_replication_message("z");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::malformed_message);
}

TEST(ReplicationFraming, StandbyStatusUpdateIsTheDocumentedThirtyFourBytes) {
  auto bytes = encode_standby_status_update(
      {0x0102030405060708, 0x1112131415161718, 0x2122232425262728, 0x3132333435363738, true});
  EXPECT_EQ(bytes, Bytes()
                       .tag('r')
                       .u64(0x0102030405060708)
                       .u64(0x1112131415161718)
                       .u64(0x2122232425262728)
                       .u64(0x3132333435363738)
                       .u8(1)
                       .build());
  EXPECT_EQ(bytes.size(), 34u);
  EXPECT_EQ(encode_standby_status_update({}).back(), '\0');
}

TEST(Lsn, FormatsAndParsesAsPostgreSqlPrintsIt) {
  EXPECT_EQ(format_lsn(0x16B374D848), "16/B374D848");
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(parse_lsn("16/B374D848"), Lsn{0x16B374D848});
  EXPECT_EQ(parse_lsn("0/0"), Lsn{0});
  EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), Lsn{0xFFFFFFFFFFFFFFFF});
  for (auto bad : {"", "/", "1/", "/1", "1/2/3", "G/0", "100000000/0", "1 /2", "-1/2"})
    EXPECT_FALSE(parse_lsn(bad).has_value()) << bad;
}

TEST(PgTime, EpochIsTwoThousandUtc) {
  EXPECT_EQ(kPgEpochUnixMicros, 946684800LL * 1000000);
}

}  // namespace
}  // namespace tandem::storage::postgres
