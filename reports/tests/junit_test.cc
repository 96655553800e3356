// junit.xml on real results.json shapes: valid, invalid with anomalies, an
// interrupted (unknown) run, a harness failure with no checkers, hostile
// strings. Every document is parsed back (Boost.PropertyTree's XML parser,
// and libxml2's xmllint --noout, installed by scripts/setup).
#include "reports/junit.h"

#include <gtest/gtest.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <fstream>
#include <sstream>

#include "reports/tests/real_results.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using json = nlohmann::json;

pt::ptree Parse(const std::string& xml) {
  std::istringstream in(xml);
  pt::ptree tree;
  pt::read_xml(in, tree);  // throws on malformed XML
  return tree;
}

// Well-formedness by libxml2 too.
void ExpectXmllintAccepts(const std::string& xml, const fs::path& dir) {
  ASSERT_EQ(std::system("command -v xmllint >/dev/null 2>&1"), 0) << "xmllint missing: run scripts/setup";
  const fs::path file = dir / "check.xml";
  std::ofstream(file) << xml;
  const std::string cmd = "xmllint --noout " + file.string() + " 2>" + (dir / "xmllint.err").string();
  std::ifstream err_in;
  const int rc = std::system(cmd.c_str());
  std::stringstream err;
  err << std::ifstream(dir / "xmllint.err").rdbuf();
  EXPECT_EQ(rc, 0) << err.str() << "\n" << xml;
}

const pt::ptree& Suite(const pt::ptree& doc) { return doc.get_child("testsuites.testsuite"); }

std::vector<const pt::ptree*> Cases(const pt::ptree& suite) {
  std::vector<const pt::ptree*> out;
  for (const auto& [tag, child] : suite) {
    if (tag == "testcase") out.push_back(&child);
  }
  return out;
}

std::string Property(const pt::ptree& suite, const std::string& name) {
  for (const auto& [tag, p] : suite.get_child("properties")) {
    if (tag == "property" && p.get<std::string>("<xmlattr>.name") == name) return p.get<std::string>("<xmlattr>.value");
  }
  return "<missing>";
}

class JunitTest : public ::testing::Test {
 protected:
  test::TempDir tmp_{"faultline-junit-test"};
  // A run directory named like the runner's.
  fs::path RunDir() const { return tmp_.path() / "lww-set" / "20261127T101014.394Z"; }
};

TEST_F(JunitTest, ValidRunIsOneTestcasePerCheckerWithTheRepeatCommand) {
  const std::string xml = JunitXml(test::RealValidResults(), test::RealTestJson(), RunDir().string());
  ExpectXmllintAccepts(xml, tmp_.path());
  const pt::ptree doc = Parse(xml);
  const pt::ptree& suite = Suite(doc);
  EXPECT_EQ(suite.get<std::string>("<xmlattr>.name"), "lww-set");
  EXPECT_EQ(suite.get<int>("<xmlattr>.tests"), 3);
  EXPECT_EQ(suite.get<int>("<xmlattr>.failures"), 0);
  EXPECT_EQ(suite.get<int>("<xmlattr>.errors"), 0);
  EXPECT_EQ(suite.get<std::string>("<xmlattr>.timestamp"), "2026-11-27T10:10:14");
  EXPECT_EQ(suite.get<double>("<xmlattr>.time"), 0.0);  // no history in this run dir
  std::vector<std::string> names;
  for (const pt::ptree* c : Cases(suite)) {
    EXPECT_EQ(c->get<std::string>("<xmlattr>.classname"), "faultline.lww-set");
    EXPECT_FALSE(c->get_child_optional("failure"));
    EXPECT_FALSE(c->get_child_optional("error"));
    names.push_back(c->get<std::string>("<xmlattr>.name"));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"convergence", "set", "stats"}));
  EXPECT_EQ(Property(suite, "seed"), "3441935132");
  EXPECT_EQ(Property(suite, "db"), "dynastore");
  EXPECT_EQ(Property(suite, "workload"), "set");
  EXPECT_EQ(Property(suite, "nemesis"), "none");
  EXPECT_EQ(Property(suite, "run_dir"), RunDir().string());
  EXPECT_EQ(Property(suite, "verdict"), "valid");
  EXPECT_NE(suite.get<std::string>("system-out").find("faultline run --config " + (RunDir() / "test.json").string()),
            std::string::npos);
  EXPECT_EQ(doc.get<int>("testsuites.<xmlattr>.tests"), 3);
}

