// End-to-end: `faultline run --db etcd` on 3 local namespace nodes, one
// member each, under a partition that isolates one member for the last 6 s
// of the main phase (--nemesis-final: still in effect when the phase ends,
// so it lasts long enough by construction, whatever the machine's load).
// Workers are spread round-robin, so the isolated member serves a third of
// them throughout the partition, while the other two (a quorum) keep
// acknowledging writes of values never written before (--unique-values).
//   - With serializable reads the isolated member answers from its own,
//     frozen state: a read there after an acknowledged write elsewhere
//     returns an older value, which no linearization allows. The run must
//     exit 1, and the anomaly must be a read served by the isolated member.
//   - With etcd's default linearizable reads the isolated member answers
//     nothing it cannot confirm with a quorum: the run must be valid.
#include <set>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

class EtcdRunTest : public FaultlineRun {
 protected:
  std::vector<std::string> PartitionArgs(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--db",
                                     "etcd",
                                     "--workload",
                                     "cas-register",
                                     "--unique-values",
                                     "--cas-mix",
                                     "read=3,write=2,cas=1",
                                     "--nemesis",
                                     "partition",
                                     "--nemesis-partitions",
                                     "one",
                                     "--nemesis-interval",
                                     "100",
                                     "--nemesis-final",
                                     "6",
                                     "--time-limit",
                                     "10",
                                     "--rate",
                                     "100",
                                     "--op-timeout-ms",
                                     "500"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunArgs(args);
  }

  // The member the partition cut off: the grudge key whose list is every other node.
  static std::string IsolatedNode(const std::vector<Op>& ops) {
    for (const Op& op : ops) {
      if (op.process != kNemesisProcess || op.f != "start-partition") continue;
      for (const auto& [node, drops] : op.value["grudge"].items()) {
        if (drops.size() == 2) return node;
      }
    }
    return "";
  }
};

TEST_F(EtcdRunTest, SerializableReadsOnAnIsolatedMemberAreStale) {
  const int code = RunFaultline(PartitionArgs({"--etcd-serializable-reads"}));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 1) << Output() << results.dump(2);
  const json& lin = results["checkers"]["linearizable"];
  EXPECT_EQ(lin["valid"], false) << lin.dump(2);
  EXPECT_NE(Output().find(" not linearizable: read by process "), std::string::npos) << Output();
  ASSERT_TRUE(lin.contains("anomalies") && !lin["anomalies"].empty()) << lin.dump(2);
  const json& stale = lin["anomalies"][0]["op"];
  EXPECT_EQ(stale["f"], "read") << stale.dump();

  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  const std::string isolated = IsolatedNode(h.ops);
  ASSERT_FALSE(isolated.empty()) << "no one-node partition in the history";
  // The stale read is the isolated member's answer, given during the partition.
  const Op& completion = h.ops.at(stale["complete_index"].get<size_t>());
  EXPECT_EQ(completion.f, "read");
  EXPECT_EQ(completion.node, isolated) << ToJsonLine(completion);
  const json test = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(test["etcd"]["serializable-reads"], true);
  ExpectNothingLeft(ClusterId(run));
}

TEST_F(EtcdRunTest, LinearizableReadsUnderAPartitionAreValid) {
  const int code = RunFaultline(PartitionArgs({}));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(code, 0) << Output() << results.dump(2);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], true) << results["checkers"]["linearizable"].dump(2);
  // The partition happened and cost the isolated member its answers: its writes
  // are info (timed out, may have applied) or fail, never ok.
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  const std::string isolated = IsolatedNode(h.ops);
  ASSERT_FALSE(isolated.empty()) << "no one-node partition in the history";
  int unknown = 0;
  for (const Op& op : h.ops) unknown += op.process != kNemesisProcess && op.type == OpType::kInfo ? 1 : 0;
  EXPECT_GT(unknown, 0) << "no write timed out on the isolated member";
  // Every member's log was collected.
  for (const char* node : {"n1", "n2", "n3"}) EXPECT_TRUE(fs::exists(run / "nodes" / node / "etcd.log")) << node;
  ExpectNothingLeft(ClusterId(run));
}

}  // namespace
}  // namespace faultline::test
