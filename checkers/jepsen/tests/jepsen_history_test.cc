// Jepsen ops onto faultline ops: both file forms of history.edn, jepsen.log
// lines, independent-key tuples, single registers, nemesis ops, nil values,
// keywords, crashed ops carrying their invoke's value, times given or not.
#include "checkers/jepsen/jepsen_history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace faultline {
namespace {

using json = nlohmann::json;

History Edn(std::string_view text, std::vector<std::string>* warnings = nullptr) {
  return ReadJepsenHistory(text, JepsenFormat::kEdn, warnings);
}
History Log(std::string_view text, std::vector<std::string>* warnings = nullptr) {
  return ReadJepsenHistory(text, JepsenFormat::kLog, warnings);
}
std::string ErrorOf(std::string_view text, JepsenFormat format) {
  try {
    ReadJepsenHistory(text, format);
  } catch (const HistoryError& e) {
    return e.what();
  }
  return "";
}

TEST(JepsenHistoryTest, FormatNames) {
  EXPECT_EQ(ParseJepsenFormat("jepsen-edn"), JepsenFormat::kEdn);
  EXPECT_EQ(ParseJepsenFormat("jepsen-log"), JepsenFormat::kLog);
  EXPECT_FALSE(ParseJepsenFormat("edn").has_value());
}

TEST(JepsenHistoryTest, VectorOfOpsAndOneMapPerLineReadTheSame) {
  const std::string ops =
      "{:type :invoke, :f :write, :value 3, :process 0, :time 100, :index 0}\n"
      "{:type :ok, :f :write, :value 3, :process 0, :time 250, :index 1}\n";
  const History a = Edn(ops);
  const History b = Edn("[" + ops + "]");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(ToJsonLine(a[i]), ToJsonLine(b[i]));
  EXPECT_EQ(ToJsonLine(a[0]), R"({"index":0,"time":100,"type":"invoke","process":0,"f":"write","key":"k1","value":3})");
  EXPECT_EQ(a[1].type, OpType::kOk);
  EXPECT_EQ(a[1].time, 250);
  // The record tag of newer Jepsen, and a list at the top.
  const History c = Edn("(#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 2, :f :read, :value nil})");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].process, 2);
  EXPECT_EQ(c[0].value, json(nullptr));
}

TEST(JepsenHistoryTest, IndependentKeyTuples) {
  const History h = Edn(R"(
    {:type :invoke, :f :read, :value [3 nil], :process 0}
    {:type :ok, :f :read, :value [3 2], :process 0}
    {:type :invoke, :f :write, :value [:a 4], :process 1}
    {:type :ok, :f :write, :value [:a 4], :process 1}
    {:type :invoke, :f :cas, :value ["x" [1 4]], :process 2}
    {:type :fail, :f :cas, :value ["x" [1 4]], :process 2})");
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[0].key, "3");
  EXPECT_EQ(h[0].value, json(nullptr));
  EXPECT_EQ(h[1].key, "3");
  EXPECT_EQ(h[1].value, 2);
  EXPECT_EQ(h[2].key, "a");
  EXPECT_EQ(h[3].value, 4);
  EXPECT_EQ(h[4].key, "x");
  EXPECT_EQ(h[4].value, json::array({1, 4}));
  EXPECT_EQ(h[5].value, json::array({1, 4}));
  EXPECT_EQ(h[5].type, OpType::kFail);
  // Once keyed, every read/write/cas must hold a tuple.
  EXPECT_EQ(ErrorOf("{:type :invoke, :f :read, :value [3 nil], :process 0}\n"
                    "{:type :invoke, :f :write, :value 4, :process 1}",
                    JepsenFormat::kEdn),
            "line 2 column 35: write value 4 is not an independent-key tuple [key value], but the history is keyed "
            "(decided by the op at line 1)");
}

TEST(JepsenHistoryTest, KeyedCompletionsMustMatchTheirInvokesKey) {
  EXPECT_EQ(ErrorOf("{:type :invoke, :f :read, :value [3 nil], :process 0}\n"
                    "{:type :ok, :f :read, :value [4 1], :process 0}",
                    JepsenFormat::kEdn),
            "line 2 column 30: completion of key 4 by process 0, whose invoke was of key 3");
  // Keyed ops of any f: a Jepsen independent set.
  const History h =
      Edn("{:type :invoke, :f :add, :value [2 7], :process 0}\n{:type :ok, :f :add, :value [2 7], "
          ":process 0}");
  EXPECT_EQ(h[1].key, "2");
  EXPECT_EQ(h[1].value, 7);
}

