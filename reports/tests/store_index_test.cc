// The store index over a temp store laid out like a real one: run
// directories with real-shaped test.json/results.json, `latest` links, a run
// in progress (no results.json), a corrupt results.json, and folders that are
// not runs (dynastore's sources live in the repo's store/ too).
#include "reports/store_index.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "reports/tests/real_results.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class StoreIndexTest : public ::testing::Test {
 protected:
  void Run(const std::string& name, const std::string& ts, const json& test, const json* results,
           const std::string& raw_results = "") {
    const fs::path dir = store() / name / ts;
    fs::create_directories(dir / "nodes" / "n1");
    json t = test;
    t["name"] = name;
    std::ofstream(dir / "test.json") << t.dump(2);
    if (results != nullptr) std::ofstream(dir / "results.json") << results->dump(2);
    if (!raw_results.empty()) std::ofstream(dir / "results.json") << raw_results;
    std::error_code ec;
    fs::remove(store() / name / "latest", ec);
    fs::create_directory_symlink(ts, store() / name / "latest");
  }
  fs::path store() const { return tmp_.path() / "store"; }

  void SetUp() override {
    json counter_test = test::RealTestJson();
    counter_test["workload"] = "counter";
    counter_test["nemesis"] = "partition,kill";
    counter_test["local"] = 5;
    const json valid = test::RealValidResults(), invalid = test::RealInvalidResults(),
               counter = test::RealCounterInvalidResults(), failed = test::RealHarnessFailureResults();
    Run("nightly-set", "20261125T020000.000Z", test::RealTestJson(), &valid);
    Run("nightly-set", "20261126T020000.000Z", test::RealTestJson(), &invalid);
    Run("nightly-counter", "20261126T021500.500Z", counter_test, &counter);
    Run("nightly-counter", "20261127T021500.000Z", counter_test, &failed);
    Run("nightly-set", "20261127T020000.000Z", test::RealTestJson(), nullptr);  // in progress
    Run("nightly-set", "20261124T020000.000Z", test::RealTestJson(), nullptr, "{\"valid\": true, \"checkers\": {");
    std::ofstream(store() / "nightly-set" / "20261125T020000.000Z" / "report.html") << "<html></html>";
    fs::create_directory_symlink("nightly-set/20261127T020000.000Z", store() / "latest");
    // Not runs: dynastore's sources (the repo's store/), a suite summary, a stray file.
    fs::create_directories(store() / "src" / "ring");
    std::ofstream(store() / "src" / "ring" / "ring.cc") << "int x;";
    std::ofstream(store() / "src" / "main.cc") << "int main() {}";
    fs::create_directories(store() / "suites" / "nightly");
    std::ofstream(store() / "suites" / "nightly" / "20261127T020000.000Z.json") << "{}";
    std::ofstream(store() / "CMakeLists.txt") << "";
  }

  test::TempDir tmp_{"faultline-index-test"};
};

const json& RunAt(const json& data, const std::string& dir) {
  for (const json& r : data["runs"]) {
    if (r["dir"] == dir) return r;
  }
  static const json none;
  ADD_FAILURE() << "no run " << dir << " in " << data.dump(2);
  return none;
}

TEST_F(StoreIndexTest, ListsEveryRunNewestFirstAndNothingElse) {
  std::vector<std::string> warnings;
  const json data = StoreIndexData(store(), &warnings);
  EXPECT_EQ(data["kind"], "index");
  EXPECT_EQ(data["version"], 1);
  EXPECT_EQ(data["store_dir"], fs::absolute(store()).string());
  std::vector<std::string> dirs;
  for (const json& r : data["runs"]) dirs.push_back(r["dir"]);
  EXPECT_EQ(dirs, (std::vector<std::string>{"nightly-counter/20261127T021500.000Z", "nightly-set/20261127T020000.000Z",
                                            "nightly-counter/20261126T021500.500Z", "nightly-set/20261126T020000.000Z",
                                            "nightly-set/20261125T020000.000Z", "nightly-set/20261124T020000.000Z"}));
  // Only the corrupt results.json is a warning; a run in progress is not a problem.
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("20261124T020000.000Z: results.json is not valid JSON"), std::string::npos) << warnings[0];
}

TEST_F(StoreIndexTest, FieldsOfAValidRun) {
  const json r = RunAt(StoreIndexData(store()), "nightly-set/20261125T020000.000Z");
  EXPECT_EQ(r["name"], "nightly-set");
  EXPECT_EQ(r["report"], "nightly-set/20261125T020000.000Z/report.html");
  EXPECT_EQ(r["started"], "2026-11-25T02:00:00.000Z");
  EXPECT_EQ(r["db"], "dynastore");
  EXPECT_EQ(r["workload"], "set");
  EXPECT_EQ(r["nemesis"], json::array());
  EXPECT_EQ(r["nodes"], 3);
  EXPECT_EQ(r["time_limit"], 3.0);
  EXPECT_EQ(r["seed"], 3441935132u);
  EXPECT_EQ(r["ops"], (json{{"ok", 327}, {"fail", 17}, {"info", 0}}));
  EXPECT_EQ(r["valid"], true);
  EXPECT_EQ(r["incomplete"], false);
  EXPECT_EQ(r["error"], "");
  EXPECT_NE(r["summary"].get<std::string>().find("all 307 acknowledged adds"), std::string::npos);
  // recovered_count is 1 here, and recovered adds are no anomaly.
  EXPECT_EQ(r["anomalies"], json::object());
}

