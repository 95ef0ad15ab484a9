#include "storage/change_log_codec.h"

#include <gtest/gtest.h>

namespace tandem::storage {
namespace {

TEST(ChangeLogCodec, UpdateKeepsOnlyTheOldValuesOfChangedColumns) {
  LogEntry entry{7,
                 "t",
                 "update",
                 R"({"id":1})",
                 R"({"id":1,"a":"x","b":2})",
                 std::string_view(R"({"id":1,"a":"x","b":1})"),
                 "0000000000010000",
                 "c1",
                 5};
  auto changes = decode_log_entry(entry);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].old, (Row{{"b", 1}}));
  EXPECT_EQ(changes[0].stamp.node, "c1");
  EXPECT_EQ(mutation_of(changes[0]).values, (Row{{"b", 2}}));
}

TEST(ChangeLogCodec, HexBlobsDecodeToBytes) {
  LogEntry entry{1,  "t", "insert", R"({"id":1})", R"({"id":1,"b":{"$hex":"0aff"}})", std::nullopt,
                 "", "",  0};
  auto changes = decode_log_entry(entry);
  EXPECT_EQ(changes[0].row.at("b"), Value(Blob{0x0a, 0xff}));
}

TEST(ChangeLogCodec, CorruptEntryIsAnError) {
  LogEntry entry{1, "t", "insert", "{", "{}", std::nullopt, "", "", 0};
  EXPECT_THROW(decode_log_entry(entry), Error);
  LogEntry bad_op{1, "t", "merge", "{}", "{}", std::nullopt, "", "", 0};
  EXPECT_THROW(decode_log_entry(bad_op), Error);
}

}  // namespace
}  // namespace tandem::storage
