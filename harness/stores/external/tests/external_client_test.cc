// ExternalClient with real child processes: a well-behaved program, and the
// fixture harness/stores/external/tests/external_flaky_client.py crashing, hanging, printing
// garbage or a wrong id on its Nth request. Each case must give an info op
// (never a hang), one log line naming the client and what happened, and a
// restarted program for the next op. No store needed (memory backend).
#include "harness/stores/external/external_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_remote.h"
#include "harness/stores/external/external_db.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kFixture =
    std::string(FAULTLINE_SOURCE_DIR) + "/harness/stores/external/tests/external_flaky_client.py";

class ExternalClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<ExternalClient> Make(const std::string& mode, int n, std::chrono::milliseconds timeout = 1000ms,
                                       bool ready_line = false, std::chrono::milliseconds startup_grace = 10000ms) {
    ExternalClientSpec spec;
    spec.ready_line = ready_line;
    spec.startup_grace = startup_grace;
    spec.argv = {"python3", kFixture, "memory", mode, std::to_string(n)};
    spec.node = "n1";
    spec.address = "10.0.0.2";
    spec.nodes = {{"n1", "10.0.0.2"}};
    spec.log = [this](const std::string& line) {
      std::lock_guard lock(mu_);
      logs_.push_back(line);
    };
    return std::make_unique<ExternalClient>(spec, ClientOptions{timeout, WorkloadKind::kSet});
  }
  std::string Logs() {
    std::lock_guard lock(mu_);
    std::string all;
    for (const auto& l : logs_) all += l + "\n";
    return all;
  }
  size_t LogCount() {
    std::lock_guard lock(mu_);
    return logs_.size();
  }
  std::mutex mu_;
  std::vector<std::string> logs_;
};

TEST_F(ExternalClientTest, WellBehavedProgramServesEveryOp) {
  auto c = Make("none", 0);
  for (int i = 0; i < 5; ++i) {
    Completion r = c->Invoke({"add", "k1", i});
    ASSERT_EQ(r.type, OpType::kOk) << r.error;
    EXPECT_EQ(r.value, i);
  }
  Completion read = c->Invoke({"read", "k1", nullptr});
  ASSERT_EQ(read.type, OpType::kOk);
  EXPECT_EQ(read.value, json::array({0, 1, 2, 3, 4}));
  EXPECT_EQ(c->starts(), 1);
  EXPECT_FALSE(c->ReadReplicas("k1").has_value());  // "unsupported"
  EXPECT_EQ(LogCount(), 0u) << Logs();
}

TEST_F(ExternalClientTest, CrashIsInfoWithALogLineAndARestart) {
  auto c = Make("crash", 3);
  EXPECT_EQ(c->Invoke({"add", "k1", 1}).type, OpType::kOk);
  EXPECT_EQ(c->Invoke({"add", "k1", 2}).type, OpType::kOk);
  Completion crashed = c->Invoke({"add", "k1", 3});
  EXPECT_EQ(crashed.type, OpType::kInfo);
  EXPECT_EQ(crashed.value, 3);  // the write's value stays in the history
  EXPECT_NE(crashed.error.find("exited with code 3"), std::string::npos) << crashed.error;
  const std::string log = Logs();
  EXPECT_NE(log.find("external client `python3 " + kFixture), std::string::npos) << log;
  EXPECT_NE(log.find("exited with code 3"), std::string::npos) << log;
  EXPECT_NE(log.find("crashing on purpose"), std::string::npos) << log;  // its stderr
  Completion after = c->Invoke({"add", "k1", 4});
  EXPECT_EQ(after.type, OpType::kOk) << after.error;
  EXPECT_EQ(c->starts(), 2);
}

TEST_F(ExternalClientTest, HangIsInfoWithinTheTimeout) {
  auto c = Make("hang", 2, 300ms);
  EXPECT_EQ(c->Invoke({"add", "k1", 1}).type, OpType::kOk);
  const auto start = Clock::now();
  Completion hung = c->Invoke({"add", "k1", 2});
  const auto took = Clock::now() - start;
  EXPECT_EQ(hung.type, OpType::kInfo);
  EXPECT_GE(took, 300ms);  // it waited the op timeout (a lower bound holds on any machine), then killed it
  EXPECT_NE(Logs().find("did not answer request 2"), std::string::npos) << Logs();
  EXPECT_EQ(c->Invoke({"add", "k1", 3}).type, OpType::kOk);
  EXPECT_EQ(c->starts(), 2);
}

