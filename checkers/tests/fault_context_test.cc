// The relation of anomalies to faults (checkers/fault_context.h) on crafted histories: each relation flagged,
// the window closed by the final heal, replicas from replica reads or all nodes, and a clean case naming no fault.
#include "checkers/fault_context.h"

#include <gtest/gtest.h>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using json = nlohmann::json;

using test::kMs;

class Timeline {
 public:
  Timeline& Client(OpType type, int64_t process, const std::string& f, const std::string& key, int64_t ms,
                   const std::string& node, json value = nullptr) {
    Op op;
    op.index = next_++;
    op.time = ms * kMs;
    op.type = type;
    op.process = process;
    op.f = f;
    op.key = key;
    op.node = node;
    op.value = std::move(value);
    builder_.Add(op);
    return *this;
  }
  Timeline& Nemesis(const std::string& f, int64_t ms, json value, const std::string& error = {}) {
    Op op;
    op.index = next_++;
    op.time = ms * kMs;
    op.type = OpType::kInfo;
    op.process = kNemesisProcess;
    op.f = f;
    op.value = std::move(value);
    op.error = error;
    builder_.Add(op);
    return *this;
  }
  FaultTimeline Finish() { return builder_.Finish(); }

 private:
  FaultTimelineBuilder builder_;
  int64_t next_ = 0;
};

AnomalyOp AckedAdd(const std::string& node, int64_t invoke_ms, int64_t ack_ms, const std::string& key = "k1") {
  return AnomalyOp{7, OpType::kOk, node, key, invoke_ms * kMs, ack_ms * kMs};
}

TEST(FaultContext, KillOfTheAcknowledgingNodeAfterTheAckIsAfterAckOnNode) {
  Timeline t;
  t.Nemesis("start-kill", 10003, {{"targets", {"n5"}}})
      .Nemesis("stop-kill", 20100, {{"restarted", {"n5"}}})
      .Nemesis("heal-kill", 30000, json::object());
  const FaultTimeline timeline = t.Finish();
  EXPECT_EQ(timeline.injected.at("kill"), 1);
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n5", 9500, 9592));
  ASSERT_EQ(r.relations.size(), 1u);
  EXPECT_EQ(r.relations[0].relation, "after-ack-on-node");
  EXPECT_EQ(r.relations[0].node, "n5");
  EXPECT_EQ(r.relations[0].delay_ns, 411 * kMs);
  const json j = RelationsToJson(r);
  EXPECT_EQ(j[0]["fault"], "kill");
  EXPECT_DOUBLE_EQ(j[0]["delay_s"].get<double>(), 0.411);
  EXPECT_EQ(DescribeFaults(j, "n5", 9.592, true),
            "acknowledged by n5 at 9.592 s; n5 was killed at 10.003 s (0.41 s later) and restarted at 20.100 s");
  EXPECT_EQ(NearestFault(r), &r.relations[0]);
}

TEST(FaultContext, FaultActiveWhileTheOpRanIsDuring) {
  Timeline t;
  t.Nemesis("start-partition", 1000, {{"kind", "halves"}, {"targets", {"n1", "n2", "n3"}}})
      .Nemesis("stop-partition", 3000, json::object());
  const FaultTimeline timeline = t.Finish();
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n1", 2000, 2500));
  ASSERT_EQ(r.relations.size(), 1u);
  EXPECT_EQ(r.relations[0].relation, "during");
  EXPECT_EQ(r.relations[0].span->label, "partition halves on n1, n2, n3");
  EXPECT_EQ(r.relations[0].delay_ns, -1500 * kMs);
  // The same fault is not listed again as after the ack.
  EXPECT_NE(DescribeFaults(RelationsToJson(r), "n1", 2.5, true).find("partition halves on n1, n2, n3 was in effect"),
            std::string::npos);
}