// A history without keys is one register (or set): every client op has key k1.
TEST(JepsenHistoryTest, SingleSetHistoryGetsOneKey) {
  const History h = Edn(R"({:type :invoke, :f :add, :value 1, :process 0}
                           {:type :ok, :f :add, :value 1, :process 0}
                           {:type :invoke, :f :read, :value nil, :process 1}
                           {:type :ok, :f :read, :value #{1}, :process 1})");
  ASSERT_EQ(h.size(), 4u);
  for (const Op& op : h) EXPECT_EQ(op.key, kJepsenSingleKey);
  EXPECT_EQ(h[3].value, json::array({1}));
}

// A cas [1 4] without keys is old 1, new 4 (Knossos/Porcupine's etcd histories).
TEST(JepsenHistoryTest, SingleRegisterKeepsCasPairs) {
  const History h = Edn(R"([{:type :invoke, :f :read, :value nil, :process 0}
                            {:type :invoke, :f :cas, :value [1 4], :process 1}
                            {:type :ok, :f :cas, :value [1 4], :process 1}
                            {:type :ok, :f :read, :value 1, :process 0}])");
  ASSERT_EQ(h.size(), 4u);
  for (const Op& op : h) EXPECT_EQ(op.key, kJepsenSingleKey);
  EXPECT_EQ(h[1].value, json::array({1, 4}));
  EXPECT_EQ(h[3].value, 1);
}

TEST(JepsenHistoryTest, NemesisOpsKeywordsAndErrors) {
  const History h = Edn(R"(
    {:type :info, :f :start, :value nil, :process :nemesis}
    {:type :info, :f :start, :value [:isolated {"n1" #{"n2" "n3"}}], :process :nemesis}
    {:type :invoke, :f :write, :value :foo, :process 0}
    {:type :ok, :f :write, :value :foo, :process 0, :error "slow", :node "n1"}
    {:type :info, :f :stop-partition, :value :healed, :process :nemesis})");
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h[0].process, kNemesisProcess);
  EXPECT_EQ(h[0].f, "start-nemesis");
  EXPECT_EQ(h[0].key, "");
  EXPECT_EQ(h[1].value, json::parse(R"(["isolated", {"n1": ["n2", "n3"]}])"));
  EXPECT_EQ(h[2].value, "foo");  // a keyword value is its name
  EXPECT_EQ(h[3].error, "slow");
  EXPECT_EQ(h[4].f, "stop-partition");
  EXPECT_EQ(h[4].value, "healed");
  EXPECT_EQ(h[4].type, OpType::kInfo);
}

// A crashed op stands for its invoke's value, whatever Jepsen printed there.
TEST(JepsenHistoryTest, FailAndInfoCompletionsCarryTheInvokesValue) {
  const History h =
      Log("INFO  jepsen.util - 4\t:invoke\t:write\t3\n"
          "INFO  jepsen.util - 4\t:info\t:write\t:timed-out\n"
          "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 4]\n"
          "INFO  jepsen.util - 1\t:fail\t:cas\t[1 4]\n"
          "INFO  jepsen.util - 2\t:invoke\t:write\t2\n"
          "INFO  jepsen.util - 2\t:ok\t:write\tnil\n");
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[1].type, OpType::kInfo);
  EXPECT_EQ(h[1].value, 3);
  EXPECT_EQ(h[1].key, kJepsenSingleKey);
  EXPECT_EQ(h[1].error, "timed-out");
  EXPECT_EQ(h[3].value, json::array({1, 4}));
  EXPECT_EQ(h[3].error, "");
  EXPECT_EQ(h[5].value, 2);  // an ok write that echoes nothing wrote what it was asked to
}

TEST(JepsenHistoryTest, IndexByPositionAndTimes) {
  // No :time anywhere: synthetic, strictly increasing; :index is ignored.
  const History h = Edn("{:type :invoke, :f :read, :process 0, :index 7}\n{:type :ok, :f :read, :process 0, :value 2}");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].index, 0);
  EXPECT_EQ(h[1].index, 1);
  EXPECT_EQ(h[0].time, 0);
  EXPECT_EQ(h[1].time, kJepsenSyntheticStepNs);
  EXPECT_EQ(h[0].value, json(nullptr));  // no :value is nil
  EXPECT_EQ(
      ErrorOf("{:type :invoke, :f :read, :process 0, :time 5}\n{:type :ok, :f :read, :process 0}", JepsenFormat::kEdn),
      "line 2 column 1: op has no :time but earlier ops have one");
  EXPECT_EQ(ErrorOf("{:type :invoke, :f :read, :process 0, :index :x}", JepsenFormat::kEdn),
            "line 1 column 46: :index must be an integer, got :x");
}

TEST(JepsenHistoryTest, MalformedOpsAreErrorsWithTheirPosition) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"{:f :read, :process 0}", "line 1 column 1: op has no :type"},
      {"{:type :done, :f :read, :process 0}", "line 1 column 8: :type must be :invoke, :ok, :fail or :info, got :done"},
      {"{:type :ok, :f :read, :process -1}", "line 1 column 32: :process must be an integer >= 0 or :nemesis"},
      {"{:type :ok, :f :read}", "line 1 column 1: op has no :process"},
      {"{:type :ok, :process 1}", "line 1 column 1: op has no :f"},
      {"{:type :ok, :f 3, :process 1}", "line 1 column 16: :f must be a keyword or a string, got 3"},
      {"{:type :ok, :type :ok, :f :read, :process 1}", "line 1 column 13: duplicate key :type in op map"},
      {"[{:type :ok, :f :read, :process 1} 5]", "line 1 column 36: expected an op map {:type ...}, got an integer"},
      {"[{:type :ok, :f :read, :process 1}", "line 1 column 1: the history's '[' is not closed"},
      {"[] []", "line 1 column 4: text after the history's closing ']'"},
      {"{:type :ok, :f :read, :process 1, :value foo}\n", "line 1 column 42: symbol 'foo' is not supported"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string message = ErrorOf(text, JepsenFormat::kEdn);
    EXPECT_EQ(message.substr(0, expected.size()), expected) << "reading: " << text;
  }
}

