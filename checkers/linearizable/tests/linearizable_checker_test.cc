// The linearizable checker on hand-built histories: each classic anomaly,
// its clean twin, the explanation's fields, budgets, and several keys.
#include "checkers/linearizable/linearizable_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using nlohmann::json;
using test::HistoryBuilder;

// Ops of one key "k" (or `key`), each invoke and completion its own line.
class H {
 public:
  H& Inv(int64_t p, const std::string& f, json v, const std::string& key = "k") {
    b_.Add(OpType::kInvoke, p, f, key, std::move(v));
    return *this;
  }
  H& Done(int64_t p, OpType t, const std::string& f, json v, const std::string& key = "k") {
    b_.Add(t, p, f, key, std::move(v));
    return *this;
  }
  H& Ok(int64_t p, const std::string& f, json in, json out, const std::string& key = "k") {
    return Inv(p, f, in, key).Done(p, OpType::kOk, f, out, key);
  }
  H& Write(int64_t p, json v, OpType t = OpType::kOk, const std::string& key = "k") {
    return Inv(p, "write", v, key).Done(p, t, "write", v, key);
  }
  H& Read(int64_t p, json v, const std::string& key = "k") { return Ok(p, "read", nullptr, v, key); }
  H& Cas(int64_t p, json from, json to, OpType t = OpType::kOk) {
    return Inv(p, "cas", json::array({from, to})).Done(p, t, "cas", json::array({from, to}));
  }
  const History& history() const { return b_.history(); }

 private:
  HistoryBuilder b_;
};

CheckResult Check(const History& h, LinearizableOptions options = {}) {
  if (options.threads == 0) options.threads = 2;
  return MakeLinearizableChecker(options)->Check(h);
}

TEST(LinearizableCheckerTest, CleanSequentialHistoryIsValid) {
  H h;
  h.Read(1, nullptr).Write(1, 1).Read(2, 1).Cas(2, 1, 2).Read(1, 2).Cas(1, 1, 3, OpType::kFail).Read(2, 2);
  const CheckResult r = Check(h.history());
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["model"], "cas-register");
  EXPECT_EQ(r.details["keys"],
            json({{"checked", 1}, {"linearizable", 1}, {"non_linearizable", 0}, {"unknown", 0}, {"siblings", 0}}));
  EXPECT_EQ(r.summary, "all 1 key is linearizable (7 ops)");
}

TEST(LinearizableCheckerTest, StaleReadIsExplained) {
  H h;
  h.Write(1, 1).Write(1, 2).Read(2, 1);  // the read starts after write 2 completed
  const CheckResult r = Check(h.history());
  ASSERT_EQ(r.valid, Validity::kFalse);
  const json& a = r.details["anomalies"][0];
  EXPECT_EQ(a["type"], "nonlinearizable");
  EXPECT_EQ(a["key"], "k");
  EXPECT_EQ(a["sentence"],
            "read by process 2 at 0.000 s returned 1, but every linearization of the 2 ops before it leaves the "
            "register at 2");
  EXPECT_EQ(a["op"]["f"], "read");
  EXPECT_EQ(a["op"]["value"], 1);
  EXPECT_EQ(a["op"]["invoke_index"], 4);
  EXPECT_EQ(a["op"]["complete_index"], 5);
  // The longest prefix stops before write 2: once the register leaves 1, nothing writes 1 again.
  ASSERT_EQ(a["prefix"].size(), 1u);
  EXPECT_EQ(a["prefix_length"], 1);
  EXPECT_EQ(a["prefix"][0]["op"]["value"], 1);
  EXPECT_EQ(a["prefix"][0]["state"], 1);
  EXPECT_EQ(a["states_before"], json::array({2}));
  EXPECT_TRUE(a["concurrent"].empty());
  EXPECT_EQ(a["window"]["end_ns"], 5000);
  EXPECT_LE(a["window"]["start_ns"].get<int64_t>(), 0);
  EXPECT_EQ(a["window_ops"].size(), 3u);
  EXPECT_NE(r.summary.find("1 key is not linearizable: read by process 2"), std::string::npos) << r.summary;
}

