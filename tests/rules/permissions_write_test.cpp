// The permission engine's write side under a rules file: per table and role, which rows may
// be inserted, updated and deleted, which columns set, what the server presets, and what the
// row must pass after the merge. A row the writer cannot read is never revealed.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "rules/permissions.h"
#include "rules/rules_file.h"
#include "rules/rules_testing.h"

namespace tandem::rules {
namespace {

using testing::Column;
using testing::table;

auth::Claims writer(std::string sub, std::string role = "user") {
  return testing::claims_of(std::move(sub), std::move(role));
}

sync::Mutation insert(Row pk, Row values) {
  return sync::Mutation{"items", sync::Op::insert, std::move(pk), std::move(values), {}};
}
sync::Mutation update(Row pk, Row values) {
  return sync::Mutation{"items", sync::Op::update, std::move(pk), std::move(values), {}};
}
sync::Mutation remove(Row pk) {
  return sync::Mutation{"items", sync::Op::remove, std::move(pk), {}, {}};
}

// list_members as the database holds it.
class ListMembers : public MembershipLookup {
 public:
  void add(std::string list, std::string user) {
    m_rows.emplace_back(std::move(list), std::move(user));
  }
  bool contains(const RowFilter::Membership& membership, const Value& key) const override {
    if (membership.table != "list_members") return false;
    for (const auto& [list, user] : m_rows) {
      if (key == Value(list) && membership.member == Value(user)) return true;
    }
    return false;
  }

 private:
  std::vector<std::pair<std::string, std::string>> m_rows;
};

// Shared shopping lists: a user reads the items of the lists they are a member of, adds items
// to those lists, and edits and deletes the items they created; a reviewer ticks any item off.
constexpr std::string_view kListRules = R"(
[memberships.list_members]
key = "list_id"
member = "user_id"

[tables.items.user]
select.filter = { list_id = { _in_membership = "list_members" } }
insert.check = { list_id = { _in_membership = "list_members" } }
insert.columns = ["id", "list_id", "title", "done"]
insert.presets = { created_by = { _claim = "sub" } }
update.filter = { created_by = { _eq = { _claim = "sub" } } }
update.check = { list_id = { _in_membership = "list_members" } }
update.columns = ["title", "done", "list_id"]
delete.filter = { created_by = { _eq = { _claim = "sub" } } }

[tables.items.reviewer]
select = {}
update.columns = ["done"]
update.presets = { reviewed_by = { _claim = "sub" } }
)";

class PermissionsWrite : public ::testing::Test {
 protected:
  PermissionsWrite() {
    members.add("groceries", "alice");
    members.add("groceries", "bob");
    members.add("work", "bob");
  }

  static Permissions with_rules(std::string_view text) {
    auto parsed = parse_rules(text);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    return Permissions(RulesOptions{}, parsed.ok() ? *parsed : RuleSet{});
  }

  Status write(const auth::Claims& who, const Row* existing, sync::Mutation& mutation,
               const TableSchema* schema = nullptr) const {
    return engine.authorize_write(who, schema ? *schema : items, existing, mutation, schema_of,
                                  &members);
  }

  Status result(const auth::Claims& who, WriteAction action, const Row& merged,
                bool inherits = false) const {
    return engine.authorize_result(who, items, action, merged, inherits, schema_of, &members);
  }

  static ErrorCode code(const Status& status) {
    return status.ok() ? ErrorCode::ok : status.error().code();
  }
  static std::string message(const Status& status) {
    return status.ok() ? std::string() : std::string(status.error().message());
  }

  TableSchema items = table("items", {{"id", ColumnType::text, true},
                                      {"list_id"},
                                      {"title"},
                                      {"done", ColumnType::integer},
                                      {"created_by"},
                                      {"reviewed_by"},
                                      {"locked", ColumnType::integer}});
  TableSchema list_members = table(
      "list_members", {{"list_id", ColumnType::text, true}, {"user_id", ColumnType::text, true}});
  SchemaLookup schema_of = [this](std::string_view name) -> const TableSchema* {
    return name == "list_members" ? &list_members : nullptr;
  };
  ListMembers members;
  Permissions engine = with_rules(kListRules);

