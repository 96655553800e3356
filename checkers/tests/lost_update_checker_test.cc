#include "checkers/lost_update_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using test::HistoryBuilder;
using test::kOk, test::kFail, test::kInfo, test::kInvoke;

CheckResult CheckLostUpdate(const HistoryBuilder& b) { return LostUpdateChecker().Check(b.history()); }

nlohmann::json Ids(std::vector<int64_t> ids) { return nlohmann::json(ids); }

// Invoke of an rmw writing `id`.
void Invoke(HistoryBuilder& b, int64_t process, const std::string& key, int64_t id) {
  b.Add(kInvoke, process, "rmw", key, {{"write", id}});
}
// Its completion: with the read list when `read` is an array.
void Complete(HistoryBuilder& b, int64_t process, const std::string& key, int64_t id, OpType type, nlohmann::json read,
              const std::string& node = "n1") {
  nlohmann::json value = {{"write", id}};
  if (read.is_array()) value["read"] = std::move(read);
  b.Add(type, process, "rmw", key, std::move(value), node, type == kOk ? "" : "timeout");
}
void Rmw(HistoryBuilder& b, int64_t process, const std::string& key, nlohmann::json read, int64_t id,
         OpType type = kOk) {
  Invoke(b, process, key, id);
  Complete(b, process, key, id, type, type == kFail ? nlohmann::json() : std::move(read));
}
void FinalReads(HistoryBuilder& b, const std::string& key, nlohmann::json ids,
                std::vector<std::string> nodes = {"n1", "n2", "n3"}) {
  for (const auto& node : nodes) b.Read(100, key, node, ids);
}

TEST(LostUpdateCheckerTest, Name) { EXPECT_EQ(LostUpdateChecker().name(), "lost-update"); }

TEST(LostUpdateCheckerTest, EachWriteObservedByTheNextIsValid) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({1}), 2);
  Rmw(b, 0, "k1", Ids({2}), 3);
  Rmw(b, 2, "k2", Ids({}), 4);
  Rmw(b, 3, "k2", Ids({}), 5, kFail);
  FinalReads(b, "k1", Ids({3}));
  FinalReads(b, "k2", Ids({4}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["write_count"], 5);
  EXPECT_EQ(r.details["ok_count"], 4);
  EXPECT_EQ(r.details["fail_count"], 1);
  EXPECT_EQ(r.details["info_count"], 0);
  EXPECT_EQ(r.details["lost_count"], 0);
  EXPECT_EQ(r.details["final_read_count"], 6);
  EXPECT_EQ(r.details["per_key"]["k1"]["ok"], 3);
  EXPECT_EQ(r.details["per_key"]["k2"]["fail"], 1);
  EXPECT_EQ(r.summary, "all 4 acknowledged writes are observed by the final values");
}

TEST(LostUpdateCheckerTest, OverwrittenConcurrentWriteIsLostWithItsOpAndFaults) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);                                              // ops 0, 1
  b.Add(kInfo, kNemesisProcess, "start-partition", "", {{"n1", {"n2"}}});   // op 2
  Invoke(b, 1, "k1", 2);                                                    // op 3
  Invoke(b, 2, "k1", 3);                                                    // op 4: both read {1}
  Complete(b, 1, "k1", 2, kOk, Ids({1}), "n1");                             // op 5
  Complete(b, 2, "k1", 3, kOk, Ids({1}), "n2");                             // op 6
  b.Add(kInfo, kNemesisProcess, "stop-partition", "", {{"healed", true}});  // op 7
  Rmw(b, 1, "k1", Ids({1}), 9);                                             // ops 8, 9: after the partition, unaffected
  FinalReads(b, "k1", Ids({3, 9}));  // 3 and 9 survive as siblings; 2 is overwritten by nothing that saw it
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["lost_count"], 1) << r.details.dump();
  const auto& lost = r.details["lost"][0];
  EXPECT_EQ(lost["key"], "k1");
  EXPECT_EQ(lost["write"], 2);
  EXPECT_EQ(lost["index"], 5);
  EXPECT_EQ(lost["time"], 5000);
  EXPECT_EQ(lost["invoke_time"], 3000);
  EXPECT_EQ(lost["process"], 1);
  EXPECT_EQ(lost["node"], "n1");
  EXPECT_EQ(lost["final_values"], Ids({3, 9}));
  ASSERT_EQ(lost["faults"].size(), 1u);
  EXPECT_EQ(lost["faults"][0]["fault"], "partition");
  EXPECT_EQ(lost["faults"][0]["value"], nlohmann::json({{"n1", {"n2"}}}));
  EXPECT_EQ(r.summary, "1 acknowledged write lost on key k1 during partition");
  EXPECT_EQ(r.details["per_key"]["k1"]["lost"], 1);
}