TEST_F(ExternalClientTest, GarbageIsInfoAndTheLogQuotesIt) {
  auto c = Make("garbage", 2);  // the Nth request of each process: the restarted one behaves for one op
  EXPECT_EQ(c->Invoke({"add", "k1", 0}).type, OpType::kOk);
  Completion g = c->Invoke({"add", "k1", 1});
  EXPECT_EQ(g.type, OpType::kInfo);
  EXPECT_NE(Logs().find("this is not json {"), std::string::npos) << Logs();
  EXPECT_EQ(c->Invoke({"add", "k1", 2}).type, OpType::kOk);
}

TEST_F(ExternalClientTest, WrongIdIsInfo) {
  auto c = Make("wrong-id", 2);
  EXPECT_EQ(c->Invoke({"add", "k1", 0}).type, OpType::kOk);
  EXPECT_EQ(c->Invoke({"add", "k1", 1}).type, OpType::kInfo);
  EXPECT_NE(Logs().find("replied with id 1002"), std::string::npos) << Logs();
  EXPECT_EQ(c->Invoke({"add", "k1", 2}).type, OpType::kOk);
}

TEST_F(ExternalClientTest, OpenStartsTheProgramAndTheFirstOpUsesIt) {
  auto c = Make("none", 0);
  c->Open();
  EXPECT_EQ(c->starts(), 1);
  EXPECT_EQ(c->Invoke({"add", "k1", 1}).type, OpType::kOk);
  EXPECT_EQ(c->starts(), 1);
  EXPECT_EQ(LogCount(), 0u) << Logs();
}

TEST_F(ExternalClientTest, OpenWaitsForTheReadyLine) {
  auto c = Make("slow-ready", 0, 1000ms, /*ready_line=*/true);
  const auto start = Clock::now();
  c->Open();
  EXPECT_GE(Clock::now() - start, 500ms);  // the program sleeps that long before its ready line
  Completion r = c->Invoke({"add", "k1", 1});
  EXPECT_EQ(r.type, OpType::kOk) << r.error;
  EXPECT_EQ(c->starts(), 1);
  EXPECT_EQ(LogCount(), 0u) << Logs();
}

// Final reads and replica reads use clients nobody opened: the program's
// first line is still its ready line, not a reply.
TEST_F(ExternalClientTest, AProgramStartedByAnOpPrintsItsReadyLineBeforeItsReply) {
  auto c = Make("crash", 2, 1000ms, /*ready_line=*/true);
  EXPECT_EQ(c->Invoke({"add", "k1", 1}).type, OpType::kOk);
  EXPECT_EQ(c->Invoke({"add", "k1", 2}).type, OpType::kInfo);  // the crash
  Completion r = c->Invoke({"add", "k1", 3});                  // a new process, a new ready line
  EXPECT_EQ(r.type, OpType::kOk) << r.error;
  EXPECT_EQ(c->starts(), 2);
  EXPECT_EQ(Logs().find("ready line"), std::string::npos) << Logs();
}

TEST_F(ExternalClientTest, AProgramNeverReadyIsKilledLoggedAndStartedAgainByItsFirstOp) {
  auto c = Make("not-ready", 0, 1000ms, /*ready_line=*/true, /*startup_grace=*/300ms);
  c->Open();
  EXPECT_NE(Logs().find("printed no ready line within 300 ms"), std::string::npos) << Logs();
  // The new process prints no ready line either: its reply stands where the
  // ready line should, and the op is info.
  Completion r = c->Invoke({"add", "k1", 1});
  EXPECT_EQ(r.type, OpType::kInfo);
  EXPECT_NE(r.error.find("instead of its ready line"), std::string::npos) << r.error;
  EXPECT_EQ(c->starts(), 2);
}

TEST_F(ExternalClientTest, AWrongReadyLineIsLoggedAndTheProgramKilled) {
  auto c = Make("bad-ready", 0, 1000ms, /*ready_line=*/true);
  c->Open();
  EXPECT_NE(Logs().find("instead of its ready line"), std::string::npos) << Logs();
  EXPECT_NE(Logs().find("{\"ready\": false}"), std::string::npos) << Logs();
  // Started again by the op, it prints the wrong line where the reply
  // should be: garbage, so info.
  EXPECT_EQ(c->Invoke({"add", "k1", 1}).type, OpType::kInfo);
  EXPECT_EQ(c->starts(), 2);
}