  auth::Claims alice = writer("alice");
  Row alices_item{
      {"id", "i1"}, {"list_id", "groceries"}, {"title", "milk"}, {"created_by", "alice"}};
  Row bobs_shared_item{
      {"id", "i2"}, {"list_id", "groceries"}, {"title", "eggs"}, {"created_by", "bob"}};
  Row bobs_work_item{{"id", "i3"}, {"list_id", "work"}, {"title", "report"}, {"created_by", "bob"}};
};

TEST_F(PermissionsWrite, AnInsertMaySetOnlyTheListedColumns) {
  auto listed = insert({{"id", "i9"}}, {{"list_id", "groceries"}, {"title", "tea"}});
  EXPECT_TRUE(write(alice, nullptr, listed).ok());
  auto unlisted = insert({{"id", "i9"}}, {{"list_id", "groceries"}, {"locked", 1}});
  auto refused = write(alice, nullptr, unlisted);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("'locked' of 'items' in an insert"), std::string::npos)
      << message(refused);
  EXPECT_EQ(unlisted.values, (Row{{"list_id", "groceries"}, {"locked", 1}}))
      << "a refused write is left as it was sent: no preset applied";
}

TEST_F(PermissionsWrite, TheKeyColumnsOfAnInsertFollowTheColumnRuleToo) {
  auto tags_rules = with_rules(R"(
[tables.tags.user]
insert.columns = ["color"]
)");
  auto tags = table("tags", {{"name", ColumnType::text, true}, {"color"}});
  sync::Mutation tag{"tags", sync::Op::insert, {{"name", "red"}}, {{"color", "#f00"}}, {}};
  auto refused = tags_rules.authorize_write(alice, tags, nullptr, tag, schema_of, &members);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("column 'name'"), std::string::npos) << message(refused);
}

TEST_F(PermissionsWrite, PresetsOverwriteWhatTheClientSentAndNeedNotBeListed) {
  auto claims_bobs = insert({{"id", "i9"}}, {{"list_id", "groceries"}, {"created_by", "bob"}});
  ASSERT_TRUE(write(alice, nullptr, claims_bobs).ok());
  EXPECT_EQ(claims_bobs.values.at("created_by"), Value("alice"));
  auto leaves_it_out = insert({{"id", "i9"}}, {{"list_id", "groceries"}});
  ASSERT_TRUE(write(alice, nullptr, leaves_it_out).ok());
  EXPECT_EQ(leaves_it_out.values, (Row{{"list_id", "groceries"}, {"created_by", "alice"}}));
}

TEST_F(PermissionsWrite, APresetKeyColumnIsCheckedNotRewritten) {
  auto profile_rules = with_rules(R"(
[tables.profiles.user]
insert.columns = ["bio"]
insert.presets = { user_id = { _claim = "sub" } }
)");
  auto profiles = table("profiles", {{"user_id", ColumnType::text, true}, {"bio"}});
  sync::Mutation mine{"profiles", sync::Op::insert, {{"user_id", "alice"}}, {{"bio", "hi"}}, {}};
  EXPECT_TRUE(
      profile_rules.authorize_write(alice, profiles, nullptr, mine, schema_of, &members).ok());
  EXPECT_EQ(mine.pk, (Row{{"user_id", "alice"}}));
  EXPECT_EQ(mine.values, (Row{{"bio", "hi"}})) << "the key names the row; it is not a value";
  sync::Mutation bobs{"profiles", sync::Op::insert, {{"user_id", "bob"}}, {{"bio", "hi"}}, {}};
  auto refused = profile_rules.authorize_write(alice, profiles, nullptr, bobs, schema_of, &members);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_EQ(bobs.pk, (Row{{"user_id", "bob"}}));
}

TEST_F(PermissionsWrite, AnUpdateOfARowTheUserReadsButMayNotUpdateIsForbidden) {
  auto edit = update({{"id", "i2"}}, {{"title", "brown eggs"}});
  auto refused = write(alice, &bobs_shared_item, edit);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("may not update this row of 'items'"), std::string::npos)
      << message(refused);
}

