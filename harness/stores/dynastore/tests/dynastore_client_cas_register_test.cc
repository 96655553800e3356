// DynastoreClient's cas-register ops against a real dynastore process: reads
// (absent, one value, siblings), writes that supersede what the client saw,
// and cas, which dynastore does not have (declared, and refused per op).
#include "harness/stores/dynastore/tests/dynastore_client_test_support.h"

namespace faultline {
namespace {

using namespace test;  // NOLINT: the fixture and helpers of dynastore_client_test_support.h

TEST_F(DynastoreClientTest, CasRegisterReadsWritesAndSiblings) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kCasRegister));
  Completion absent = client.Invoke(Read("c"));
  ASSERT_EQ(absent.type, OpType::kOk) << absent.error;
  EXPECT_TRUE(absent.value.is_null()) << absent.value;

  Completion write = client.Invoke({"write", "c", 3});
  ASSERT_EQ(write.type, OpType::kOk) << write.error;
  EXPECT_EQ(write.value, 3);
  Completion read = client.Invoke(Read("c"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, 3);

  // Two PUTs from one stale context: siblings, read as the sorted array of their values.
  HttpConnection raw("127.0.0.1", port);
  const std::string context = json::parse(Raw(raw, "GET", "/kv/c").body)["context"];
  for (const char* v : {"4", "1"}) {
    ASSERT_EQ(Raw(raw, "PUT", "/kv/c", json({{"value", v}, {"context", context}}).dump()).status, 200);
  }
  Completion siblings = client.Invoke(Read("c"));
  ASSERT_EQ(siblings.type, OpType::kOk) << siblings.error;
  EXPECT_EQ(siblings.value, json::parse("[1,4]"));

  // A write supersedes every version the client saw: one value again.
  ASSERT_EQ(client.Invoke({"write", "c", 0}).type, OpType::kOk);
  EXPECT_EQ(StoredValues(raw, "c"), json::parse(R"(["0"])"));
  EXPECT_EQ(client.Invoke(Read("c")).value, 0);

  // Siblings holding one value are one value.
  const std::string again = json::parse(Raw(raw, "GET", "/kv/c").body)["context"];
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Raw(raw, "PUT", "/kv/c", json({{"value", "2"}, {"context", again}}).dump()).status, 200);
  }
  EXPECT_EQ(StoredValues(raw, "c").size(), 2u);
  EXPECT_EQ(client.Invoke(Read("c")).value, 2);

  // No cas: refused per op (the config refuses it before a run).
  Completion cas = client.Invoke({"cas", "c", {2, 3}});
  EXPECT_EQ(cas.type, OpType::kFail);
  EXPECT_EQ(cas.error, "dynastore client does not support f=cas (workload cas-register)");
  EXPECT_EQ(client.Invoke(Read("c")).value, 2);
}

TEST(DynastoreSupport, DeclaresNoCasForCasRegister) {
  const DynastoreConfig config;
  EXPECT_NE(DynastoreUnsupported(config, WorkloadKind::kCasRegister, "cas").find("no compare-and-set"),
            std::string::npos);
  EXPECT_EQ(DynastoreUnsupported(config, WorkloadKind::kCasRegister, "read"), "");
  EXPECT_EQ(DynastoreUnsupported(config, WorkloadKind::kCasRegister, "write"), "");
  EXPECT_EQ(DynastoreUnsupported(config, WorkloadKind::kRegister, "rmw"), "");
}

}  // namespace
}  // namespace faultline