// A checker that did not run (results.json "skipped") is a <skipped/> test
// case with why, counted in skipped="N", neither a failure nor an error.
TEST_F(JunitTest, SkippedCheckerIsASkippedTestcase) {
  json results = test::RealValidResults();
  results["checkers"].erase("convergence");
  results["skipped"] = {{"convergence", "no replica-read rounds in the history"}};
  const std::string xml = JunitXml(results, test::RealTestJson(), RunDir().string());
  ExpectXmllintAccepts(xml, tmp_.path());
  const pt::ptree doc = Parse(xml);
  const pt::ptree& suite = Suite(doc);
  EXPECT_EQ(suite.get<int>("<xmlattr>.tests"), 3);
  EXPECT_EQ(suite.get<int>("<xmlattr>.skipped"), 1);
  EXPECT_EQ(suite.get<int>("<xmlattr>.failures"), 0);
  EXPECT_EQ(suite.get<int>("<xmlattr>.errors"), 0);
  EXPECT_EQ(doc.get<int>("testsuites.<xmlattr>.skipped"), 1);
  int skipped = 0;
  for (const pt::ptree* c : Cases(suite)) {
    if (!c->get_child_optional("skipped")) continue;
    ++skipped;
    EXPECT_EQ(c->get<std::string>("<xmlattr>.name"), "convergence");
    EXPECT_EQ(c->get<std::string>("skipped.<xmlattr>.message"), "no replica-read rounds in the history");
  }
  EXPECT_EQ(skipped, 1);
  // Older results.json files have no "skipped": nothing is skipped.
  EXPECT_EQ(Suite(Parse(JunitXml(test::RealValidResults(), test::RealTestJson(), RunDir().string())))
                .get<int>("<xmlattr>.skipped"),
            0);
}

TEST_F(JunitTest, InvalidCheckerCarriesAFailureExplainingEachAnomaly) {
  const std::string xml = JunitXml(test::RealInvalidResults(), test::RealTestJson(), RunDir().string());
  ExpectXmllintAccepts(xml, tmp_.path());
  const pt::ptree doc = Parse(xml);
  const pt::ptree& suite = Suite(doc);
  EXPECT_EQ(suite.get<int>("<xmlattr>.failures"), 1);
  EXPECT_EQ(suite.get<int>("<xmlattr>.errors"), 0);
  int failures = 0;
  for (const pt::ptree* c : Cases(suite)) {
    const auto failure = c->get_child_optional("failure");
    if (!failure) continue;
    ++failures;
    EXPECT_EQ(c->get<std::string>("<xmlattr>.name"), "set");
    EXPECT_EQ(failure->get<std::string>("<xmlattr>.message"),
              "3 acknowledged adds lost on key k1 (missing on n1, n2, n3)");
    const std::string body = failure->data();
    EXPECT_NE(body.find("lost (3):"), std::string::npos) << body;
    EXPECT_NE(body.find("key k1: element 21, op 43, missing on n1, n2, n3, at 0.074 s"), std::string::npos) << body;
    EXPECT_NE(body.find("op 75"), std::string::npos) << body;
    EXPECT_NE(body.find("Repeat: faultline run --config"), std::string::npos) << body;
    EXPECT_EQ(body.find("recovered"), std::string::npos) << "recovered adds are no anomaly: " << body;
  }
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(Property(suite, "verdict"), "invalid");
}

TEST_F(JunitTest, CounterErrorsAreExplainedToo) {
  const std::string xml = JunitXml(test::RealCounterInvalidResults(), nullptr, RunDir().string());
  const pt::ptree doc = Parse(xml);
  const std::string body = Suite(doc).get<std::string>("testcase.failure");
  EXPECT_NE(body.find("errors (1):"), std::string::npos) << body;
  EXPECT_NE(body.find("op 250"), std::string::npos) << body;
  EXPECT_NE(body.find("node n2"), std::string::npos) << body;
  // No test.json: the name comes from the run directory's parent.
  EXPECT_EQ(Suite(doc).get<std::string>("<xmlattr>.name"), "lww-set");
}

