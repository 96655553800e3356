// End-to-end: `faultline run --db couchdb` on 2 local namespace nodes, one
// PouchDB Server each, all on one key (--keys 1), under a partition that
// isolates one node for the last 6 s of the main phase (--nemesis-final: in
// effect when the phase ends, so it lasts by construction, whatever the
// machine's load). Two nodes, not three: each side of the split is one
// server, as many as a side needs to write its own branch, and a third
// server's four more replication jobs (PouchDB's busiest work) took each
// run from 12-16 to 21 CPU-s without changing what is checked. 30 ops/s,
// not 100: PouchDB spends ~145 ms of CPU per replicated write, so a run
// took 16 CPU-s at 100 and 9 at 30, with siblings in the final reads at
// both. Workers are spread round-robin, so both sides keep writing the same
// document on their own branch of its revision tree
// (multi-master: no quorum refuses them); once healed, replication makes
// the two branches siblings on every node, one the winner, by construction.
//   - The default client reads every sibling and merges them on write:
//     nothing acknowledged is lost, the final reads see both branches as
//     siblings, and the run is valid (exit 0).
//   - "couchdb": {"resolve-conflicts": false} reads only the winner: the
//     losing branch's acknowledged adds are gone from every final read, and
//     the set checker must say so (exit 1).
// And the external adapter's lifecycle with the built-in couchdb client.
#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

class CouchdbRunTest : public FaultlineRun {
 protected:
  std::vector<std::string> PartitionArgs(const std::string& workload, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--db",
                                     "couchdb",
                                     "--workload",
                                     workload,
                                     "--keys",
                                     "1",
                                     "--nemesis",
                                     "partition",
                                     "--nemesis-partitions",
                                     "one",
                                     "--nemesis-interval",
                                     "100",
                                     "--nemesis-final",
                                     "6",
                                     "--time-limit",
                                     "8",
                                     "--rate",
                                     "30",
                                     "--op-timeout-ms",
                                     "1000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunArgs(args, 2);
  }
  void SetUp() override {
    FaultlineRun::SetUp();
    if (IsSkipped()) return;
    const std::string server = FAULTLINE_SOURCE_DIR "/harness/stores/couchdb/server/node_modules/.bin/pouchdb-server";
    ASSERT_TRUE(fs::exists(server)) << server << " is missing: run scripts/setup (it installs PouchDB Server)";
  }
};

TEST_F(CouchdbRunTest, TheDefaultClientMergesSiblingsAndLosesNothing) {
  const int code = RunFaultline(PartitionArgs("register", {}));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 0) << Output() << results.dump(2);
  const json& lost = results["checkers"]["lost-update"];
  EXPECT_EQ(lost["valid"], true) << lost.dump(2);
  EXPECT_GT(lost["ok_count"].get<int>(), 0) << lost.dump(2);
  EXPECT_EQ(results["checkers"]["convergence"]["valid"], true) << results["checkers"]["convergence"].dump(2);
  // Both sides' branches survive as siblings: the final reads see two values (or more).
  const json& histogram = results["checkers"]["stats"]["siblings"]["histogram"];
  EXPECT_GT(
      histogram["2"].get<int>() + histogram["3"].get<int>() + histogram["4"].get<int>() + histogram["5+"].get<int>(), 0)
      << histogram.dump();
  for (const char* node : {"n1", "n2"}) EXPECT_TRUE(fs::exists(run / "nodes" / node / "couchdb.log")) << node;
  ExpectNothingLeft(ClusterId(run));
}

TEST_F(CouchdbRunTest, TheCarelessClientLosesTheLosingBranchsAdds) {
  const fs::path config = fs::path(store_).parent_path() / "careless.json";
  std::ofstream(config) << R"({"couchdb": {"resolve-conflicts": false}})";
  const int code = RunFaultline(PartitionArgs("set", {"--config", config.string()}));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 1) << Output() << results.dump(2);
  const json& set = results["checkers"]["set"];
  EXPECT_EQ(set["valid"], false) << set.dump(2);
  ASSERT_GT(set["lost_count"].get<int>(), 0) << set.dump(2);
  // Lost everywhere, not just on a node that lagged: the winner hides them on every node.
  const json& first = set["lost"][0];
  EXPECT_EQ(first["missing_on"].size(), 2u) << first.dump();
  const json test = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(test["couchdb"]["resolve-conflicts"], false);
  ExpectNothingLeft(ClusterId(run));
}

// "external": {"client": "couchdb"}: the user's own lifecycle commands start
// the server (here PouchDB Server on one node, as a user would start any
// CouchDB-API server), the built-in client drives it and creates the test's
// database itself.
TEST_F(CouchdbRunTest, TheExternalAdapterDrivesAUsersServerWithTheBuiltInClient) {
  const std::string server = FAULTLINE_SOURCE_DIR "/harness/stores/couchdb/server/node_modules/.bin/pouchdb-server";
  const json config = {
      {"db", "external"},
      {"external",
       {{"install", {"sh", "-c", R"(printf '{"log":{"file":"%s/log.txt"}}' "$1" > "$1/config.json")", "sh", "{dir}"}},
        {"start",
         {"env", "NODE_OPTIONS=--unhandled-rejections=warn", server, "--port", "{port}", "--host", "{address}", "--dir",
          "{dir}/data", "--config", "{dir}/config.json", "--no-color"}},
        {"health", {"curl", "-sf", "http://{address}:{port}/"}},
        {"client", "couchdb"},
        {"port", 5990}}}};
  const fs::path file = fs::path(store_).parent_path() / "external.json";
  std::ofstream(file) << config.dump();
  // One node: no replication between independent servers.
  const int code = RunFaultline(RunArgs({"--config", file.string(), "--workload", "register", "--time-limit", "3"}, 1));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 0) << Output() << results.dump(2);
  EXPECT_GT(results["checkers"]["lost-update"]["ok_count"].get<int>(), 0) << results.dump(2);
  EXPECT_EQ(json::parse(ReadFile(run / "test.json"))["external"]["client"], "couchdb");
  ExpectNothingLeft(ClusterId(run));
}

}  // namespace
}  // namespace faultline::test