TEST_F(PermissionsWrite, AWriteToARowTheUserCannotReadLooksLikeAWriteToNoRowAtAll) {
  auto edit = update({{"id", "i3"}}, {{"title", "x"}});
  auto drop = remove({{"id", "i3"}});
  auto overwrite = insert({{"id", "i3"}}, {{"list_id", "groceries"}, {"title", "x"}});
  auto hidden_edit = write(alice, &bobs_work_item, edit);
  auto absent_edit = write(alice, nullptr, edit);
  EXPECT_EQ(code(hidden_edit), ErrorCode::not_found);
  EXPECT_EQ(message(hidden_edit), message(absent_edit)) << "nothing tells the two apart";
  auto hidden_drop = write(alice, &bobs_work_item, drop);
  auto absent_drop = write(alice, nullptr, drop);
  EXPECT_EQ(code(hidden_drop), ErrorCode::not_found);
  EXPECT_EQ(message(hidden_drop), message(absent_drop));
  EXPECT_EQ(code(write(alice, &bobs_work_item, overwrite)), ErrorCode::not_found);
  EXPECT_EQ(message(hidden_edit), "no row of yours in 'items' has this key");
}

TEST_F(PermissionsWrite, AnUpdateMaySetOnlyTheListedColumnsAndMayRepeatItsKey) {
  auto retitle = update({{"id", "i1"}}, {{"id", "i1"}, {"title", "oat milk"}});
  EXPECT_TRUE(write(alice, &alices_item, retitle).ok());
  auto hand_over = update({{"id", "i1"}}, {{"created_by", "bob"}});
  auto refused = write(alice, &alices_item, hand_over);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("'created_by' of 'items' in an update"), std::string::npos)
      << message(refused);
}

TEST_F(PermissionsWrite, MovingARowIntoAListTheUserIsNotInPassesTheFilterButNotTheCheck) {
  auto move = update({{"id", "i1"}}, {{"list_id", "work"}});
  EXPECT_TRUE(write(alice, &alices_item, move).ok()) << "alice may update the row she created";
  Row moved = alices_item;
  moved["list_id"] = "work";
  auto refused = result(alice, WriteAction::update, moved);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("does not pass the update check"), std::string::npos)
      << message(refused);
  EXPECT_TRUE(result(alice, WriteAction::update, alices_item).ok());
}

TEST_F(PermissionsWrite, AnInsertedRowMustPassTheInsertCheck) {
  auto into_work = insert({{"id", "i9"}}, {{"list_id", "work"}});
  EXPECT_TRUE(write(alice, nullptr, into_work).ok()) << "the check judges the merged row";
  Row merged{{"id", "i9"}, {"list_id", "work"}, {"created_by", "alice"}};
  auto refused = result(alice, WriteAction::insert, merged);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("does not pass the insert check"), std::string::npos)
      << message(refused);
  merged["list_id"] = "groceries";
  EXPECT_TRUE(result(alice, WriteAction::insert, merged).ok());
}

TEST_F(PermissionsWrite, TheDeleteFilterDecidesWhichReadableRowsMayBeDeleted) {
  auto drop_mine = remove({{"id", "i1"}});
  EXPECT_TRUE(write(alice, &alices_item, drop_mine).ok());
  auto drop_bobs = remove({{"id", "i2"}});
  auto refused = write(alice, &bobs_shared_item, drop_bobs);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("may not delete this row"), std::string::npos)
      << message(refused);
}

TEST_F(PermissionsWrite, ADeleteThatALaterInsertOutlivesLeavesARowThatIsNotChecked) {
  Row reduced{{"id", "i1"}, {"list_id", "work"}};  // columns older than the delete erased
  EXPECT_TRUE(result(alice, WriteAction::remove, reduced).ok());
}

TEST_F(PermissionsWrite, AnInsertOfAKeyThatHasARowNeedsBothInsertAndUpdate) {
  auto again = insert({{"id", "i1"}}, {{"list_id", "groceries"}, {"title", "milk"}});
  EXPECT_TRUE(write(alice, &alices_item, again).ok());
  EXPECT_FALSE(again.values.contains("created_by")) << "an update's presets, not an insert's";
  EXPECT_TRUE(result(alice, WriteAction::upsert, alices_item).ok());
  Row into_work = alices_item;
  into_work["list_id"] = "work";
  EXPECT_EQ(code(result(alice, WriteAction::upsert, into_work)), ErrorCode::forbidden);

  auto over_bobs = insert({{"id", "i2"}}, {{"title", "x"}});
  EXPECT_EQ(code(write(alice, &bobs_shared_item, over_bobs)), ErrorCode::forbidden)
      << "the update filter applies";
  auto sets_creator = insert({{"id", "i1"}}, {{"created_by", "alice"}});
  EXPECT_EQ(code(write(alice, &alices_item, sets_creator)), ErrorCode::forbidden)
      << "an insert preset is not an update column";

  auto one_sided = with_rules(R"(
[tables.items.adder]
select = {}
insert = {}
[tables.items.editor]
select = {}
update = {}
)");
  auto adder = writer("ann", "adder");
  auto editor = writer("ed", "editor");
  auto add = insert({{"id", "i1"}}, {{"title", "x"}});
  EXPECT_TRUE(one_sided.authorize_write(adder, items, nullptr, add, schema_of, &members).ok());
  auto refused = one_sided.authorize_write(adder, items, &alices_item, add, schema_of, &members);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("may not update rows of 'items'"), std::string::npos)
      << message(refused);
  EXPECT_EQ(code(one_sided.authorize_write(editor, items, &alices_item, add, schema_of, &members)),
            ErrorCode::forbidden);
  auto edit = update({{"id", "i1"}}, {{"title", "x"}});
  EXPECT_TRUE(
      one_sided.authorize_write(editor, items, &alices_item, edit, schema_of, &members).ok());
}

