// Clock skew through libfaketime on a real dynastore (LocalRemote on this
// host, 127.0.0.1, free ports, temp dir): the store's GET /status
// wall_clock_ms, compared with this process's own clock, must follow the
// offset file. libfaketime re-reads the file within 1 s, so every check
// polls with a deadline. TearDown stops the store, also after a failure.
#include "nemesis/clock_fault.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "harness/stores/http_connection.h"
#include "testing/dynastore_test_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::ReadFile;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The live process whose argv[0] is `binary`, or -1.
int PidOf(const std::string& binary) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string argv0;
    if (std::getline(in, argv0, '\0') && argv0 == binary) return std::stoi(name);
  }
  return -1;
}

class ClockFaultTest : public test::DynastoreNodesTest {
 protected:
  ClockFaultTest() : DynastoreNodesTest("faultline-clock") {}

  // One node running dynastore under libfaketime, its clock file at +0, as
  // the runner sets it up.
  void Up() {
    MakeNodes(1);
    DynastoreOptions o = test::LoopbackOptions();
    o.sync = false;
    o.node_env = FaketimeEnv;
    db_ = std::make_unique<DynastoreDb>(o);
    db_->Install(nodes_);
    SetClockOffset(nodes_[0], 0);
    db_->Start(nodes_[0]);
    db_->WaitHealthy(nodes_[0], milliseconds(10000));
    conn_ = std::make_unique<HttpConnection>(nodes_[0].address, o.http_port);
  }

  // The store's wall clock minus ours (ms), measured at the request's midpoint.
  std::optional<int64_t> Skew() {
    const int64_t before = NowMs();
    HttpResult r = conn_->Request("GET", "/status", "", Clock::now() + milliseconds(2000));
    const int64_t after = NowMs();
    if (!r.ok() || r.status != 200) return std::nullopt;
    json status = json::parse(r.body, nullptr, false);
    if (!status.is_object() || !status.contains("wall_clock_ms")) return std::nullopt;
    return status["wall_clock_ms"].get<int64_t>() - (before + after) / 2;
  }

  // Polls until the skew is within `tolerance` of `expected_ms`.
  ::testing::AssertionResult SkewBecomes(int64_t expected_ms, int64_t tolerance = 1000,
                                         milliseconds timeout = milliseconds(3000)) {
    auto deadline = Clock::now() + timeout;
    std::optional<int64_t> last;
    while (Clock::now() < deadline) {
      last = Skew();
      if (last && std::abs(*last - expected_ms) <= tolerance) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(milliseconds(50));
    }
    return ::testing::AssertionFailure() << "skew never near " << expected_ms << " ms; last "
                                         << (last ? std::to_string(*last) + " ms" : "no answer");
  }

  // Starts `fault` with the first seed whose draw is `mode` and passes `accept`.
  json StartWithMode(ClockFault& fault, const std::string& mode, const std::function<bool(const json&)>& accept) {
    for (uint64_t seed = 1; seed < 100; ++seed) {
      std::mt19937_64 rng(seed);
      json detail = fault.Start(rng);
      if (detail["mode"] == mode && accept(detail)) return detail;
      fault.Stop();
    }
    ADD_FAILURE() << "no seed below 100 draws " << mode;
    return json();
  }

  NemesisConfig Config(int skew_ms, int period_ms = 1000) {
    NemesisConfig c;
    c.targets = {"all"};
    c.clock_skew_ms = skew_ms;
    c.clock_strobe_period_ms = period_ms;
    return c;
  }

  std::unique_ptr<HttpConnection> conn_;
};

TEST_F(ClockFaultTest, FaketimeEnvPreloadsLibfaketimeAndNamesTheClockFile) {
  MakeNodes(1);
  std::map<std::string, std::string> env;
  for (const auto& [key, value] : FaketimeEnv(nodes_[0])) env[key] = value;
  ASSERT_TRUE(env.count("LD_PRELOAD"));
  EXPECT_TRUE(fs::is_regular_file(env["LD_PRELOAD"])) << env["LD_PRELOAD"];
  EXPECT_NE(env["LD_PRELOAD"].find("libfaketime.so.1"), std::string::npos) << env["LD_PRELOAD"];
  EXPECT_EQ(ClockFile(nodes_[0]), (dir_ / "n1" / "faketime.rc").string());
  EXPECT_EQ(env["FAKETIME_TIMESTAMP_FILE"], ClockFile(nodes_[0]));
  EXPECT_EQ(env["FAKETIME_DONT_FAKE_MONOTONIC"], "1");
  EXPECT_EQ(env["FAKETIME_CACHE_DURATION"], "0");
}