TEST_F(StoreIndexTest, AnomalyCountsPerCheckerAndKind) {
  const json data = StoreIndexData(store());
  const json& set = RunAt(data, "nightly-set/20261126T020000.000Z");
  EXPECT_EQ(set["valid"], false);
  EXPECT_EQ(set["anomalies"], (json{{"set.lost", 3}}));
  EXPECT_EQ(set["report"], nullptr);
  const json& counter = RunAt(data, "nightly-counter/20261126T021500.500Z");
  EXPECT_EQ(counter["anomalies"], (json{{"counter.errors", 1}}));
  EXPECT_EQ(counter["workload"], "counter");
  EXPECT_EQ(counter["nemesis"], (json{"partition", "kill"}));
  EXPECT_EQ(counter["nodes"], 5);
  EXPECT_EQ(counter["started"], "2026-11-26T02:15:00.500Z");
}

TEST_F(StoreIndexTest, LinearizableKeysCountAsAnomalies) {
  json cas_test = test::RealTestJson();
  cas_test["workload"] = "cas-register";
  const json results = {{"valid", false},
                        {"summary", "1 key is not linearizable"},
                        {"checkers",
                         {{"linearizable",
                           {{"valid", false},
                            {"summary", "1 key is not linearizable"},
                            {"keys", {{"checked", 3}, {"linearizable", 1}, {"non_linearizable", 1}, {"siblings", 1}}},
                            {"anomalies", json::array()}}}}}};
  Run("nightly-cas", "20261127T030000.000Z", cas_test, &results);
  const json data = StoreIndexData(store());
  const json& r = RunAt(data, "nightly-cas/20261127T030000.000Z");
  EXPECT_EQ(r["anomalies"], (json{{"linearizable.non_linearizable", 1}, {"linearizable.siblings", 1}}));
}

TEST_F(StoreIndexTest, BrokenAndUnfinishedRunsAreListedUnknown) {
  const json data = StoreIndexData(store());
  const json& in_progress = RunAt(data, "nightly-set/20261127T020000.000Z");
  EXPECT_EQ(in_progress["valid"], "unknown");
  EXPECT_EQ(in_progress["summary"], "no results.json (run in progress or crashed)");
  EXPECT_EQ(in_progress["ops"], nullptr);
  EXPECT_EQ(in_progress["workload"], "set");  // test.json is still read
  const json& corrupt = RunAt(data, "nightly-set/20261124T020000.000Z");
  EXPECT_EQ(corrupt["valid"], "unknown");
  EXPECT_NE(corrupt["error"].get<std::string>().find("results.json"), std::string::npos) << corrupt.dump();
  const json& failed = RunAt(data, "nightly-counter/20261127T021500.000Z");
  EXPECT_EQ(failed["valid"], "unknown");
  EXPECT_EQ(failed["incomplete"], true);
  EXPECT_NE(failed["error"].get<std::string>().find("did not start"), std::string::npos);
  EXPECT_EQ(failed["anomalies"], json::object());
}

TEST_F(StoreIndexTest, ACorruptTestJsonMakesTheRunUnknownButKeepsIt) {
  std::ofstream(store() / "nightly-set" / "20261126T020000.000Z" / "test.json") << "[1, 2";
  const json r = RunAt(StoreIndexData(store()), "nightly-set/20261126T020000.000Z");
  EXPECT_EQ(r["valid"], "unknown");
  EXPECT_EQ(r["name"], "nightly-set");  // from the directory
  EXPECT_NE(r["error"].get<std::string>().find("test.json"), std::string::npos) << r.dump();
  EXPECT_EQ(r["anomalies"], (json{{"set.lost", 3}}));  // results.json was still read
}

TEST_F(StoreIndexTest, WriteStoreIndexWritesOnePageWithTheDataInIt) {
  WriteStoreIndex(store());
  std::stringstream text;
  text << std::ifstream(store() / "index.html").rdbuf();
  const std::string html = text.str();
  EXPECT_FALSE(fs::exists(store() / "index.html.tmp"));
  EXPECT_NE(html.find("<title>faultline runs</title>"), std::string::npos);
  const std::string open = "<script type=\"application/json\" id=\"faultline-data\">";
  const size_t at = html.find(open);
  ASSERT_NE(at, std::string::npos);
  const size_t end = html.find("</script>", at);
  ASSERT_NE(end, std::string::npos);
  const json data = json::parse(html.substr(at + open.size(), end - at - open.size()));
  EXPECT_EQ(data["kind"], "index");
  EXPECT_EQ(data["runs"].size(), 6u);
  // A second write replaces the page; the index itself is not a run.
  WriteStoreIndex(store());
  EXPECT_EQ(StoreIndexData(store())["runs"].size(), 6u);
}

TEST_F(StoreIndexTest, AnEmptyOrMissingStoreHasNoRuns) {
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  EXPECT_EQ(StoreIndexData(empty)["runs"], json::array());
  EXPECT_THROW(StoreIndexData(tmp_.path() / "missing"), std::runtime_error);
}

}  // namespace
}  // namespace faultline
