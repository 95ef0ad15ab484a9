// Isolation between users on the embedded datasource: the merge rule, rows that change
// owner, owner comparison, and endpoints that would bypass the rules. The merge-rule
// scenarios run on PostgreSQL too (isolation_scenarios.h).
#include <gtest/gtest.h>

#include "e2e/admin_fixture.h"
#include "e2e/isolation_scenarios.h"
#include "support/ws_client.h"

namespace tandem::testing {
namespace {

class Isolation : public AdminEndToEnd {
 protected:
  isolation::Connect connector() {
    return [this](const std::string& user, const std::string& client_id, auth::Role role) {
      return synced(user, client_id, role);
    };
  }
};

TEST_F(Isolation, DeletedRowValuesAreNotInheritedByAnotherUser) {
  isolation::deleted_row_values_are_not_inherited_by_another_user(connector());
}

TEST_F(Isolation, AUserCannotPlantARowInAnotherUsersView) {
  isolation::a_user_cannot_plant_a_row_in_another_users_view(connector());
}

TEST_F(Isolation, AUserRevivesTheirOwnDeletedRowWithItsLaterValues) {
  isolation::a_user_revives_their_own_deleted_row_with_its_later_values(connector());
}

TEST_F(Isolation, ARowLeavingAUsersViewCarriesOnlyWhatTheySaw) {
  isolation::a_row_leaving_a_users_view_carries_only_what_they_saw(connector());
}

TEST_F(Isolation, AnIntegerOwnerMatchesOnlyTheCanonicalDecimalUserId) {
  sql("CREATE TABLE notes (id TEXT PRIMARY KEY, owner_id INTEGER NOT NULL, body TEXT);"
      "INSERT INTO notes VALUES ('n-7', 7, 'seven''s note');");
  ASSERT_EQ(track("notes").status, 201);
  auto seven = synced("7", "seven-1");
  EXPECT_TRUE(seven->row("notes", {{"id", "n-7"}}));
  int attempt = 0;
  for (const std::string subject : {"07", "7.0", " 7", "+7", "7e0", "7 "}) {
    SCOPED_TRACE("subject '" + subject + "'");
    auto impostor = synced(subject, "impostor-" + std::to_string(++attempt));
    EXPECT_EQ(impostor->rows("notes"), 0u) << "the snapshot holds no row of user 7";
    EXPECT_EQ(impostor->snapshot_begin().value("rows", -1), 4) << "the count: products only";
    auto ack = impostor->push({SyncTestClient::insert("notes", {{"id", "n-x"}}, {{"body", "x"}})});
    ASSERT_EQ(ack["exceptions"].size(), 1u) << ack.dump();
    EXPECT_EQ(ack["exceptions"][0]["code"], "forbidden") << ack.dump();
  }
  EXPECT_EQ(query_int("SELECT count(*) FROM notes"), 1) << "no row was written for user 7";
  sql("UPDATE notes SET body = 'changed' WHERE id = 'n-7'");
  ASSERT_TRUE(seven->wait_for([&] {
    auto row = seven->row("notes", {{"id", "n-7"}});
    return row && (*row)["body"] == "changed";
  }));
}

TEST_F(Isolation, ATextOwnerMatchesExactlyWhateverTheColumnsCollation) {
  sql("CREATE TABLE tags (id TEXT PRIMARY KEY, owner_id TEXT COLLATE NOCASE NOT NULL);"
      "INSERT INTO tags VALUES ('t-1', 'alice@x');");
  ASSERT_EQ(track("tags").status, 201);
  auto shouting = synced("ALICE@X", "shouting-1");
  EXPECT_EQ(shouting->rows("tags"), 0u);
  sql("INSERT INTO tags VALUES ('t-2', 'alice@x')");
  auto alice = synced("alice@x", "alice-x");
  EXPECT_TRUE(alice->row("tags", {{"id", "t-1"}}));
  ASSERT_TRUE(alice->wait_for([&] { return alice->row("tags", {{"id", "t-2"}}); }));
  EXPECT_FALSE(shouting->row("tags", {{"id", "t-2"}})) << "nor live";
}

TEST_F(Isolation, EsinkModeDoesNotServeSyncUnlessAsked) {
  server.reset();
  start({"--esink", "true"});
  WsClient socket;
  auto refused = socket.connect("127.0.0.1", server->port(), "/sync");
  EXPECT_EQ(refused.status, 404);
  EXPECT_NE(refused.body.find("esink.serve_sync"), std::string::npos) << refused.body;

  server.reset();
  start({"--esink", "true", "--esink-serve-sync", "true"});
  auto alice = synced("alice", "alice-1");
  EXPECT_TRUE(alice->row("past_orders", {{"id", "o-alice-1"}}));
}

}  // namespace
}  // namespace tandem::testing