TEST(LostUpdateCheckerTest, SummaryNamesTheKindOfPartition) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  b.Add(kInfo, kNemesisProcess, "start-partition", "",
        {{"fault", "partition"}, {"kind", "majorities-ring"}, {"grudge", {{"n1", {"n2"}}}}});
  Invoke(b, 1, "k1", 2);
  Invoke(b, 2, "k1", 3);
  Complete(b, 1, "k1", 2, kOk, Ids({1}), "n1");
  Complete(b, 2, "k1", 3, kOk, Ids({1}), "n2");
  b.Add(kInfo, kNemesisProcess, "stop-partition", "", {{"healed", true}});
  FinalReads(b, "k1", Ids({3}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.summary, "1 acknowledged write lost on key k1 during majorities-ring partition");
}

TEST(LostUpdateCheckerTest, LostWriteWithNoFaultSaysSo) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({}), 2);  // last-write-wins dropped 1
  FinalReads(b, "k1", Ids({2}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["lost_count"], 1);
  EXPECT_EQ(r.details["lost"][0]["write"], 1);
  EXPECT_EQ(r.details["lost"][0]["index"], 1);
  EXPECT_TRUE(r.details["lost"][0]["faults"].empty());
  EXPECT_EQ(r.summary, "1 acknowledged write lost on key k1 with no fault active");
}

TEST(LostUpdateCheckerTest, WriteObservedOnlyThroughInfoWritesIsNotLost) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({1}), 2, kInfo);  // timed out, but its completion has its read list
  Rmw(b, 2, "k1", Ids({2}), 3, kInfo);
  FinalReads(b, "k1", Ids({3}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary << r.details.dump();
  EXPECT_EQ(r.details["info_count"], 2);
  EXPECT_EQ(r.details["ok_count"], 1);
}

TEST(LostUpdateCheckerTest, InfoWriteWithoutReadListObservedNothing) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Invoke(b, 1, "k1", 2);  // never completes: its read list is unknown
  FinalReads(b, "k1", Ids({2}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["lost_count"], 1);
  EXPECT_EQ(r.details["lost"][0]["write"], 1);
  EXPECT_EQ(r.details["info_count"], 1);
}

TEST(LostUpdateCheckerTest, UnobservedInfoWriteIsFine) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({1}), 2, kInfo);  // never took effect
  Rmw(b, 2, "k1", Ids({1}), 3);
  FinalReads(b, "k1", Ids({3}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["lost_count"], 0);
}

TEST(LostUpdateCheckerTest, SiblingsInTheFinalReadKeepBothBranches) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({1}), 2);
  Rmw(b, 2, "k1", Ids({1}), 3);
  b.Read(100, "k1", "n1", Ids({2, 3})).Read(100, "k1", "n2", Ids({2})).Read(100, "k1", "n3", Ids({3}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["per_key"]["k1"]["final_values"], 2);
}

TEST(LostUpdateCheckerTest, UnexpectedIdIsInvalid) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({1, 77}), 2);  // op 3 read 77, which nobody wrote
  Rmw(b, 2, "k1", Ids({}), 5, kFail);
  b.Read(100, "k1", "n1", Ids({2})).Read(100, "k1", "n2", Ids({2, 5}));  // op 9: 5 failed
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["unexpected_count"], 2) << r.details.dump();
  EXPECT_EQ(r.details["unexpected"][0]["id"], 5);
  EXPECT_EQ(r.details["unexpected"][0]["reason"], "write failed");
  EXPECT_EQ(r.details["unexpected"][0]["index"], 9);
  EXPECT_EQ(r.details["unexpected"][0]["node"], "n2");
  EXPECT_EQ(r.details["unexpected"][1]["id"], 77);
  EXPECT_EQ(r.details["unexpected"][1]["reason"], "never written");
  EXPECT_EQ(r.details["unexpected"][1]["index"], 3);
  EXPECT_EQ(r.details["lost_count"], 0);
  EXPECT_EQ(r.summary, "2 ids read on key k1 that no successful write wrote");
}

TEST(LostUpdateCheckerTest, EmptyHistoryIsValidWithZeroCounts) {
  HistoryBuilder b;
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kTrue);
  EXPECT_EQ(r.details["write_count"], 0);
  EXPECT_EQ(r.details["lost_count"], 0);
  EXPECT_EQ(r.details["final_read_count"], 0);
}

TEST(LostUpdateCheckerTest, KeyWithoutFinalReadIsUnknown) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 0, "k2", Ids({}), 2);
  FinalReads(b, "k1", Ids({1}));
  b.Read(100, "k2", "n1", nullptr, kFail);
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["keys_without_final_read"], nlohmann::json({"k2"}));
  EXPECT_EQ(r.summary, "no final read succeeded for key k2, so their writes could not be checked");
}