TEST(LinearizableCheckerTest, LostWriteIsInvalid) {
  H h;
  h.Write(1, 3).Read(2, nullptr);
  const CheckResult r = Check(h.history());
  ASSERT_EQ(r.valid, Validity::kFalse);
  EXPECT_NE(r.details["anomalies"][0]["sentence"].get<std::string>().find("returned absent"), std::string::npos);
  EXPECT_EQ(r.details["anomalies"][0]["states_before"], json::array({3}));
}

TEST(LinearizableCheckerTest, CasOnAValueNeverWrittenIsInvalid) {
  H h;
  h.Write(1, 1).Cas(2, 5, 6);
  const CheckResult r = Check(h.history());
  ASSERT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["anomalies"][0]["sentence"], "cas from 5 to 6 by process 2 at 0.000 s, but no op wrote 5");
}

TEST(LinearizableCheckerTest, ReadOfAValueNeverWrittenIsInvalid) {
  H h;
  h.Read(1, 7);
  const CheckResult r = Check(h.history());
  ASSERT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["anomalies"][0]["sentence"], "read by process 1 at 0.000 s returned 7, but no op wrote 7");
  H future;  // 7 is written, but only after the read returned
  future.Read(1, 7).Write(2, 7);
  EXPECT_EQ(Check(future.history()).details["anomalies"][0]["sentence"],
            "read by process 1 at 0.000 s returned 7, but no op writing 7 was invoked before it returned");
}

TEST(LinearizableCheckerTest, AnInfoWriteExplainsALaterRead) {
  H h;
  h.Write(1, 1).Write(2, 3, OpType::kInfo).Read(3, 3).Read(3, 3);
  EXPECT_EQ(Check(h.history()).valid, Validity::kTrue);
  H never;  // a write never completed may take effect too
  never.Write(1, 1).Inv(2, "write", 3).Read(3, 3);
  EXPECT_EQ(Check(never.history()).valid, Validity::kTrue);
  H late;  // but not before its invoke
  late.Write(1, 1).Read(3, 3).Write(2, 3, OpType::kInfo);
  EXPECT_EQ(Check(late.history()).valid, Validity::kFalse);
  H flip;  // and not twice: once 1 is back, 3 cannot return
  flip.Write(2, 3, OpType::kInfo).Read(3, 3).Write(1, 1).Read(3, 1).Read(3, 3);
  EXPECT_EQ(Check(flip.history()).valid, Validity::kFalse);
}

TEST(LinearizableCheckerTest, FailedOpsTookNoEffect) {
  H h;
  h.Write(1, 1).Write(2, 3, OpType::kFail).Read(3, 3);
  EXPECT_EQ(Check(h.history()).valid, Validity::kFalse);
  H reads;  // failed and info reads constrain nothing
  reads.Write(1, 1).Inv(2, "read", nullptr).Done(2, OpType::kFail, "read", 9);
  reads.Inv(3, "read", nullptr).Done(3, OpType::kInfo, "read", 8).Read(4, 1);
  EXPECT_EQ(Check(reads.history()).valid, Validity::kTrue);
}

TEST(LinearizableCheckerTest, ACrashedCasMayOrMayNotHaveApplied) {
  H applied;
  applied.Write(1, 1).Cas(2, 1, 2, OpType::kInfo).Read(3, 2);
  EXPECT_EQ(Check(applied.history()).valid, Validity::kTrue);
  H not_applied;
  not_applied.Write(1, 1).Cas(2, 1, 2, OpType::kInfo).Read(3, 1);
  EXPECT_EQ(Check(not_applied.history()).valid, Validity::kTrue);
  H failed;  // a cas that completed fail did not apply
  failed.Write(1, 1).Cas(2, 1, 2, OpType::kFail).Read(3, 2);
  EXPECT_EQ(Check(failed.history()).valid, Validity::kFalse);
  H impossible;  // a crashed cas applies only from its OLD value
  impossible.Write(1, 5).Cas(2, 1, 2, OpType::kInfo).Read(3, 2);
  EXPECT_EQ(Check(impossible.history()).valid, Validity::kFalse);
}