TEST_F(PermissionsWrite, ACustomRoleWritesByItsOwnRule) {
  auto carol = writer("carol", "reviewer");
  auto tick = update({{"id", "i3"}}, {{"done", 1}});
  ASSERT_TRUE(write(carol, &bobs_work_item, tick).ok()) << "a reviewer reads every list";
  EXPECT_EQ(tick.values, (Row{{"done", 1}, {"reviewed_by", "carol"}}));
  EXPECT_TRUE(result(carol, WriteAction::update, bobs_work_item).ok()) << "no check: any row";
  auto retitle = update({{"id", "i3"}}, {{"title", "x"}});
  EXPECT_EQ(code(write(carol, &bobs_work_item, retitle)), ErrorCode::forbidden);
  auto add = insert({{"id", "i9"}}, {{"list_id", "work"}});
  EXPECT_EQ(code(write(carol, nullptr, add)), ErrorCode::forbidden);
  auto drop = remove({{"id", "i3"}});
  EXPECT_EQ(code(write(carol, &bobs_work_item, drop)), ErrorCode::forbidden);
}

TEST_F(PermissionsWrite, ATableARoleOrAnActionTheFileDoesNotNameIsRefused) {
  auto notes = table("notes", {{"id", ColumnType::text, true}, {"body"}});
  sync::Mutation note{"notes", sync::Op::insert, {{"id", "n1"}}, {{"body", "x"}}, {}};
  auto refused = write(alice, nullptr, note, &notes);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_EQ(message(refused), "role 'user' may not insert rows of 'notes'");
  auto guest_insert = insert({{"id", "i9"}}, {{"list_id", "groceries"}});
  EXPECT_EQ(message(write(writer("gus", "guest"), nullptr, guest_insert)),
            "role 'guest' may not insert rows of 'items'");
  // A refusal that depends on the role alone tells nothing about the row, present or not.
  auto carol = writer("carol", "reviewer");
  auto drop = remove({{"id", "i3"}});
  EXPECT_EQ(message(write(carol, nullptr, drop)), message(write(carol, &bobs_work_item, drop)));
  EXPECT_EQ(message(write(carol, nullptr, drop)), "role 'reviewer' may not delete rows of 'items'");
}

TEST_F(PermissionsWrite, AdminsMayDoEverythingAndGetNoPresets) {
  auto root = writer("root", "admin");
  auto notes = table("notes", {{"id", ColumnType::text, true}, {"body"}});
  sync::Mutation note{"notes", sync::Op::insert, {{"id", "n1"}}, {{"body", "x"}}, {}};
  EXPECT_TRUE(write(root, nullptr, note, &notes).ok());
  auto anything = insert({{"id", "i9"}}, {{"list_id", "work"}, {"locked", 1}});
  ASSERT_TRUE(write(root, nullptr, anything).ok());
  EXPECT_EQ(anything.values, (Row{{"list_id", "work"}, {"locked", 1}}));
  auto drop = remove({{"id", "i3"}});
  EXPECT_TRUE(write(root, &bobs_work_item, drop).ok());
  EXPECT_TRUE(result(root, WriteAction::insert, bobs_work_item, true).ok());
}