TEST(LostUpdateCheckerTest, LongChainNeedsNoRecursion) {
  HistoryBuilder b;
  constexpr int64_t kWrites = 100000;
  for (int64_t id = 1; id <= kWrites; ++id) Rmw(b, 0, "k1", id == 1 ? Ids({}) : Ids({id - 1}), id);
  FinalReads(b, "k1", Ids({kWrites}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["ok_count"], kWrites);
}

TEST(LostUpdateCheckerTest, IdsWithLargeStridesAndPerKeyIdsResolve) {
  // Ids that all collide under the locality-keeping hash (multiples of 2^32),
  // and the same ids reused on another key: every write must still be found.
  HistoryBuilder b;
  constexpr int64_t kWrites = 3000, kStride = int64_t{1} << 32;
  for (const char* key : {"k1", "k2"}) {
    for (int64_t i = 1; i <= kWrites; ++i) Rmw(b, 0, key, i == 1 ? Ids({}) : Ids({(i - 1) * kStride}), i * kStride);
  }
  FinalReads(b, "k1", Ids({kWrites * kStride}));
  FinalReads(b, "k2", Ids({(kWrites - 1) * kStride}));  // k2's last write is lost
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["ok_count"], 2 * kWrites);
  EXPECT_EQ(r.details["duplicate_write_count"], 0);
  ASSERT_EQ(r.details["lost_count"], 1);
  EXPECT_EQ(r.details["lost"][0]["key"], "k2");
  EXPECT_EQ(r.details["lost"][0]["write"], kWrites * kStride);
}

TEST(LostUpdateCheckerTest, DuplicateWriteIdIsUnknown) {
  HistoryBuilder b;
  Rmw(b, 0, "k1", Ids({}), 1);
  Rmw(b, 1, "k1", Ids({1}), 1);
  FinalReads(b, "k1", Ids({1}));
  CheckResult r = CheckLostUpdate(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["duplicate_write_count"], 1);
}

// A correct register with siblings (Dynamo with causal contexts): a write
// replaces exactly the versions its read observed and keeps concurrent ones.
// Processes interleave, so writes that read the same state become siblings
// that a later write merges. Info writes apply or not at random. Writes still
// in flight at the end stay pending (no completion) and do not apply.
History CorrectModelHistory(uint64_t seed) {
  std::mt19937_64 rng(seed);
  HistoryBuilder b;
  struct InFlight {
    std::string key;
    int64_t id;
    std::vector<int64_t> read;
  };
  std::map<std::string, std::set<int64_t>> state;
  std::map<int64_t, InFlight> in_flight;  // process -> op
  const std::vector<std::string> keys = {"k1", "k2", "k3"};
  int64_t next_id = 1, next_process = 5;
  std::vector<int64_t> processes = {0, 1, 2, 3, 4};
  for (int step = 0; step < 400; ++step) {
    const size_t slot = rng() % processes.size();
    const int64_t process = processes[slot];
    auto it = in_flight.find(process);
    if (rng() % 23 == 0) {
      b.Add(kInfo, kNemesisProcess, rng() % 2 ? "start-partition" : "stop-partition", "", nullptr);
    }
    if (it == in_flight.end()) {
      InFlight op{keys[rng() % keys.size()], next_id++, {}};
      const auto& current = state[op.key];
      op.read.assign(current.begin(), current.end());
      Invoke(b, process, op.key, op.id);
      in_flight[process] = std::move(op);
      continue;
    }
    InFlight op = std::move(it->second);
    in_flight.erase(it);
    const int outcome = int(rng() % 10);
    OpType type = outcome < 7 ? kOk : outcome < 9 ? kInfo : kFail;
    const bool applied = type == kOk || (type == kInfo && rng() % 2 == 0);
    if (applied) {
      auto& current = state[op.key];
      for (int64_t seen : op.read) current.erase(seen);
      current.insert(op.id);
    }
    // An info completion carries its read list (the read succeeded; the write timed out), as the
    // register workload records it: without it, what the write superseded would be unknown.
    nlohmann::json read = type == kFail ? nlohmann::json() : Ids(op.read);
    Complete(b, process, op.key, op.id, type, read);
    if (type == kInfo) processes[slot] = next_process++;
  }
  for (const auto& key : keys) {
    const auto& current = state[key];
    FinalReads(b, key, Ids({current.begin(), current.end()}));
  }
  return b.history();
}

TEST(LostUpdateCheckerTest, HistoriesOfACorrectModelAreNeverFlagged) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    History history = CorrectModelHistory(seed);
    CheckResult r = LostUpdateChecker().Check(history);
    ASSERT_EQ(r.valid, Validity::kTrue) << "seed " << seed << ": " << r.summary;
    ASSERT_GT(r.details["ok_count"].get<int64_t>(), 0);
  }
}

TEST(LostUpdateCheckerTest, DroppingASiblingFromACorrectHistoryIsCaught) {
  // The property test's generator is not vacuous: forgetting the final values of
  // one key must lose its acknowledged writes.
  History history = CorrectModelHistory(7);
  for (Op& op : history) {
    if (op.f == "read" && op.type == kOk && op.key == "k1") op.value = nlohmann::json::array();
  }
  CheckResult r = LostUpdateChecker().Check(history);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_GT(r.details["per_key"]["k1"]["lost"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace faultline
