// End-to-end runs of the real faultline binary with the external adapter:
// the worked example (examples/external-dynastore: dynastore driven by a
// Python client over HTTP) must pass the set and register workloads, and a
// client that crashes / hangs / prints garbage must give info ops, a log
// line in faultline.log and still a verdict. Runs from the
// source tree (the example's paths are relative to it); DYNASTORE_BIN names
// the built dynastore.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

class ExternalRunTest : public FaultlineRun {
 protected:
  void SetUp() override {
    FaultlineRun::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(::chdir(FAULTLINE_SOURCE_DIR), 0);
    ::setenv("DYNASTORE_BIN", DYNASTORE_BIN, 1);
  }
  // The example's config with another client program.
  std::string ConfigWithClient(const std::vector<std::string>& client) {
    std::ifstream in("examples/external-dynastore/config.json");
    json config = json::parse(in);
    config["external"]["client"] = client;
    const fs::path path = dir_ / "config.json";
    std::ofstream(path) << config.dump(2);
    return path.string();
  }
  size_t Count(const json& history_ops, const std::string& type) {
    size_t n = 0;
    for (const auto& op : history_ops) n += op.value("type", "") == type ? 1 : 0;
    return n;
  }
  json History(const fs::path& run) {
    json ops = json::array();
    std::ifstream in(run / "history.jsonl");
    for (std::string line; std::getline(in, line);) ops.push_back(json::parse(line));
    return ops;
  }
};

// One test per workload and per misbehaviour: each is a whole run, and
// ctest runs them side by side.
class ExternalExampleRunTest : public ExternalRunTest, public testing::WithParamInterface<const char*> {};

TEST_P(ExternalExampleRunTest, ExamplePasses) {
  const std::string workload = GetParam();
  const int code = RunFaultline({"run", "--config", "examples/external-dynastore/config.json", "--workload", workload,
                                 "--time-limit", "5", "--store-dir", store_.string(), "--seed", "5"});
  EXPECT_EQ(code, 0) << workload << ":\n" << Output();
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results["valid"], true) << results.dump(2);
  const json history = History(run);
  // The example's config has "client-ready": every worker's Python client
  // is up before the phase's clock starts, so the 5 s phase serves ops from
  // its start however loaded the machine.
  EXPECT_GT(Count(history, "ok"), 20u) << workload;
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "store.log"));
  ExpectNothingLeft(ClusterId(run));
}

INSTANTIATE_TEST_SUITE_P(Workloads, ExternalExampleRunTest, testing::Values("set", "register"),
                         [](const auto& info) { return std::string(info.param); });

class ExternalFlakyClientRunTest : public ExternalRunTest, public testing::WithParamInterface<const char*> {};

TEST_P(ExternalFlakyClientRunTest, GivesInfoOpsALogLineAndAVerdict) {
  // Each client process misbehaves on its first add: the set workload's
  // main phase is adds only, so every worker's first op meets it however
  // slowly the machine starts the clients (a later add may come after the
  // phase's time limit: under load a worker's first op took 7 s).
  const std::string mode = GetParam();
  const std::string config = ConfigWithClient(
      {"python3", std::string(FAULTLINE_SOURCE_DIR) + "/harness/stores/external/tests/external_flaky_client.py",
       "dynastore", mode, "1"});
  const int code = RunFaultline({"run", "--config", config, "--time-limit", "4", "--store-dir", store_.string(),
                                 "--seed", "9", "--op-timeout-ms", "500"});
  EXPECT_TRUE(code == 0 || code == 1) << mode << " exit " << code << ":\n" << Output();
  const fs::path run = LatestRun();
  EXPECT_GT(Count(History(run), "info"), 0u) << mode;
  const std::string log = ReadFile(run / "faultline.log");
  EXPECT_NE(log.find("external client `python3"), std::string::npos) << log;
  const char* expected = mode == "crash"  ? "exited with code 3"
                         : mode == "hang" ? "did not answer"
                                          : "not a JSON object";
  EXPECT_NE(log.find(expected), std::string::npos) << mode << ":\n" << log;
  ExpectNothingLeft(ClusterId(run));
}

INSTANTIATE_TEST_SUITE_P(Modes, ExternalFlakyClientRunTest, testing::Values("crash", "hang", "garbage"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace faultline::test