// Three concurrent writes, completed in every order: any final value is fine,
// but two later reads must agree.
TEST(LinearizableCheckerTest, ConcurrentWritesInEveryOrder) {
  std::vector<int> order = {1, 2, 3};
  int permutations = 0;
  do {
    for (int final_value : {1, 2, 3}) {
      H h;
      for (int p : {1, 2, 3}) h.Inv(p, "write", p);
      for (int p : order) h.Done(p, OpType::kOk, "write", p);
      h.Read(4, final_value).Read(5, final_value);
      EXPECT_EQ(Check(h.history()).valid, Validity::kTrue) << "final " << final_value;
      H bad = h;
      bad.Read(4, final_value % 3 + 1);
      EXPECT_EQ(Check(bad.history()).valid, Validity::kFalse) << "final " << final_value;
    }
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 6);
}

TEST(LinearizableCheckerTest, ConcurrentOpsAreListed) {
  H h;  // a stale read of 4, concurrent with write 2
  h.Write(1, 4).Write(1, 1).Inv(2, "write", 2).Inv(3, "read", nullptr).Done(3, OpType::kOk, "read", 4);
  h.Done(2, OpType::kOk, "write", 2);
  const CheckResult r = Check(h.history());
  ASSERT_EQ(r.valid, Validity::kFalse);
  const json& a = r.details["anomalies"][0];
  EXPECT_EQ(a["op"]["value"], 4);
  ASSERT_EQ(a["concurrent"].size(), 1u);
  EXPECT_EQ(a["concurrent"][0]["f"], "write");
  EXPECT_EQ(a["concurrent"][0]["value"], 2);
  EXPECT_EQ(a["states_before"].get<std::vector<int>>(), std::vector<int>({1}));
  EXPECT_EQ(a["sentence"],
            "read by process 3 at 0.000 s returned 4, but every linearization of the 2 ops before it leaves the "
            "register at 1");
}

TEST(LinearizableCheckerTest, SiblingsReadIsItsOwnAnomaly) {
  H h;
  h.Write(1, 3).Write(2, 5).Ok(3, "read", nullptr, json::array({3, 5})).Read(3, 5);
  const CheckResult r = Check(h.history());
  ASSERT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["keys"]["siblings"], 1);
  EXPECT_EQ(r.details["keys"]["linearizable"], 1);  // the rest of the key is fine
  const json& a = r.details["anomalies"][0];
  EXPECT_EQ(a["type"], "siblings");
  EXPECT_EQ(a["op"]["value"], json::array({3, 5}));
  ASSERT_EQ(a["writes"].size(), 2u);
  EXPECT_EQ(a["writes"][0]["value"], 3);
  EXPECT_EQ(a["writes"][1]["value"], 5);
  EXPECT_NE(a["sentence"].get<std::string>().find("returned 2 siblings [3,5]"), std::string::npos);
}

TEST(LinearizableCheckerTest, StringValuesAndNemesisOps) {
  H h;
  h.Write(1, "a");
  History hist = h.history();
  Op nem;
  nem.process = kNemesisProcess;
  nem.type = OpType::kInfo;
  nem.f = "start-partition";
  hist.push_back(nem);
  H rest;
  rest.Read(2, "a");
  for (Op op : rest.history()) {
    op.index += 10;
    op.time += 10000;
    hist.push_back(op);
  }
  EXPECT_EQ(Check(hist).valid, Validity::kTrue);
  hist.back().value = "b";
  EXPECT_EQ(Check(hist).valid, Validity::kFalse);
}

