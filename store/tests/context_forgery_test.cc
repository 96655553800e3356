// Forged contexts and corrupt records against the real `dynastore` daemon
// (issue 14): a client that holds the node's signing key (the test reads it
// from the data directory, as only its owner can) still cannot make the node
// issue an unreadable version; a client without the key cannot get any
// context accepted; a corrupt record on disk costs one key, not the node.
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "store/causal_context.h"
#include "store/codec.h"
#include "store/context_key.h"
#include "store/tests/test_http_client.h"
#include "store/tests/test_node.h"

namespace dynastore::test {
namespace {

using nlohmann::json;

class ContextForgeryTest : public ::testing::Test {
 protected:
  std::unique_ptr<DynastoreProcess> Start(std::vector<std::string> extra_args = {"--no-sync"}) {
    return StartDaemonIn(dir_, std::move(extra_args));
  }

  static void Stop(std::unique_ptr<DynastoreProcess>& p) {
    p->Signal(SIGTERM);
    std::optional<int> status = p->WaitExit(std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value()) << p->Log();
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << p->Log();
    p.reset();
  }

  // The token a node with this data directory would accept for `ctx`.
  std::string Signed(const CausalContext& ctx) {
    ContextKey key;
    Status s = ContextKey::LoadOrCreate(dir_.Sub("data"), key);
    EXPECT_TRUE(s.ok()) << s.message();
    return ctx.ToToken(key);
  }

  static std::string Values(TestHttpClient& client, const std::string& key) {
    HttpResult r = client.Get(KvPath(key));
    return std::to_string(r.status()) + " " + r.Json().value("values", json::array()).dump();
  }

  TempDir dir_;
};

TEST_F(ContextForgeryTest, CounterAtTheTopOfItsRangeIsRefusedAndTheKeyStaysUsableAcrossARestart) {
  auto daemon = Start();
  ASSERT_NE(daemon, nullptr);
  TestHttpClient client(daemon->port());
  ASSERT_EQ(client.Put(KvPath("k"), {{"value", "v1"}}).status(), 200u);

  // counter + 1 would wrap to 0: a dot no decoder accepts.
  CausalContext forged;
  forged.Add(Dot{"n1", UINT64_MAX}, 0);
  HttpResult put = client.Put(KvPath("k"), {{"value", "v2"}, {"context", Signed(forged)}});
  EXPECT_EQ(put.status(), 400u) << put.body();
  EXPECT_EQ(put.ErrorCode(), "invalid_context") << put.body();
  EXPECT_NE(put.body().find("counter"), std::string::npos) << put.body();

  EXPECT_EQ(Values(client, "k"), R"(200 ["v1"])");
  EXPECT_EQ(client.Put(KvPath("k"), {{"value", "v3"}}).status(), 200u);
  Stop(daemon);
  daemon = Start();
  ASSERT_NE(daemon, nullptr);
  TestHttpClient after(daemon->port());
  EXPECT_EQ(Values(after, "k"), R"(200 ["v1","v3"])");
}

TEST_F(ContextForgeryTest, ContextsNotSignedWithTheNodesKeyAreRefusedBeforeTheyAreDecoded) {
  auto daemon = Start();
  ASSERT_NE(daemon, nullptr);
  TestHttpClient client(daemon->port());
  HttpResult first = client.Put(KvPath("k"), {{"value", "v1"}});
  ASSERT_EQ(first.status(), 200u);
  const std::string genuine = first.Json()["context"];

  // The largest context the format allows, signed with another key: refused
  // by the signature check, without decoding or pruning its 8192 entries.
  CausalContext huge;
  for (size_t i = 0; i < CausalContext::kMaxEntries; ++i) {
    huge.Add(Dot{"node-" + std::to_string(i), 1}, static_cast<int64_t>(i));
    huge.Add(Dot{"node-" + std::to_string(i), 3}, static_cast<int64_t>(i));
  }
  ContextKey other;
  ASSERT_TRUE(ContextKey::FromHex(std::string(64, '7'), other).ok());
  // The pre-signature format: base64url(format 1, body, CRC-32).
  std::string unsigned_bytes(1, '\x01');
  huge.EncodeTo(unsigned_bytes);
  codec::SealWithCrc(unsigned_bytes);
  for (const std::string& forged : {huge.ToToken(other), codec::Base64UrlEncode(unsigned_bytes)}) {
    HttpResult put = client.Put(KvPath("k"), {{"value", "v2"}, {"context", forged}});
    EXPECT_EQ(put.status(), 400u) << put.body().substr(0, 300);
    EXPECT_EQ(put.ErrorCode(), "invalid_context");
  }
  EXPECT_EQ(Values(client, "k"), R"(200 ["v1"])");

  // Even signed with the right key, more entries than the bound are refused.
  HttpResult put = client.Put(KvPath("k"), {{"value", "v2"}, {"context", Signed(huge)}});
  EXPECT_EQ(put.status(), 400u) << put.body().substr(0, 300);
  EXPECT_NE(put.body().find("entries"), std::string::npos) << put.body().substr(0, 300);

  // The node's own tokens still work.
  EXPECT_EQ(client.Put(KvPath("k"), {{"value", "v4"}, {"context", genuine}}).status(), 200u);
  EXPECT_EQ(Values(client, "k"), R"(200 ["v4"])");
}

TEST_F(ContextForgeryTest, SiblingLimitHoldsOnWriteAndAWriteWithTheContextResolvesThem) {
  auto daemon = Start({"--no-sync", "--max-siblings", "4"});
  ASSERT_NE(daemon, nullptr);
  TestHttpClient client(daemon->port());
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(client.Put(KvPath("k"), {{"value", "v" + std::to_string(i)}}).status(), 200u) << i;
  }
  HttpResult over = client.Put(KvPath("k"), {{"value", "v4"}});
  EXPECT_EQ(over.status(), 409u) << over.body();
  EXPECT_EQ(over.ErrorCode(), "too_many_siblings") << over.body();
  EXPECT_EQ(Values(client, "k"), R"(200 ["v0","v1","v2","v3"])");

