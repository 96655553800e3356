// faultline suite: plan validation (unit, no root) and the real binary running
// a 2-run matrix on local namespace nodes, one run broken on purpose (--lww).
#include "harness/run/suite.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

// A plan error: the message, or "" when the plan is valid.
std::string PlanError(const json& plan, const json& overrides = json::object()) {
  try {
    ParseSuitePlan(plan, "plan.json", overrides, 7);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

json ExamplePlan() {
  return json::parse(R"js({"name": "nightly", "base": {"local": 3, "quiesce": 1},
    "stores": ["dynastore", {"db": "dynastore", "dynastore": {"w": 1}, "label": "dynastore-w1"}],
    "workloads": ["set", "register", {"workload": "counter", "time-limit": 30}],
    "nemeses": ["none", "partition", {"nemesis": "partition,kill", "nemesis-interval": 3, "label": "partition+kill"}],
    "test-count": 2, "time-limit": 60})js");
}

TEST(SuitePlanTest, TheReadmeExampleExpandsToEveryCombination) {
  const SuitePlan plan = ParseSuitePlan(ExamplePlan(), "plan.json", json::object(), 7);
  EXPECT_EQ(plan.name, "nightly");
  ASSERT_EQ(plan.combinations.size(), 18u);
  EXPECT_EQ(plan.total_runs(), 36);
  EXPECT_EQ(plan.store_dir, "store");
  const TestConfig& first = plan.combinations[0].config;
  EXPECT_EQ(first.name, "nightly-dynastore-set-none");
  EXPECT_EQ(first.time_limit, 60);
  EXPECT_EQ(first.test_count, 2);
  EXPECT_EQ(first.seed, 7u);
  EXPECT_EQ(first.local, 3);
  EXPECT_EQ(first.dynastore.w, 2);
  EXPECT_TRUE(first.nemesis.faults.empty());
  // The last: store w1 × counter (own time limit) × partition+kill (own interval).
  const SuiteCombination& last = plan.combinations.back();
  EXPECT_EQ(last.config.name, "nightly-dynastore-w1-counter-partition+kill");
  EXPECT_EQ(last.config.dynastore.w, 1);
  EXPECT_EQ(last.config.workload, "counter");
  EXPECT_EQ(last.config.time_limit, 30);
  EXPECT_EQ(last.config.nemesis.faults, (std::vector<std::string>{"partition", "kill"}));
  EXPECT_EQ(last.config.nemesis.interval_s, 3);
  EXPECT_EQ(last.where, "stores[1] \"dynastore-w1\" × workloads[2] \"counter\" × nemeses[2] \"partition+kill\"");
  // The command line's store dir wins; a given seed is kept.
  json plan_json = ExamplePlan();
  plan_json["seed"] = 99;
  const SuitePlan moved = ParseSuitePlan(plan_json, "plan.json", {{"store-dir", "/srv/runs"}}, 7);
  EXPECT_EQ(moved.store_dir, "/srv/runs");
  EXPECT_EQ(moved.combinations[5].config.store_dir, "/srv/runs");
  EXPECT_EQ(moved.combinations[5].config.seed, 99u);
}

TEST(SuitePlanTest, EveryMistakeIsNamedWithItsEntryAndField) {
  const auto expect = [](const json& plan, const std::string& expected) {
    const std::string error = PlanError(plan);
    EXPECT_NE(error.find(expected), std::string::npos) << "plan " << plan.dump() << "\ngave: " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  };
  const json ok = {{"name", "n"}, {"stores", {"dynastore"}}, {"workloads", {"set"}}};
  EXPECT_EQ(PlanError(ok), "");
  json p = ok;
  p["bogus"] = 1;
  expect(p, "plan.json: unknown key \"bogus\"");
  p = ok;
  p["stores"] = {"mongo"};
  expect(p, "stores[0] \"mongo\" × workloads[0] \"set\" × nemeses[0] \"none\": config: unknown \"db\" \"mongo\"");
  p = ok;
  p["stores"] = json::array();
  expect(p, "\"stores\" must be a non-empty array");
  p = ok;
  p.erase("workloads");
  expect(p, "\"workloads\" is missing");
  p = ok;
  p["workloads"] = {"set", {{"workload", "counter"}, {"rat", 3}}};
  expect(p, "workloads[1]: unknown key \"rat\"");
  p = ok;
  p["base"] = {{"time_limit", 3}, {"colour", "red"}};
  expect(p, "base: unknown key \"colour\"");
  p = ok;
  p["base"] = {{"time-limit", 3}};
  p["time_limit"] = 4;
  expect(p, "\"time-limit\" is given both at the top level and in \"base\"");
  p = ok;
  p["stores"] = {"dynastore", {{"dynastore", {{"w", 1}}}}};
  expect(p, "stores[0] and stores[1] have the same label \"dynastore\"");
  p = ok;
  p["stores"] = {{{"dynastore", {{"w", 1}}}, {"label", "a/b"}}};
  expect(p, "stores[0] label must be a non-empty name without '/'");
  p = ok;
  p["stores"] = {{{"dynastore", {{"w", 4}}}, {"label", "w4"}}};
  expect(p, "stores[0] \"w4\" × workloads[0] \"set\" × nemeses[0] \"none\": config: \"dynastore.w\"");
  p = ok;
  p["stores"] = {{{"dynastore", {{"wq", 4}}}, {"label", "w4"}}};
  expect(p, "unknown key \"dynastore.wq\"");
  p = ok;
  p["nemeses"] = {{{"nemesis", "partition"}, {"store-dir", "/x"}}};
  expect(p, "nemeses[0]: \"store-dir\" belongs at the plan's top level");
  p = ok;
  p["nemeses"] = {"partition", "flood"};
  expect(p, "nemeses[1] \"flood\": config: unknown fault \"flood\"");
  p = ok;
  p["nemeses"] = {{{"nemesis", "partition"}, {"name", "same"}}, {{"nemesis", "kill"}, {"name", "same"}}};
  expect(p, "are both named \"same\"");
  p = ok;
  p.erase("name");
  expect(p, "\"name\" must be given");
  expect(json::array(), "must be a JSON object");
}

// The shipped detection plan (issue 14): explicit cases instead of a matrix,
// each fault switch with the faults that expose it, 10 seeds each.
TEST(SuitePlanTest, TheDetectionPlanListsEachCaseWithItsOwnFaults) {
  const SuitePlan plan =
      LoadSuitePlan(fs::path(FAULTLINE_SOURCE_DIR) / "examples/suites/detection.json", json::object(), 7);
  ASSERT_EQ(plan.combinations.size(), 9u);
  EXPECT_EQ(plan.total_runs(), 90);
  const TestConfig& lww = plan.combinations[0].config;
  EXPECT_EQ(lww.name, "detection-lww-register-partition");
  EXPECT_EQ(lww.seed, 1u);
  EXPECT_EQ(lww.dynastore.args, (std::vector<std::string>{"--lww"}));
  EXPECT_EQ(lww.nemesis.final_s, 6);
  EXPECT_EQ(plan.combinations[0].where, "cases[0] \"lww-register-partition\"");
  const TestConfig& correct = plan.combinations.back().config;
  EXPECT_EQ(correct.workload, "counter");
  EXPECT_TRUE(correct.dynastore.args.empty());
  EXPECT_EQ(correct.nemesis.faults.size(), 5u);
}

TEST(SuitePlanTest, CasesAreCheckedLikeMatrixEntries) {
  const json ok = {{"name", "n"}, {"cases", {{{"label", "a"}, {"workload", "set"}}}}};
  EXPECT_EQ(PlanError(ok), "");
  json p = ok;
  p["cases"] = {{{"workload", "set"}}};
  EXPECT_NE(PlanError(p).find("cases[0] needs a \"label\""), std::string::npos) << PlanError(p);
  p = ok;
  p["stores"] = {"dynastore"};
  EXPECT_NE(PlanError(p).find("\"cases\" and \"stores\" are both given"), std::string::npos) << PlanError(p);
  p = ok;
  p["cases"] = {{{"label", "a"}, {"nemesis", "kill"}, {"nemesis-final", 90}}};
  EXPECT_NE(PlanError(p).find("cases[0] \"a\": config: \"nemesis-final\" must be >= 0 and less than"),
            std::string::npos)
      << PlanError(p);
  p = ok;
  p["cases"] = {{{"label", "a"}}, {{"label", "a"}}};
  EXPECT_NE(PlanError(p).find("cases[0] and cases[1] have the same label \"a\""), std::string::npos) << PlanError(p);
}

TEST_F(FaultlineRun, SuiteWithABadPlanExitsTwoAndCreatesNothing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"js({"name": "n", "stores": ["dynastore"], "workloads": ["set"], "colour": 1})js", "unknown key \"colour\""},
      {R"js({"name": "n", "stores": ["mongo"], "workloads": ["set"]})js", "unknown \"db\" \"mongo\""},
      {R"js({"name": "n", "stores": [], "workloads": ["set"]})js", "\"stores\" must be a non-empty array"},
      {R"js({"name": "n", "stores": ["dynastore"], "workloads": ["set"], "nemeses": ["none", "partition", {"nemesis": "kill", "nemesis-interval": 0}]})js",
       "nemeses[2] \"kill\": config: \"nemesis-interval\""},
      {R"js({"name": "n", "stores": ["dynastore"], )js", "not valid JSON"},
  };
  const fs::path plan = dir_ / "plan.json";
  for (const auto& [text, expected] : cases) {
    std::ofstream(plan) << text;
    fs::remove(dir_ / "out.txt");
    EXPECT_EQ(RunFaultline({"suite", plan.string(), "--store-dir", store_.string()}), 2) << Output();
    const std::string out = Output();
    EXPECT_NE(out.find(expected), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  EXPECT_FALSE(fs::exists(store_));
  fs::remove(dir_ / "out.txt");
  EXPECT_EQ(RunFaultline({"suite", (dir_ / "nonexistent.json").string()}), 2);
  EXPECT_NE(Output().find("nonexistent.json"), std::string::npos) << Output();
}

TEST_F(FaultlineRun, SuiteDryRunPrintsTheMatrixAndRunsNothing) {
  const fs::path plan = dir_ / "plan.json";
  std::ofstream(plan) << ExamplePlan().dump();
  ASSERT_EQ(RunFaultline({"suite", plan.string(), "--dry-run", "--store-dir", store_.string()}), 0) << Output();
  const std::string out = Output();
  EXPECT_NE(out.find("[36/36] nightly-dynastore-w1-counter-partition+kill"), std::string::npos) << out;
  EXPECT_NE(out.find("36 runs"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(store_));
}

TEST_F(FaultlineRun, SuiteRunsTheMatrixAndExitsWithTheWorstVerdict) {
  // Two runs: a sound dynastore, and one whose --lww drops concurrent adds to
  // a single key (as run_test.cc's LastWriteWins test: 12 workers, 300 ops/s).
  const json plan = {
      {"name", "e2e"},
      {"base", {{"local", 3}, {"time-limit", 3}, {"quiesce", 1}, {"seed", 12345}, {"rate", 60}}},
      {"stores",
       {"dynastore",
        {{"label", "lww"}, {"dynastore", {{"args", {"--lww"}}}}, {"keys", 1}, {"concurrency", 12}, {"rate", 300}}}},
      {"workloads", {"set"}},
      {"nemeses", {"none"}}};
  std::ofstream(dir_ / "plan.json") << plan.dump(2);
  const fs::path junit = dir_ / "suite-junit.xml";
  const int code =
      RunFaultline({"suite", (dir_ / "plan.json").string(), "--store-dir", store_.string(), "--junit", junit.string()});
  const std::string out = Output();
  ASSERT_EQ(code, 1) << out;
  EXPECT_NE(out.find("[1/2] valid    e2e-dynastore-set-none: "), std::string::npos) << out;
  EXPECT_NE(out.find("[2/2] invalid  e2e-lww-set-none: set: "), std::string::npos) << out;
  EXPECT_NE(out.find("suite e2e: invalid: 1 valid, 1 invalid, 0 unknown"), std::string::npos) << out;

  // Each run in its own directory, with its junit.xml; the index lists both.
  std::vector<fs::path> runs;
  for (const char* name : {"e2e-dynastore-set-none", "e2e-lww-set-none"}) {
    for (const auto& entry : fs::directory_iterator(store_ / name)) {
      if (!entry.is_symlink()) runs.push_back(entry.path());
    }
  }
  ASSERT_EQ(runs.size(), 2u);
  for (const fs::path& run : runs) {
    EXPECT_TRUE(fs::exists(run / "results.json")) << run;
    EXPECT_TRUE(fs::exists(run / "junit.xml")) << run;
    ExpectNothingLeft(ClusterId(run));
  }
  EXPECT_EQ(json::parse(ReadFile(runs[1] / "test.json"))["dynastore"]["args"], json({"--lww"}));
  const std::string index = ReadFile(store_ / "index.html");
  EXPECT_NE(index.find("\"e2e-lww-set-none/"), std::string::npos);
  EXPECT_NE(index.find("\"e2e-dynastore-set-none/"), std::string::npos);

  // The suite summary: every run's dir and verdict.
  std::vector<fs::path> summaries;
  for (const auto& entry : fs::directory_iterator(store_ / "suites" / "e2e")) summaries.push_back(entry.path());
  ASSERT_EQ(summaries.size(), 1u);
  const json summary = json::parse(ReadFile(summaries[0]));
  EXPECT_EQ(summary["valid"], false);
  EXPECT_EQ(summary["interrupted"], false);
  ASSERT_EQ(summary["runs"].size(), 2u);
  EXPECT_EQ(summary["runs"][0]["valid"], true);
  EXPECT_EQ(summary["runs"][1]["valid"], false);
  EXPECT_EQ(summary["runs"][1]["seed"], 12345);
  EXPECT_TRUE(fs::exists(store_ / summary["runs"][1]["dir"].get<std::string>() / "results.json")) << summary.dump(2);
  EXPECT_NE(summary["finished"], nullptr);

  // The combined JUnit file: one testsuite per run, the lww one failing.
  boost::property_tree::ptree doc;
  boost::property_tree::read_xml(junit.string(), doc);
  std::vector<std::pair<std::string, int>> suites;
  for (const auto& [tag, s] : doc.get_child("testsuites")) {
    if (tag == "testsuite") suites.emplace_back(s.get<std::string>("<xmlattr>.name"), s.get<int>("<xmlattr>.failures"));
  }
  EXPECT_EQ(suites, (std::vector<std::pair<std::string, int>>{{"e2e-dynastore-set-none", 0}, {"e2e-lww-set-none", 1}}));
}

TEST_F(FaultlineRun, SigintStopsTheSuiteAndTheRestIsNotRun) {
  const json plan = {{"name", "stop"},
                     {"base", {{"local", 3}, {"time-limit", 60}, {"quiesce", 1}, {"rate", 50}}},
                     {"stores", {"dynastore"}},
                     {"workloads", {"set", "register"}}};
  std::ofstream(dir_ / "plan.json") << plan.dump(2);
  pid_ = Start({"suite", (dir_ / "plan.json").string(), "--store-dir", store_.string()});
  const fs::path run = WaitForMainPhase(store_, 60s);
  ASSERT_FALSE(run.empty()) << Output();
  ASSERT_EQ(::kill(pid_, SIGINT), 0);
  EXPECT_EQ(Wait(pid_, 60s), 2) << Output();
  EXPECT_EQ(json::parse(ReadFile(run / "results.json"))["valid"], "unknown");
  EXPECT_FALSE(fs::exists(store_ / "stop-dynastore-register-none")) << "the second run must not start";
  ExpectNothingLeft(ClusterId(run));
  std::vector<fs::path> summaries;
  for (const auto& entry : fs::directory_iterator(store_ / "suites" / "stop")) summaries.push_back(entry.path());
  ASSERT_EQ(summaries.size(), 1u);
  const json summary = json::parse(ReadFile(summaries[0]));
  EXPECT_EQ(summary["interrupted"], true);
  EXPECT_EQ(summary["counts"]["not_run"], 1);
  EXPECT_EQ(summary["runs"][1]["dir"], nullptr);
  EXPECT_TRUE(fs::exists(store_ / "index.html"));
  EXPECT_NE(Output().find("(interrupted)"), std::string::npos) << Output();
}

}  // namespace
}  // namespace test
}  // namespace faultline
