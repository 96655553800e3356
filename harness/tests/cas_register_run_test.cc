// End-to-end: `faultline run --workload cas-register` on real local nodes.
// dynastore (read/write only: it has no cas) and Redis Cluster (GET/SET and
// a Lua compare-and-set), a few seconds of ops each, no faults. Verdicts are
// asserted only where they hold by construction:
//   - Redis Cluster without faults serves every key from one master that
//     applies GET, SET and the cas script one at a time: linearizable.
//   - dynastore is not asserted valid even without faults: a write is a GET
//     then a PUT with that context, so two concurrent writes make siblings
//     (a "siblings" violation for a register), and a read can see a write
//     that has reached one replica and a later read miss it. Only the run,
//     the history's format and the checkers that ran are asserted.
#include <set>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

// The history's client ops (not the nemesis), and the keys and fs they used.
struct Ops {
  std::vector<Op> ops;
  std::set<std::string> keys, fs;
};

Ops ClientOps(const fs::path& run) {
  Ops out;
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  EXPECT_TRUE(h.warnings.empty());
  for (const Op& op : h.ops) {
    if (op.process == kNemesisProcess) continue;
    out.ops.push_back(op);
    out.keys.insert(op.key);
    out.fs.insert(op.f);
  }
  return out;
}

// Values 0..4: a write's value, a cas's pair, an ok read's value (null, a value or sorted siblings).
void ExpectSmallValues(const Ops& ops) {
  const auto small = [](const json& v) { return v.is_number_integer() && v.get<int64_t>() >= 0 && v <= 4; };
  for (const Op& op : ops.ops) {
    SCOPED_TRACE(ToJsonLine(op));
    if (op.f == "write") {
      EXPECT_TRUE(small(op.value));
    }
    if (op.f == "cas") {
      EXPECT_TRUE(op.value.is_array() && op.value.size() == 2 && small(op.value[0]) && small(op.value[1]));
    }
    if (op.f == "read" && op.type == OpType::kOk && !op.value.is_null() && !small(op.value)) {
      ASSERT_TRUE(op.value.is_array() && op.value.size() >= 2);
      for (size_t i = 0; i < op.value.size(); ++i) EXPECT_TRUE(small(op.value[i]));
      EXPECT_TRUE(std::is_sorted(op.value.begin(), op.value.end()));
    }
  }
}

TEST_F(FaultlineRun, CasRegisterOnDynastoreWithoutCas) {
  // Asking dynastore for cas is refused before anything starts, naming the fix.
  EXPECT_EQ(RunFaultline(RunArgs({"--workload", "cas-register", "--time-limit", "3"})), 2);
  EXPECT_NE(Output().find("dynastore does not support"), std::string::npos) << Output();
  EXPECT_NE(Output().find("--cas-mix read=1,write=1,cas=0"), std::string::npos) << Output();
  EXPECT_FALSE(fs::exists(store_)) << "nothing is created for a refused config";

  const int code = RunFaultline(RunArgs({"--workload", "cas-register", "--cas-mix", "read=1,write=1,cas=0",
                                         "--time-limit", "4", "--rate", "80", "--ops-per-key", "30"}));
  EXPECT_TRUE(code == 0 || code == 1 || code == 2) << Output();
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results.value("error", ""), "") << results.dump(2);
  EXPECT_EQ(results["incomplete"], false) << results.dump(2);
  EXPECT_TRUE(results["checkers"].contains("linearizable")) << results.dump(2);
  EXPECT_EQ(results["checkers"]["stats"]["valid"], true) << results["checkers"]["stats"].dump(2);
  const json test = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(test["cas-mix"], (json{{"read", 1}, {"write", 1}, {"cas", 0}}));
  const Ops ops = ClientOps(run);
  EXPECT_EQ(ops.fs, (std::set<std::string>{"read", "write"}));
  // ~320 ops at 30 per key over 5 slots: keys moved on well past k5.
  EXPECT_GT(ops.keys.size(), 7u);
  EXPECT_TRUE(ops.keys.count("k8"));
  ExpectSmallValues(ops);
  ExpectNothingLeft(ClusterId(run));
}

class CasRegisterRedisTest : public FaultlineRun {};

TEST_F(CasRegisterRedisTest, RedisClusterWithoutFaultsIsLinearizable) {
  // A node timeout far past the run: no failover can happen on a loaded
  // machine (a master slow to answer is not a fault here), so every
  // acknowledged write stays.
  const fs::path config = dir_ / "config.json";
  std::ofstream(config) << R"({"redis": {"node-timeout-ms": 120000}})";
  const int code = RunFaultline({"run",
                                 "--config",
                                 config.string(),
                                 "--db",
                                 "redis-cluster",
                                 "--local",
                                 "6",
                                 "--workload",
                                 "cas-register",
                                 "--time-limit",
                                 "4",
                                 "--rate",
                                 "80",
                                 "--ops-per-key",
                                 "40",
                                 "--store-dir",
                                 store_.string(),
                                 "--seed",
                                 "17",
                                 "--quiesce",
                                 "1"});
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 0) << Output() << results.dump(2);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], true) << results["checkers"]["linearizable"].dump(2);
  const Ops ops = ClientOps(run);
  EXPECT_EQ(ops.fs, (std::set<std::string>{"read", "write", "cas"}));
  ExpectSmallValues(ops);
  // Both cas outcomes happen: ~100 cas ops, each applying when it guessed the value (1 in 5).
  int applied = 0, refused = 0;
  for (const Op& op : ops.ops) {
    if (op.f != "cas") continue;
    applied += op.type == OpType::kOk ? 1 : 0;
    refused += op.type == OpType::kFail ? 1 : 0;
  }
  EXPECT_GT(applied, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace faultline::test