  HttpResult read = client.Get(KvPath("k"));
  HttpResult resolve = client.Put(KvPath("k"), {{"value", "merged"}, {"context", read.Json()["context"]}});
  EXPECT_EQ(resolve.status(), 200u) << resolve.body();
  EXPECT_EQ(Values(client, "k"), R"(200 ["merged"])");
}

// Writes `bytes` as the stored record of `key`, bypassing the node.
void PutRawRecord(const std::string& data_dir, const std::string& key, const std::string& bytes) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  ASSERT_TRUE(leveldb::DB::Open(options, data_dir, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  ASSERT_TRUE(db->Put(leveldb::WriteOptions(), "k/" + key, bytes).ok());
}

TEST_F(ContextForgeryTest, NodeWithACorruptRecordStartsLogsItAndTheReaperStillReapsTheRest) {
  auto daemon = Start({"--no-sync", "--tombstone-grace-s", "0"});
  ASSERT_NE(daemon, nullptr);
  {
    TestHttpClient client(daemon->port());
    ASSERT_EQ(client.Put(KvPath("a-good"), {{"value", "kept"}}).status(), 200u);
  }
  Stop(daemon);
  // A dot with counter 0, as the unchecked counter + 1 used to write.
  std::string bad(1, '\x01');
  codec::PutVarint(bad, 1);
  codec::PutBytes(bad, "n1");
  codec::PutVarint(bad, 0);
  PutRawRecord(dir_.Sub("data"), "b-bad", bad);

  daemon = Start({"--no-sync", "--tombstone-grace-s", "0"});
  ASSERT_NE(daemon, nullptr);
  TestHttpClient client(daemon->port());
  EXPECT_NE(daemon->Log().find("corrupt record for key 'b-bad'"), std::string::npos) << daemon->Log();
  EXPECT_EQ(Values(client, "a-good"), R"(200 ["kept"])");
  HttpResult bad_read = client.Get(KvPath("b-bad"));
  EXPECT_EQ(bad_read.status(), 500u) << bad_read.body();

  // A tombstone that sorts after the corrupt record is still reaped.
  ASSERT_EQ(client.Put(KvPath("c-deleted"), {{"value", "x"}}).status(), 200u);
  ASSERT_EQ(client.Delete(KvPath("c-deleted"), "").status(), 200u);
  // The reaper runs every second with no grace; the bound is generous.
  bool reaped = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!reaped && std::chrono::steady_clock::now() < deadline) {
    reaped = daemon->Log().find("reaped 1 deleted key") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(reaped) << daemon->Log();
}

}  // namespace
}  // namespace dynastore::test
