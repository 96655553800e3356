// `faultline check --format jepsen-edn|jepsen-log`: the real binary on
// Jepsen-style histories (checkers/jepsen/tests/data): converted histories go
// through the workload's checkers and the verdict as JSONL histories do; flag
// mistakes exit 2 saying what to do.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/registry.h"
#include "testing/proc_support.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kData = JEPSEN_DATA_DIR;

class JepsenCheckTest : public ::testing::Test {
 protected:
  // Runs `faultline check ARGS...`; its exit code, stdout and stderr in out_.
  int Check(std::vector<std::string> args) {
    const fs::path out = tmp_.path() / "out.txt";
    args.insert(args.begin(), {FAULTLINE_BIN, "check"});
    const int code = test::RunToFile(args, out);
    out_ = test::ReadFile(out);
    return code;
  }
  bool OutputHas(const std::string& text) const { return out_.find(text) != std::string::npos; }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = tmp_.Sub(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  test::TempDir tmp_{"faultline-jepsen-check-test"};
  std::string out_;
};

bool HasCasRegister() { return WorkloadNames("|").find("cas-register") != std::string::npos; }

// The linearizable checker on a keyed etcd register history: valid, and a stale read on key 1 found.
TEST_F(JepsenCheckTest, CasRegisterHistoriesAreCheckedForLinearizability) {
  if (!HasCasRegister()) GTEST_SKIP() << "the cas-register workload is not in this build (branch lin-work)";
  EXPECT_EQ(
      Check({(kData / "etcd_register_valid.edn").string(), "--format", "jepsen-edn", "--workload", "cas-register"}), 0)
      << out_;
  EXPECT_TRUE(OutputHas("linearizable: valid")) << out_;
  EXPECT_TRUE(OutputHas("verdict: valid")) << out_;

  EXPECT_EQ(Check({(kData / "etcd_register_stale.edn").string(), "--format", "jepsen-edn", "--workload", "cas-register",
                   "--json"}),
            1)
      << out_;
  const json j = json::parse(out_);
  EXPECT_EQ(j["valid"], false);
  const json& lin = j["checkers"]["linearizable"];
  EXPECT_EQ(lin["valid"], false) << lin.dump(2);
  ASSERT_FALSE(lin["anomalies"].empty()) << lin.dump(2);
  EXPECT_EQ(lin["anomalies"][0]["key"], "1") << lin.dump(2);

  EXPECT_EQ(Check({(kData / "etcd_register.log").string(), "--format", "jepsen-log", "--workload", "cas-register"}), 0)
      << out_;
  EXPECT_TRUE(OutputHas("linearizable: valid")) << out_;
}

// Whatever the workload, the converted ops reach the checkers: the stats checker counts them.
TEST_F(JepsenCheckTest, ConvertedOpsReachTheCheckers) {
  EXPECT_EQ(Check({(kData / "etcd_register_valid.edn").string(), "--format", "jepsen-edn", "--workload", "register",
                   "--checkers", "stats", "--json"}),
            0)
      << out_;
  json j = json::parse(out_);
  EXPECT_EQ(j["checkers"]["stats"]["valid"], true) << j.dump(2);
  EXPECT_EQ(j["history"]["missing_index_count"], 0);
  const json& by_f = j["checkers"]["stats"]["by_f"];
  EXPECT_EQ(by_f["cas"]["ok"], 1) << j["checkers"]["stats"].dump(2);
  EXPECT_EQ(by_f["cas"]["fail"], 1);
  EXPECT_EQ(by_f["cas"]["info"], 1);
  EXPECT_EQ(by_f["read"]["ok"], 4);
  // The nemesis's :start/:stop open and close a fault window: 5 client ops completed inside it.
  EXPECT_EQ(j["checkers"]["stats"]["availability"]["ops_during_faults"], 5);

  EXPECT_EQ(Check({(kData / "etcd_register.log").string(), "--format", "jepsen-log", "--workload", "register",
                   "--checkers", "stats", "--json"}),
            0)
      << out_;
  j = json::parse(out_);
  EXPECT_EQ(j["checkers"]["stats"]["by_f"]["write"]["info"], 1) << j.dump(2);
}

TEST_F(JepsenCheckTest, FlagMistakesAndMalformedHistoriesExit2SayingWhy) {
  const std::string edn = (kData / "etcd_register_valid.edn").string();
  EXPECT_EQ(Check({edn, "--workload", "register"}), 2) << out_;
  EXPECT_TRUE(OutputHas("looks like a Jepsen history; check it with --format jepsen-edn --workload")) << out_;
  EXPECT_EQ(Check({(kData / "etcd_register.log").string(), "--workload", "register"}), 2) << out_;
  EXPECT_TRUE(OutputHas("check it with --format jepsen-log")) << out_;
  // An explicit --format jsonl is believed: the EDN is then malformed JSONL (skipped lines, verdict unknown).
  EXPECT_EQ(Check({edn, "--format", "jsonl", "--workload", "register", "--checkers", "stats"}), 2) << out_;
  EXPECT_FALSE(OutputHas("looks like a Jepsen history")) << out_;
  EXPECT_EQ(Check({edn, "--format", "jepsen-edn"}), 2) << out_;
  EXPECT_TRUE(OutputHas("--format jepsen-edn needs --workload")) << out_;
  EXPECT_EQ(Check({edn, "--format", "edn", "--workload", "register"}), 2) << out_;
  EXPECT_TRUE(OutputHas("unknown --format \"edn\"; use jsonl, jepsen-edn or jepsen-log")) << out_;
  EXPECT_EQ(Check({tmp_.path().string(), "--format", "jepsen-log", "--workload", "register"}), 2) << out_;
  EXPECT_TRUE(OutputHas("is a directory")) << out_;

  const std::string bad = Write("bad.edn",
                                "{:type :invoke, :f :read, :process 0, :value nil}\n"
                                "{:type :ok, :f :read, :process 0, :value #inst \"2017-01-01\"}\n");
  EXPECT_EQ(Check({bad, "--format", "jepsen-edn", "--workload", "register"}), 2) << out_;
  EXPECT_TRUE(OutputHas(bad + " line 2 column 42: tagged literal #inst is not supported")) << out_;
  const std::string bad_log = Write("bad.log", "INFO  jepsen.util - 0\t:invoke\t:read\n");
  EXPECT_EQ(Check({bad_log, "--format", "jepsen-log", "--workload", "register"}), 2) << out_;
  EXPECT_TRUE(OutputHas(bad_log + " line 1 column 21: an op line needs 4 tab-separated fields")) << out_;
}

}  // namespace
}  // namespace faultline