TEST_F(PermissionsWrite, APresetFromAMissingClaimIsNullAndTheCheckThenRefusesTheRow) {
  auto tenant_rules = with_rules(R"(
[tables.docs.user]
select.filter = { tenant = { _eq = { _claim = "tenant" } } }
insert.columns = ["id", "body"]
insert.presets = { tenant = { _claim = "tenant" } }
insert.check = { tenant = { _eq = { _claim = "tenant" } } }
)");
  auto docs = table("docs", {{"id", ColumnType::text, true}, {"tenant"}, {"body"}});
  auto with_tenant = writer("alice");
  with_tenant.values["tenant"] = auth::ClaimValue{{Value("acme")}, false};
  auto without_tenant = writer("bob");

  sync::Mutation doc{"docs", sync::Op::insert, {{"id", "d1"}}, {{"body", "x"}}, {}};
  auto acme_doc = doc;
  ASSERT_TRUE(
      tenant_rules.authorize_write(with_tenant, docs, nullptr, acme_doc, schema_of, &members).ok());
  EXPECT_EQ(acme_doc.values.at("tenant"), Value("acme"));
  Row acme_row{{"id", "d1"}, {"tenant", "acme"}, {"body", "x"}};
  EXPECT_TRUE(tenant_rules
                  .authorize_result(with_tenant, docs, WriteAction::insert, acme_row, false,
                                    schema_of, &members)
                  .ok());

  auto orphan_doc = doc;
  ASSERT_TRUE(
      tenant_rules.authorize_write(without_tenant, docs, nullptr, orphan_doc, schema_of, &members)
          .ok())
      << "the preset is written, as NULL";
  ASSERT_TRUE(orphan_doc.values.contains("tenant"));
  EXPECT_TRUE(orphan_doc.values.at("tenant").is_null());
  Row orphan_row{{"id", "d1"}, {"tenant", nullptr}, {"body", "x"}};
  auto refused = tenant_rules.authorize_result(without_tenant, docs, WriteAction::insert,
                                               orphan_row, false, schema_of, &members);
  EXPECT_EQ(code(refused), ErrorCode::forbidden) << "NULL = NULL is not true";
}

TEST_F(PermissionsWrite, AMembershipFilterWithoutALookupDeniesAndNeverThrows) {
  auto edit = update({{"id", "i1"}}, {{"title", "x"}});
  Status decided = ok_status();
  EXPECT_NO_THROW(decided =
                      engine.authorize_write(alice, items, &alices_item, edit, schema_of, nullptr));
  EXPECT_EQ(code(decided), ErrorCode::not_found) << "whether alice reads the row is unknown";
  EXPECT_NO_THROW(decided = engine.authorize_result(alice, items, WriteAction::insert, alices_item,
                                                    false, schema_of, nullptr));
  EXPECT_EQ(code(decided), ErrorCode::forbidden);
  auto negated = with_rules(R"(
[memberships.list_members]
key = "list_id"
member = "user_id"
[tables.items.user]
insert.check = { _not = { list_id = { _in_membership = "list_members" } } }
)");
  EXPECT_EQ(code(negated.authorize_result(alice, items, WriteAction::insert, alices_item, false,
                                          schema_of, nullptr)),
            ErrorCode::forbidden)
      << "not a membership that cannot be answered is not true either";
}

TEST_F(PermissionsWrite, AWriteThatRevivesOthersValuesIsRefusedAsARowOfSomeoneElse) {
  auto refused = result(alice, WriteAction::insert, alices_item, true);
  EXPECT_EQ(code(refused), ErrorCode::not_found);
  EXPECT_EQ(message(refused), "no row of yours in 'items' has this key");
}

TEST_F(PermissionsWrite, ARuleThatNoLongerFitsTheTableRefusesTheWrite) {
  auto stale = with_rules(R"(
[tables.items.user]
select = {}
insert.presets = { owner = { _claim = "sub" } }
update.filter = { archived = { _eq = 0 } }
)");
  auto add = insert({{"id", "i9"}}, {{"title", "x"}});
  auto refused = stale.authorize_write(alice, items, nullptr, add, schema_of, &members);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("no column 'owner'"), std::string::npos) << message(refused);
  auto edit = update({{"id", "i1"}}, {{"title", "x"}});
  refused = stale.authorize_write(alice, items, &alices_item, edit, schema_of, &members);
  EXPECT_EQ(code(refused), ErrorCode::forbidden);
  EXPECT_NE(message(refused).find("no column 'archived'"), std::string::npos) << message(refused);
}

}  // namespace
}  // namespace tandem::rules
