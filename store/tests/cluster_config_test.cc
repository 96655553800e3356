#include "store/cluster_config.h"

#include <gtest/gtest.h>

namespace dynastore {
namespace {

const char* kGood = R"({"n":3,"r":2,"w":2,"partitions":64,"nodes":[
  {"id":"n1","http":"127.0.0.1:8101","rpc":"127.0.0.1:9101"},
  {"id":"n2","http":"127.0.0.1:8102","rpc":"127.0.0.1:9102"},
  {"id":"n3","http":"127.0.0.1:8103","rpc":"[::1]:9103"}]})";

std::string ErrorOf(const std::string& json) {
  ClusterConfig c;
  Status s = ClusterConfig::Parse(json, c);
  return s.ok() ? "" : s.message();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(ClusterConfig, ParsesAValidFile) {
  ClusterConfig c;
  ASSERT_TRUE(ClusterConfig::Parse(kGood, c).ok());
  EXPECT_EQ(c.n, 3);
  EXPECT_EQ(c.partitions, 64);
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.nodes[2].rpc, (Endpoint{"::1", 9103}));
  EXPECT_EQ(c.IndexOf("n2"), 1);
  EXPECT_EQ(c.IndexOf("n9"), -1);
}

TEST(ClusterConfig, RejectsEachKindOfBadFileNamingTheField) {
  EXPECT_NE(ErrorOf("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("r":2)", R"("r":4)")).find("'r'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("w":2)", R"("w":0)")).find("'w'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("n":3)", R"("n":4)")).find("exceeds the number of nodes"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("id":"n2")", R"("id":"n1")")).find("duplicate node id 'n1'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "127.0.0.1:8102", "127.0.0.1:8101")).find("used twice"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "127.0.0.1:9101", "127.0.0.1")).find("nodes[0].rpc"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "127.0.0.1:9101", "127.0.0.1:99999")).find("port"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("partitions":64)", R"("partitions":2)")).find("'partitions'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("n":3)", R"("n":3,"nn":1)")).find("unknown field 'nn'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, R"("n":3)", R"("n":"3")")).find("'n' must be an integer"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"n":1,"r":1,"w":1,"nodes":[]})").find("'nodes' is empty"), std::string::npos);
}

TEST(ClusterConfig, LoadNamesTheFile) {
  ClusterConfig c;
  Status s = ClusterConfig::Load("/nonexistent/cluster.json", c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/cluster.json"), std::string::npos);
}

}  // namespace
}  // namespace dynastore