TEST_F(ClockFaultTest, SetClockOffsetWritesLibfaketimeRelativeOffsets) {
  MakeNodes(1);
  const fs::path file = ClockFile(nodes_[0]);
  for (auto [ms, text] : std::vector<std::pair<int64_t, std::string>>{
           {60000, "+60.000"}, {-30000, "-30.000"}, {-250, "-0.250"}, {1, "+0.001"}, {0, "+0.000"}}) {
    SetClockOffset(nodes_[0], ms);  // creates the node's directory the first time
    EXPECT_EQ(ReadFile(file), text + "\n") << ms;
  }
}

// Issue 14: the offset was staged at a guessable /tmp name
// (faultline-faketime-<pid>-<n>.rc), so a local user's symlink there made
// root overwrite any file. Plant one at every name the old scheme could use.
TEST_F(ClockFaultTest, SetClockOffsetNeverWritesThroughAPlantedTmpSymlink) {
  MakeNodes(1);
  const fs::path victim = fs::temp_directory_path() / ("faultline-clock-victim-" + std::to_string(::getpid()));
  { std::ofstream(victim) << "precious\n"; }
  std::vector<fs::path> planted;
  for (int n = 0; n < 1000; ++n) {
    planted.push_back(fs::temp_directory_path() /
                      ("faultline-faketime-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".rc"));
    std::error_code ec;
    fs::create_symlink(victim, planted.back(), ec);
  }
  SetClockOffset(nodes_[0], 1500);
  EXPECT_EQ(ReadFile(ClockFile(nodes_[0])), "+1.500\n");
  EXPECT_EQ(ReadFile(victim), "precious\n");
  std::error_code ec;
  for (const fs::path& p : planted) fs::remove(p, ec);
  fs::remove(victim, ec);
}

TEST_F(ClockFaultTest, StoreWallClockFollowsTheOffsetFile) {
  Up();
  EXPECT_TRUE(SkewBecomes(0));  // the file said +0 from the start
  SetClockOffset(nodes_[0], 60000);
  EXPECT_TRUE(SkewBecomes(60000));
  SetClockOffset(nodes_[0], -30000);
  EXPECT_TRUE(SkewBecomes(-30000));
  SetClockOffset(nodes_[0], 0);
  EXPECT_TRUE(SkewBecomes(0));

  // libfaketime leaves its shared memory behind when the store is
  // SIGKILLed; the adapter removes it.
  const int pid = PidOf(nodes_[0].dir + "/dynastore");
  ASSERT_GT(pid, 0);
  const fs::path shm = "/dev/shm/faketime_shm_" + std::to_string(pid);
  const fs::path sem = "/dev/shm/sem.faketime_sem_" + std::to_string(pid);
  ASSERT_TRUE(fs::exists(shm)) << "libfaketime is not loaded into the store";
  db_->Kill(nodes_[0]);
  EXPECT_FALSE(fs::exists(shm));
  EXPECT_FALSE(fs::exists(sem));
}

TEST_F(ClockFaultTest, BumpShiftsTheTargetsClockAndStopResetsIt) {
  Up();
  ClockFault clock(nodes_, Config(20000));
  json detail = StartWithMode(clock, "bump", [](const json& d) {
    return std::abs(d["offsets_ms"]["n1"].get<int64_t>()) >= 5000;  // tell it from 0 at once
  });
  ASSERT_FALSE(detail.is_null());
  EXPECT_EQ(detail["targets"], json({"n1"}));
  const int64_t offset = detail["offsets_ms"]["n1"];
  EXPECT_LE(std::abs(offset), 20000);
  EXPECT_TRUE(SkewBecomes(offset));
  ASSERT_EQ(clock.Verify().size(), 1u);

  EXPECT_EQ(clock.Stop(), json({{"reset", {"n1"}}}));
  EXPECT_TRUE(clock.Verify().empty());
  EXPECT_TRUE(SkewBecomes(0));
}

TEST_F(ClockFaultTest, BumpOffsetsAreNonzeroAndWithinTheSkew) {
  MakeNodes(3);
  ClockFault clock(nodes_, Config(3));  // tiny skew: offsets in [-3, 3], never 0
  std::set<int64_t> seen;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    json detail = clock.Start(rng);
    if (detail["mode"] == "bump") {
      ASSERT_EQ(detail["offsets_ms"].size(), 3u);
      for (const auto& [node, ms] : detail["offsets_ms"].items()) {
        const int64_t v = ms;
        EXPECT_TRUE(v != 0 && std::abs(v) <= 3) << v;
        seen.insert(v);
      }
    }
    clock.Stop();
  }
  EXPECT_GE(seen.size(), 4u);  // spread, not one value
  EXPECT_TRUE(clock.Verify().empty());
}

TEST_F(ClockFaultTest, StrobeFlipsTheClockUntilStop) {
  Up();
  ClockFault clock(nodes_, Config(20000, 1000));
  json detail = StartWithMode(clock, "strobe", [](const json&) { return true; });
  ASSERT_FALSE(detail.is_null());
  EXPECT_EQ(detail, json({{"targets", {"n1"}}, {"mode", "strobe"}, {"delta_ms", 20000}, {"period_ms", 1000}}));
  // Both sides of the flip, more than once.
  std::vector<int64_t> sides;
  auto deadline = Clock::now() + milliseconds(10000);
  while (Clock::now() < deadline && sides.size() < 4) {
    std::optional<int64_t> skew = Skew();
    if (skew && (std::abs(*skew) <= 1000 || std::abs(*skew - 20000) <= 1000)) {
      const int64_t side = std::abs(*skew) <= 1000 ? 0 : 20000;
      if (sides.empty() || sides.back() != side) sides.push_back(side);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_GE(sides.size(), 4u) << "the clock did not flip back and forth";

  EXPECT_EQ(clock.Stop(), json({{"reset", {"n1"}}}));
  EXPECT_TRUE(clock.Verify().empty());
  EXPECT_TRUE(SkewBecomes(0));
  EXPECT_EQ(ReadFile(ClockFile(nodes_[0])), "+0.000\n");  // the strobe thread is gone
}

TEST_F(ClockFaultTest, VerifyReportsSkewedAndMissingClocksAndHealAllResetsThem) {
  MakeNodes(3);
  SetClockOffset(nodes_[0], 5000);
  SetClockOffset(nodes_[1], 0);
  // n3 has no clock file at all.
  ClockFault clock(nodes_, Config(1000));
  std::vector<std::string> problems = clock.Verify();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].rfind("n1:", 0), 0u) << problems[0];
  EXPECT_NE(problems[0].find("+5.000"), std::string::npos) << problems[0];
  EXPECT_EQ(problems[1].rfind("n3:", 0), 0u) << problems[1];

  EXPECT_EQ(clock.HealAll(), json({{"reset", {"n1", "n2", "n3"}}}));
  EXPECT_TRUE(clock.Verify().empty());
  for (const NodeInfo& node : nodes_) EXPECT_EQ(ReadFile(ClockFile(node)), "+0.000\n") << node.name;
}

TEST_F(ClockFaultTest, HealAllStopsAStrobe) {
  MakeNodes(3);
  ClockFault clock(nodes_, Config(1000, 50));
  json detail = StartWithMode(clock, "strobe", [](const json&) { return true; });
  ASSERT_FALSE(detail.is_null());
  EXPECT_EQ(detail["targets"], json({"n1", "n2", "n3"}));
  EXPECT_FALSE(clock.Verify().empty());  // strobing
  clock.HealAll();
  std::this_thread::sleep_for(milliseconds(150));  // three periods: a strobe still running would have written
  EXPECT_TRUE(clock.Verify().empty());
}

}  // namespace
}  // namespace faultline
