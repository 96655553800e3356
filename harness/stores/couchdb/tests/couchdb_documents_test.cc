// The parts of the couchdb client that need no server: CouchDB's winner
// rule, and replies that are not what the API promises (hostile input is a
// clear error, never a crash).
#include "harness/stores/couchdb/couchdb_documents.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

using json = nlohmann::json;

CouchdbLeaf Leaf(std::string rev, bool deleted = false) { return {std::move(rev), deleted, json::object()}; }

TEST(CouchdbWinner, LiveBeatsDeletedThenLongerPathThenGreaterHash) {
  EXPECT_TRUE(CouchdbRevWins(Leaf("1-aaa"), Leaf("9-fff", true)));
  EXPECT_TRUE(CouchdbRevWins(Leaf("10-aaa"), Leaf("9-fff")));  // numeric, not text, order of N
  EXPECT_TRUE(CouchdbRevWins(Leaf("3-b0"), Leaf("3-a9")));
  EXPECT_FALSE(CouchdbRevWins(Leaf("3-a9"), Leaf("3-b0")));
  const std::vector<CouchdbLeaf> live =
      CouchdbLiveLeaves({Leaf("2-aa"), Leaf("5-zz", true), Leaf("3-01"), Leaf("3-ff")});
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[0].rev, "3-ff");
  EXPECT_EQ(live[1].rev, "3-01");
  EXPECT_EQ(live[2].rev, "2-aa");
}

TEST(CouchdbLeaves, ParsesEveryLeafAndSkipsMissingRevisions) {
  const json body = json::parse(R"([{"ok":{"_id":"k","_rev":"2-ab","elements":[1]}},
                                    {"ok":{"_id":"k","_rev":"2-cd","_deleted":true}},
                                    {"missing":"1-zz"}])");
  std::vector<CouchdbLeaf> leaves;
  std::string error;
  ASSERT_TRUE(ParseCouchdbLeaves(body, &leaves, &error)) << error;
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[0].rev, "2-ab");
  EXPECT_FALSE(leaves[0].deleted);
  EXPECT_EQ(leaves[0].doc["elements"], json({1}));
  EXPECT_TRUE(leaves[1].deleted);
}

TEST(CouchdbLeaves, RejectsRepliesThatAreNotLeafLists) {
  for (const char* bad : {R"({"ok":true})", R"([1])", R"([{"ok":{"_id":"k"}}])", R"([{"ok":{"_rev":7}}])",
                          R"([{"ok":{"_rev":"x-1"}}])", R"([{"ok":{"_rev":"3-"}}])", R"([{"nope":{}}])"}) {
    std::vector<CouchdbLeaf> leaves;
    std::string error;
    EXPECT_FALSE(ParseCouchdbLeaves(json::parse(bad), &leaves, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace faultline