TEST(FaultContext, FaultOnAnotherReplicaAfterTheAckIsAfterAckOnReplica) {
  Timeline t;
  // Replica reads say k1 lives on n1, n2, n3; the kill of n4 is not on a replica and is not listed.
  t.Nemesis("start-kill", 5000, {{"targets", {"n4"}}})
      .Nemesis("stop-kill", 6000, json::object())
      .Nemesis("start-pause", 7000, {{"targets", {"n2", "n3"}}})
      .Nemesis("stop-pause", 8000, json::object())
      .Nemesis("heal-pause", 9000, json::object())
      .Client(OpType::kInvoke, 9, "replica-read", "k1", 9500, "", {{"round", 0}})
      .Client(OpType::kOk, 9, "replica-read", "k1", 9600, "",
              {{"round", 0}, {"replicas", {{"n1", json::array()}, {"n2", json::array()}, {"n3", json::array()}}}});
  const FaultTimeline timeline = t.Finish();
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n1", 4000, 4100));
  EXPECT_EQ(r.replicas_from, "replica reads");
  EXPECT_EQ(r.replicas, (std::vector<std::string>{"n1", "n2", "n3"}));
  ASSERT_EQ(r.relations.size(), 1u) << RelationsToJson(r).dump();
  EXPECT_EQ(r.relations[0].relation, "after-ack-on-replica");
  EXPECT_EQ(r.relations[0].node, "n2");  // the pause hit n2 and n3: listed once
  EXPECT_EQ(r.relations[0].delay_ns, 2900 * kMs);
  EXPECT_NE(DescribeFaults(RelationsToJson(r), "n1", 4.1, true).find("replica n2 was paused at 7.000 s (2.90 s later)"),
            std::string::npos);
}

TEST(FaultContext, WithoutReplicaReadsEveryNodeCountsAsAReplica) {
  Timeline t;
  t.Client(OpType::kInvoke, 1, "add", "k1", 0, "n1")
      .Client(OpType::kOk, 1, "add", "k1", 10, "n1")
      .Nemesis("start-kill", 5000, {{"targets", {"n4"}}})
      .Nemesis("heal-kill", 9000, json::object());
  const FaultTimeline timeline = t.Finish();
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n1", 0, 10));
  EXPECT_EQ(r.replicas_from, "all nodes (the history has no replica reads of the key)");
  ASSERT_EQ(r.relations.size(), 1u);
  EXPECT_EQ(r.relations[0].relation, "after-ack-on-replica");
  EXPECT_EQ(r.relations[0].node, "n4");
}

TEST(FaultContext, OnlyTheFirstFaultAfterTheAckOnTheNodeCounts) {
  Timeline t;
  t.Nemesis("start-kill", 2000, {{"targets", {"n1"}}})
      .Nemesis("stop-kill", 3000, json::object())
      .Nemesis("start-kill", 4000, {{"targets", {"n1"}}})
      .Nemesis("stop-kill", 5000, json::object());
  const FaultTimeline timeline = t.Finish();
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n1", 900, 1000));
  ASSERT_EQ(r.relations.size(), 1u);
  EXPECT_EQ(r.relations[0].span->start_ns, 2000 * kMs);
}

TEST(FaultContext, FaultsAfterTheFinalHealAndFailedInjectionsDoNotCount) {
  Timeline t;
  t.Nemesis("start-kill", 2000, {{"fault", "kill"}}, "no such process")
      .Nemesis("stop-kill", 3000, json::object())
      .Nemesis("heal-kill", 4000, json::object())
      .Nemesis("start-kill", 5000, {{"targets", {"n1"}}});
  const FaultTimeline timeline = t.Finish();
  EXPECT_EQ(timeline.failed.at("kill"), 1);
  EXPECT_EQ(timeline.first_error.at("kill"), "no such process");
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n1", 900, 1000));
  EXPECT_TRUE(r.relations.empty()) << RelationsToJson(r).dump();
}

TEST(FaultContext, CleanHistoryNamesNoFault) {
  Timeline t;
  t.Client(OpType::kInvoke, 1, "add", "k1", 0, "n1").Client(OpType::kOk, 1, "add", "k1", 10, "n1");
  const FaultTimeline timeline = t.Finish();
  EXPECT_TRUE(timeline.spans.empty());
  EXPECT_TRUE(timeline.injected.empty());
  const FaultRelations r = RelateFaults(timeline, AckedAdd("n1", 0, 10));
  EXPECT_TRUE(r.relations.empty());
  EXPECT_EQ(NearestFault(r), nullptr);
  EXPECT_EQ(DescribeFaults(RelationsToJson(r), "n1", 0.01, true),
            "acknowledged by n1 at 0.010 s; no fault was in effect during the op, and none hit that node or the "
            "key's replicas after it before the final heal");
}

TEST(FaultContext, AFailedOpIsRelatedOnlyToFaultsDuringIt) {
  Timeline t;
  t.Nemesis("start-kill", 2000, {{"targets", {"n1"}}}).Nemesis("stop-kill", 3000, json::object());
  AnomalyOp op = AckedAdd("n1", 900, 1000);
  op.type = OpType::kFail;
  const FaultTimeline timeline = t.Finish();
  EXPECT_TRUE(RelateFaults(timeline, op).relations.empty());
}

}  // namespace
}  // namespace faultline