TEST(JepsenHistoryTest, TruncatedLastLineIsSkippedWithAWarning) {
  std::vector<std::string> warnings;
  const History h = Edn("{:type :invoke, :f :read, :process 0}\n{:type :ok, :f :re", &warnings);
  EXPECT_EQ(h.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("truncated last line"), std::string::npos) << warnings[0];
  warnings.clear();
  const History l = Log("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:re", &warnings);
  EXPECT_EQ(l.size(), 1u);
  EXPECT_EQ(warnings.size(), 1u);
  // With its newline the line is whole, so it is an error.
  EXPECT_NE(ErrorOf("{:type :invoke, :f :read, :process 0}\n{:type :ok, :f :re\n", JepsenFormat::kEdn), "");
}

TEST(JepsenHistoryTest, LogLines) {
  const History h =
      Log("2017-03-01 12:00:00,000 INFO  jepsen.core - Running test\n"
          "2017-03-01 12:00:01,500{main} INFO [jepsen worker 3] jepsen.util - 3\t:invoke\t:cas\t[1 4]\n"
          "2017-03-01 12:00:01,500 INFO  jepsen.util - :nemesis\t:info\t:start\t[:isolated {\"n1\" #{\"n2\"}}]\n"
          "2017-03-01 12:00:02,250 INFO  jepsen.util - 3\t:ok\t:cas\t[1 4]\n"
          "2017-03-01 12:00:03,000 INFO  jepsen.util - 5\t:info\t:read\tnil\tindeterminate: timeout\r\n"
          "2017-03-01 12:00:03,000 INFO  jepsen.util - Relative time begins now\n");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0].process, 3);
  EXPECT_EQ(h[0].f, "cas");
  EXPECT_EQ(h[0].value, json::array({1, 4}));
  EXPECT_EQ(h[0].time, 0);
  EXPECT_EQ(h[1].process, kNemesisProcess);
  EXPECT_EQ(h[1].time, 1);  // same millisecond: kept in file order
  EXPECT_EQ(h[2].time, 750'000'000);
  EXPECT_EQ(h[3].error, "indeterminate: timeout");
  EXPECT_EQ(h[3].type, OpType::kInfo);
  // Without timestamps: synthetic times.
  const History s = Log("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t3\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].time, kJepsenSyntheticStepNs);
  EXPECT_EQ(s[1].value, 3);
}

// Logs whose columns are padded with spaces (as some of Porcupine's etcd
// logs are) read like tab-separated ones; text after the value is the error.
TEST(JepsenHistoryTest, SpaceAlignedLogLinesAreOps) {
  const History h =
      Log("INFO  jepsen.util - 4   :invoke :cas    [1 2]\n"
          "INFO  jepsen.util - 4   :fail   :cas    [1 2]\n"
          "INFO  jepsen.util - 1   :invoke :read   nil\n"
          "INFO  jepsen.util - 1   :info   :read   nil  indeterminate: timeout\n"
          "INFO  jepsen.util - :nemesis :info :start nil\n"
          "INFO  jepsen.util - starting the clients\n");
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h[0].f, "cas");
  EXPECT_EQ(h[0].value, json::array({1, 2}));
  EXPECT_EQ(h[1].type, OpType::kFail);
  EXPECT_EQ(h[3].type, OpType::kInfo);
  EXPECT_EQ(h[3].error, "indeterminate: timeout");
  EXPECT_EQ(h[4].process, kNemesisProcess);
  EXPECT_EQ(ErrorOf("INFO  jepsen.util - 3   :invoke :read\n", JepsenFormat::kLog),
            "line 1 column 38: the value field is empty");
}

TEST(JepsenHistoryTest, MalformedLogLinesNameLineAndColumn) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"x\nINFO  jepsen.util - 3\t:invoke\t:cas\n", "line 2 column 21: an op line needs 4 tab-separated fields"},
      {"INFO  jepsen.util - three\t:invoke\t:read\tnil\n", "line 1 column 21: symbol 'three' is not supported"},
      {"INFO  jepsen.util - 3\t:invoke\t:read\t[1 2\n", "line 1 column 37: a vector opened here is not closed"},
      {"INFO  jepsen.util - 3\t:invoke\t:read\tnil x\n", "line 1 column 41: unexpected text after the value"},
      {"INFO  jepsen.util - 3\t:begin\t:read\tnil\n", "line 1 column 23: :type must be"},
      {"INFO  jepsen.util - 3\t\t:read\tnil\n", "line 1 column 23: the type field is empty"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string message = ErrorOf(text, JepsenFormat::kLog);
    EXPECT_EQ(message.substr(0, expected.size()), expected) << "reading: " << text;
  }
}

}  // namespace
}  // namespace faultline