TEST_F(ExternalClientTest, MissingProgramIsAFailNothingWasSent) {
  ExternalClientSpec spec;
  spec.argv = {"/nonexistent/faultline-client"};
  spec.node = "n1";
  std::string logged;
  spec.log = [&](const std::string& line) { logged += line; };
  ExternalClient c(spec, ClientOptions{500ms, WorkloadKind::kSet});
  Completion r = c.Invoke({"add", "k1", 1});
  EXPECT_EQ(r.type, OpType::kFail);
  EXPECT_NE(logged.find("/nonexistent/faultline-client"), std::string::npos) << logged;
}

TEST(ExternalTemplateTest, ExpandsNodeFieldsAndEnvironment) {
  NodeInfo n1{"n1", "10.1.2.2", "/tmp/x/n1", nullptr};
  NodeInfo n2{"n2", "10.1.2.3", "/tmp/x/n2", nullptr};
  ::setenv("FAULTLINE_TEMPLATE_TEST", "/opt/store", 1);
  EXPECT_EQ(ExpandTemplate("{dir}/data", n1, {n1, n2}, 0), "/tmp/x/n1/data");
  EXPECT_EQ(ExpandTemplate("{address}:{port}", n2, {n1, n2}, 7000), "10.1.2.3:7000");
  EXPECT_EQ(ExpandTemplate("--id={name}", n2, {n1, n2}, 0), "--id=n2");
  EXPECT_EQ(ExpandTemplate("{nodes}", n1, {n1, n2}, 0), "n1=10.1.2.2,n2=10.1.2.3");
  EXPECT_EQ(ExpandTemplate("{env:FAULTLINE_TEMPLATE_TEST}/bin", n1, {n1}, 0), "/opt/store/bin");
  EXPECT_EQ(ExpandTemplate("{\"json\": 1} {other}", n1, {n1}, 0), "{\"json\": 1} {other}");  // not ours: kept
  EXPECT_THROW(ExpandTemplate("{env:FAULTLINE_SURELY_UNSET_VAR}", n1, {n1}, 0), HarnessError);
}

// {env:VAR} values are often secrets (tokens, passwords): errors and log
// lines show the template, also where the value comes back from below (a
// command's stderr, a Remote's own message).
TEST(ExternalSecretsTest, EnvValuesNeverReachErrorsOrTheLog) {
  const std::string secret = "tok-" + std::to_string(::getpid()) + "-s3cr3t";
  const std::string shown = "{env:FAULTLINE_TEST_SECRET}";
  ::setenv("FAULTLINE_TEST_SECRET", secret.c_str(), 1);
  test::TempDir dir("faultline-external-secret-test");
  LocalRemote host("n1", "");
  NodeInfo node{"n1", "127.0.0.1", (dir.path() / "n1").string(), &host};
  ExternalOptions o;
  o.install = {"sh", "-c", "echo \"bad token $0\" >&2; exit 3", shown};
  o.start = {"sleep", "30", "--token=" + shown};
  o.health = {"sh", "-c", "echo \"unhealthy with $0\"; exit 1", shown};
  o.client = {"/nonexistent/faultline-client", "--token=" + shown};
  ExternalDb db(o);
  std::mutex mu;
  std::string logged;
  db.SetLog([&](const std::string& line) {
    std::lock_guard lock(mu);
    logged += line + "\n";
  });
  std::vector<std::string> messages;
  try {
    db.Install({node});
    ADD_FAILURE() << "install should fail";
  } catch (const HarnessError& e) {
    messages.push_back(e.what());
  }
  db.Start(node);
  try {
    db.WaitHealthy(node, 300ms);
    ADD_FAILURE() << "health should fail";
  } catch (const HarnessError& e) {
    messages.push_back(e.what());
  }
  const Completion c = db.NewClient(node, ClientOptions{500ms, WorkloadKind::kSet})->Invoke({"add", "k1", 1});
  EXPECT_EQ(c.type, OpType::kFail);
  messages.push_back(c.error);
  db.Stop(node);
  {
    std::lock_guard lock(mu);
    messages.push_back(logged);
  }
  for (const std::string& m : messages) {
    EXPECT_EQ(m.find(secret), std::string::npos) << m;
    EXPECT_NE(m.find(shown), std::string::npos) << m;  // still says which value it was
  }
  ::unsetenv("FAULTLINE_TEST_SECRET");
}

}  // namespace
}  // namespace faultline
