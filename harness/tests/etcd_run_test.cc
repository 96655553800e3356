// End-to-end: `faultline run --db etcd` on 3 local namespace nodes, one
// member each, under a partition that isolates one member for the last 6 s
// of the main phase (--nemesis-final: still in effect when the phase ends,
// so it lasts long enough by construction, whatever the machine's load).
// Workers are spread round-robin, so the isolated member serves a third of
// them throughout the partition, while the other two (a quorum) keep
// acknowledging writes of values never written before (--unique-values).
//   - With serializable reads the isolated member answers from its own,
//     frozen state: a read there after an acknowledged write elsewhere
//     returns an older value, which no linearization allows. The history
//     must hold such a read by the isolated member, and the run must exit 1.
//     (Which op the checker names is the one its search could not place:
//     often that stale read, but an op concurrent with it is as right.)
//   - With etcd's default linearizable reads the isolated member answers
//     nothing it cannot confirm with a quorum: the run must be valid.
// Members run with --pre-vote=true (etcd 3.5's default) so that the quorum
// elects a leader in one round when the isolated member was the leader (it
// usually is: n1 starts first). Without it, the quorum member whose log is
// behind could campaign first in every round, each time resetting the other's
// election timer and being refused its vote: under load the quorum stayed
// leaderless for all 6 s, acknowledged nothing, and no read could be stale.
#include <map>
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
                                     "500",
                                     "--etcd-arg=--pre-vote=true"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunArgs(args);
  }

  // A read the isolated member answered with a value that another member had
  // already overwritten in real time: an ok write or cas W completed before
  // the read was invoked, and the write of the value read completed before W
  // was invoked (values are unique: nothing wrote it again). No
  // linearization allows it. Returns the read's completion, or nullptr.
  static const Op* StaleRead(const std::vector<Op>& ops, const std::string& isolated) {
    struct Done {
      const Op* invoke;
      const Op* complete;
      json written;  // a write's or cas's new value; null for a read
    };
    std::map<int64_t, const Op*> open;  // process -> its pending invocation
    std::vector<Done> done;
    for (const Op& op : ops) {
      if (op.process == kNemesisProcess) continue;
      if (op.type == OpType::kInvoke) {
        open[op.process] = &op;
        continue;
      }
      auto it = open.find(op.process);
      if (it == open.end()) continue;
      const Op* invoke = it->second;
      open.erase(it);
      if (op.type != OpType::kOk) continue;
      json written;
      if (invoke->f == "write") written = invoke->value;
      if (invoke->f == "cas" && invoke->value.is_array() && invoke->value.size() == 2) written = invoke->value[1];
      done.push_back({invoke, &op, std::move(written)});
    }
    auto wrote = [](const Done& d) { return !d.written.is_null(); };
    for (const Done& read : done) {
      if (read.invoke->f != "read" || read.complete->node != isolated || read.complete->value.is_null()) continue;
      const json& v = read.complete->value;
      for (const Done& of_v : done) {
        if (!wrote(of_v) || of_v.invoke->key != read.invoke->key || of_v.written != v) continue;
        for (const Done& w : done) {
          if (wrote(w) && w.invoke->key == read.invoke->key && w.written != v && w.invoke->time > of_v.complete->time &&
              w.complete->time < read.invoke->time) {
            return read.complete;
          }
        }
      }
    }
    return nullptr;
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
  EXPECT_NE(Output().find(" not linearizable: "), std::string::npos) << Output();
  ASSERT_TRUE(lin.contains("anomalies") && !lin["anomalies"].empty()) << lin.dump(2);

  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  const std::string isolated = IsolatedNode(h.ops);
  ASSERT_FALSE(isolated.empty()) << "no one-node partition in the history";
  // What made the run non-linearizable: the isolated member's frozen answers.
  const Op* stale = StaleRead(h.ops, isolated);
  EXPECT_NE(stale, nullptr) << "no read by " << isolated << " returned an overwritten value";
  const json test = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(test["etcd"]["serializable-reads"], true);
  ExpectNothingLeft(ClusterId(run));
}

TEST_F(EtcdRunTest, LinearizableReadsUnderAPartitionAreValid) {
  const int code = RunFaultline(PartitionArgs({}));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 0) << Output() << results.dump(2);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], true) << results["checkers"]["linearizable"].dump(2);
  // The partition happened and cost the isolated member its answers: its writes
  // are info (timed out, may have applied) or fail, never ok.
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  const std::string isolated = IsolatedNode(h.ops);
  ASSERT_FALSE(isolated.empty()) << "no one-node partition in the history";
  int unknown = 0;
  for (const Op& op : h.ops) unknown += op.process != kNemesisProcess && op.type == OpType::kInfo ? 1 : 0;
  EXPECT_GT(unknown, 0) << "no write timed out on the isolated member";
  // The quorum read refuses what the serializable one answers stale.
  const Op* stale = StaleRead(h.ops, isolated);
  EXPECT_EQ(stale, nullptr) << ToJsonLine(*stale);
  // Every member's log was collected.
  for (const char* node : {"n1", "n2", "n3"}) EXPECT_TRUE(fs::exists(run / "nodes" / node / "etcd.log")) << node;
  ExpectNothingLeft(ClusterId(run));
}

}  // namespace
}  // namespace faultline::test