TEST_F(JunitTest, LinearizableAnomaliesAreExplainedByTheirSentences) {
  const json results = {
      {"valid", false},
      {"checkers",
       {{"linearizable",
         {{"valid", false},
          {"summary", "1 key is not linearizable"},
          {"model", "register"},
          {"keys", {{"checked", 1}, {"non_linearizable", 1}}},
          {"anomalies",
           {{{"type", "nonlinearizable"},
             {"key", "k4"},
             {"sentence", "read by process 2 at 12.000 s returned 1, but every linearization ... leaves it at 3"},
             {"op", {{"process", 2}, {"f", "read"}, {"value", 1}}}}}}}}}}};
  const pt::ptree doc = Parse(JunitXml(results, nullptr, RunDir().string()));
  const std::string body = Suite(doc).get<std::string>("testcase.failure");
  EXPECT_NE(body.find("nonlinearizable: key k4: read by process 2 at 12.000 s returned 1"), std::string::npos) << body;
}

TEST_F(JunitTest, InterruptedRunIsAnErrorEvenWhereCheckersPassed) {
  const std::string xml = JunitXml(test::RealInterruptedResults(), test::RealTestJson(), RunDir().string());
  const pt::ptree doc = Parse(xml);
  const pt::ptree& suite = Suite(doc);
  EXPECT_EQ(suite.get<int>("<xmlattr>.tests"), 4);   // 3 checkers + the run
  EXPECT_EQ(suite.get<int>("<xmlattr>.errors"), 2);  // set unknown + the run
  bool run_case = false;
  for (const pt::ptree* c : Cases(suite)) {
    if (c->get<std::string>("<xmlattr>.name") != "run") continue;
    run_case = true;
    EXPECT_EQ(c->get<std::string>("error.<xmlattr>.type"), "incomplete");
    EXPECT_NE(c->get<std::string>("error.<xmlattr>.message").find("stopped before its final reads"), std::string::npos);
  }
  EXPECT_TRUE(run_case);
  EXPECT_EQ(Property(suite, "verdict"), "unknown");
}

TEST_F(JunitTest, HarnessFailureWithoutCheckersIsOneRunError) {
  const json results = test::RealHarnessFailureResults();
  const std::string xml = JunitXml(results, test::RealTestJson(), RunDir().string());
  ExpectXmllintAccepts(xml, tmp_.path());
  const pt::ptree doc = Parse(xml);
  const pt::ptree& suite = Suite(doc);
  ASSERT_EQ(Cases(suite).size(), 1u);
  EXPECT_EQ(suite.get<int>("<xmlattr>.errors"), 1);
  const pt::ptree& c = *Cases(suite)[0];
  EXPECT_EQ(c.get<std::string>("<xmlattr>.name"), "run");
  EXPECT_EQ(c.get<std::string>("error.<xmlattr>.type"), "harness");
  EXPECT_NE(c.get<std::string>("error.<xmlattr>.message").find(results["error"].get<std::string>()), std::string::npos);
}

TEST_F(JunitTest, HostileStringsStayValidXml) {
  json results = test::RealInvalidResults();
  const std::string hostile =
      "a<b>&c \"q\" 'a' ]]> <!-- x --> </testsuite> \x01\x08\x0b\x1b[31m tab\there\nnew\r \xff\xfe bad utf8 "
      "\xed\xa0\x80 surrogate \xef\xbf\xbe nonchar \xc3\xa9t\xc3\xa9 \xf0\x9f\x92\xa5";
  results["checkers"]["set"]["summary"] = hostile;
  results["checkers"]["set"]["lost"][0]["key"] = hostile;
  results["checkers"]["weird\"<name>"] = {{"valid", "unknown"}, {"summary", hostile}};
  json test = test::RealTestJson();
  test["name"] = "x\"><script>alert(1)</script>";
  const std::string xml = JunitXml(results, test, (RunDir().parent_path() / "r&d <dir>").string());
  ExpectXmllintAccepts(xml, tmp_.path());
  for (unsigned char c : xml) {
    EXPECT_FALSE(c < 0x20 && c != '\n' && c != '\t') << "control byte " << int(c) << " in the XML";
  }
  const pt::ptree doc = Parse(xml);
  const pt::ptree& suite = Suite(doc);
  EXPECT_EQ(suite.get<std::string>("<xmlattr>.name"), "x\"><script>alert(1)</script>");
  EXPECT_EQ(Property(suite, "run_dir"), (RunDir().parent_path() / "r&d <dir>").string());
  bool found = false;
  for (const pt::ptree* c : Cases(suite)) {
    if (c->get<std::string>("<xmlattr>.name") != "set") continue;
    found = true;
    const std::string message = c->get<std::string>("failure.<xmlattr>.message");
    // Markup and quotes survive; control characters, bad bytes and non-characters do not.
    EXPECT_NE(message.find("a<b>&c \"q\" 'a' ]]> <!-- x --> </testsuite>"), std::string::npos) << message;
    EXPECT_NE(message.find("tab\there\nnew"), std::string::npos) << message;
    EXPECT_NE(message.find("\xc3\xa9t\xc3\xa9 \xf0\x9f\x92\xa5"), std::string::npos) << message;
    EXPECT_EQ(message.find('\x01'), std::string::npos);
    EXPECT_EQ(message.find("\xef\xbf\xbe"), std::string::npos);
    EXPECT_EQ(message.find("\xed\xa0\x80"), std::string::npos);
  }
  EXPECT_TRUE(found);
}

