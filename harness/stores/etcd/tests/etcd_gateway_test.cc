// The gateway's pure parts: base64 (standard, padded, strict), the prefix
// range end, and parsing of hostile reply bodies. The live mapping is in
// etcd_db_test.cc.
#include "harness/stores/etcd/etcd_gateway.h"

#include <gtest/gtest.h>

#include <string>

namespace faultline {
namespace {

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes.push_back(static_cast<char>(i * 37 % 256));
    const std::string encoded = Base64Encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("k"), "aw==");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64Decode(""), "");
}

TEST(Base64Test, RejectsWhatIsNotCanonicalBase64) {
  for (const char* bad : {"!!", "aw=", "a", "aw==aw==", "a=w=", "aw= ", " aw=", "aw\n==", "a===", "-_-_"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

TEST(EtcdPrefixEndTest, IncrementsTheLastByteThatCan) {
  EXPECT_EQ(EtcdPrefixEnd("k1/"), "k10");
  EXPECT_EQ(EtcdPrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(EtcdPrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(ParseEtcdReplyTest, ReadsRangeAndTxnReplies) {
  EtcdReply r;
  std::string error;
  ASSERT_TRUE(ParseEtcdReply(
      R"({"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"},)"
      R"("kvs":[{"key":"aw==","create_revision":"2","mod_revision":"5","version":"3","value":"MQ=="}],"count":"1"})",
      &r, &error))
      << error;
  EXPECT_EQ(r.revision, 7);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, "k");
  EXPECT_EQ(r.kvs[0].value, "1");
  EXPECT_EQ(r.kvs[0].mod_revision, 5);
  EXPECT_EQ(r.kvs[0].version, 3);
  EXPECT_FALSE(r.succeeded);

  // A missing key: no "kvs". A txn whose compare failed: no "succeeded".
  ASSERT_TRUE(ParseEtcdReply(R"({"header":{"revision":"3"}})", &r, &error)) << error;
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_FALSE(r.succeeded);
  ASSERT_TRUE(ParseEtcdReply(R"({"header":{"revision":"4"},"succeeded":true,"responses":[]})", &r, &error));
  EXPECT_TRUE(r.succeeded);
  // A value-less key (an empty value) is left out by proto3: an empty string.
  ASSERT_TRUE(ParseEtcdReply(R"({"kvs":[{"key":"aw==","mod_revision":"9"}]})", &r, &error)) << error;
  EXPECT_EQ(r.kvs[0].value, "");
}

TEST(ParseEtcdReplyTest, RejectsHostileBodies) {
  for (const char* bad :
       {"", "[]", "not json", R"({"header":"x"})", R"({"header":{"revision":"7x"}})", R"({"header":{"revision":true}})",
        R"({"kvs":{}})", R"({"kvs":[1]})", R"({"kvs":[{"key":"!!"}]})", R"({"kvs":[{"key":"aw==","value":3}]})",
        R"({"kvs":[{"key":"aw==","mod_revision":"99999999999999999999"}]})", R"({"succeeded":"yes"})"}) {
    EtcdReply r;
    std::string error;
    EXPECT_FALSE(ParseEtcdReply(bad, &r, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace faultline