TEST(LinearizableCheckerTest, RegisterModelRefusesCas) {
  H h;
  h.Write(1, 1).Cas(2, 1, 2);
  LinearizableOptions options;
  options.model = LinModel::kRegister;
  const CheckResult r = Check(h.history(), options);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["model"], "register");
  EXPECT_EQ(r.details["unknown_keys"][0]["reason"], "cas needs the cas-register model");
}

TEST(LinearizableCheckerTest, NoOpsIsValidAndAbsent) {
  auto checker = MakeLinearizableChecker({});
  EXPECT_EQ(checker->AbsentInput(), "no read, write or cas ops in the history");
  EXPECT_EQ(checker->Finish().valid, Validity::kTrue);
}

// 24 writes all concurrent, then reads of 0 and of 1: proving it illegal
// means visiting every subset of the writes without 1.
History Pathological() {
  H h;
  for (int p = 0; p < 24; ++p) h.Inv(p, "write", p);
  for (int p = 0; p < 24; ++p) h.Done(p, OpType::kOk, "write", p);
  h.Read(100, 0).Read(100, 1);
  return h.history();
}

TEST(LinearizableCheckerTest, MemoryBudgetMakesTheKeyUnknown) {
  LinearizableOptions options;
  options.memory_mb = 1;
  const CheckResult r = Check(Pathological(), options);
  ASSERT_EQ(r.valid, Validity::kUnknown) << r.summary;
  EXPECT_EQ(r.details["unknown_keys"][0]["reason"], "memory limit of 1 MB reached");
  EXPECT_GT(r.details["unknown_keys"][0]["explored"].get<int64_t>(), 1000);
  EXPECT_LE(r.details["peak_search_bytes"].get<int64_t>(), int64_t{1} << 20);
  EXPECT_EQ(r.summary, "1 key could not be decided (memory limit of 1 MB reached); the other 0 are linearizable");
}

TEST(LinearizableCheckerTest, TimeBudgetMakesTheKeyUnknown) {
  LinearizableOptions options;
  options.time_limit_s = 0;
  const CheckResult r = Check(Pathological(), options);
  ASSERT_EQ(r.valid, Validity::kUnknown) << r.summary;
  EXPECT_EQ(r.details["unknown_keys"][0]["reason"], "time limit of 0 s reached");
}

History ThreeKeys() {
  H h;
  h.Write(1, 1, OpType::kOk, "k1").Read(2, 1, "k1");
  h.Write(1, 1, OpType::kOk, "k2").Read(2, 2, "k2");
  h.Write(1, 1, OpType::kOk, "k3").Read(2, 3, "k3");
  return h.history();
}

TEST(LinearizableCheckerTest, FirstIllegalKeyStopsTheOthers) {
  LinearizableOptions options;
  options.threads = 1;  // keys in order: k1 valid, k2 not, k3 never searched
  const CheckResult r = Check(ThreeKeys(), options);
  ASSERT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["keys"]["checked"], 2);
  EXPECT_EQ(r.details["keys"]["non_linearizable"], 1);
  EXPECT_NE(r.summary.find("stopped early: 2 of 3 keys checked"), std::string::npos) << r.summary;
}

TEST(LinearizableCheckerTest, AllKeysChecksEveryKey) {
  for (int threads : {1, 3}) {
    LinearizableOptions options;
    options.all_keys = true;
    options.threads = threads;
    const CheckResult r = Check(ThreeKeys(), options);
    ASSERT_EQ(r.valid, Validity::kFalse);
    EXPECT_EQ(r.details["keys"]["checked"], 3);
    EXPECT_EQ(r.details["keys"]["linearizable"], 1);
    EXPECT_EQ(r.details["keys"]["non_linearizable"], 2);
    ASSERT_EQ(r.details["anomalies"].size(), 2u);
    EXPECT_EQ(r.details["anomalies"][0]["key"], "k2");
    EXPECT_EQ(r.details["anomalies"][1]["key"], "k3");
  }
}

}  // namespace
}  // namespace faultline