TEST_F(JunitTest, WriteJunitFileReadsTheRunDirectory) {
  fs::create_directories(RunDir());
  std::ofstream(RunDir() / "results.json") << test::RealInvalidResults().dump(2);
  std::ofstream(RunDir() / "test.json") << test::RealTestJson().dump(2);
  // The duration is the history's last op time (a truncated last line is skipped).
  std::ofstream(RunDir() / "history.jsonl")
      << "{\"index\":0,\"time\":1000,\"type\":\"invoke\",\"process\":0,\"f\":\"add\",\"key\":\"k1\",\"value\":1}\n"
      << "{\"index\":1,\"time\":7250000000,\"type\":\"ok\",\"process\":0,\"f\":\"add\",\"key\":\"k1\",\"value\":1}\n"
      << "{\"index\":2,\"time\":99";
  WriteJunitFile(RunDir());
  std::stringstream text;
  text << std::ifstream(RunDir() / "junit.xml").rdbuf();
  const pt::ptree doc = Parse(text.str());
  EXPECT_EQ(Suite(doc).get<int>("<xmlattr>.failures"), 1);
  EXPECT_EQ(Suite(doc).get<double>("<xmlattr>.time"), 7.25);
  EXPECT_FALSE(fs::exists(RunDir() / "junit.xml.tmp"));

  // A missing or corrupt results.json is named.
  std::ofstream(RunDir() / "results.json") << "{\"valid\": tru";
  try {
    WriteJunitFile(RunDir());
    ADD_FAILURE() << "a corrupt results.json must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("results.json"), std::string::npos) << e.what();
  }
  fs::remove(RunDir() / "results.json");
  EXPECT_THROW(WriteJunitFile(RunDir()), std::runtime_error);
}

TEST_F(JunitTest, SeveralRunsMakeOneTestsuiteEachAndAMissingResultIsAnError) {
  const fs::path a = tmp_.path() / "s-a" / "20261127T020000.000Z", b = tmp_.path() / "s-b" / "20261127T020100.000Z";
  fs::create_directories(a);
  fs::create_directories(b);
  std::ofstream(a / "results.json") << test::RealValidResults().dump();
  std::ofstream(b / "test.json") << test::RealTestJson().dump();  // crashed: no results.json
  const std::string xml = JunitXmlForRuns({a, b}, "nightly");
  ExpectXmllintAccepts(xml, tmp_.path());
  const pt::ptree doc = Parse(xml);
  EXPECT_EQ(doc.get<std::string>("testsuites.<xmlattr>.name"), "nightly");
  std::vector<std::pair<std::string, int>> suites;
  for (const auto& [tag, s] : doc.get_child("testsuites")) {
    if (tag == "testsuite") suites.emplace_back(s.get<std::string>("<xmlattr>.name"), s.get<int>("<xmlattr>.errors"));
  }
  EXPECT_EQ(suites, (std::vector<std::pair<std::string, int>>{{"s-a", 0}, {"lww-set", 1}}));
  EXPECT_EQ(doc.get<int>("testsuites.<xmlattr>.tests"), 4);
  EXPECT_NE(xml.find("results.json"), std::string::npos);
}

}  // namespace
}  // namespace faultline
