// Fault context: which faults a history's nemesis injected, and which of them
// touch an anomaly's op (issue 20). Pure functions of the history, like the
// checkers; the runner and `faultline check` attach the result to results.json
// (per anomaly "faults"), the report explains anomalies with it.
//
// A fault touches an op in one of three ways ("relation"):
//   during                active at some point between the op's invoke and its completion;
//   after-ack-on-node     the first fault that starts after an acknowledged (ok) op completed
//                         and hits the node that acknowledged it;
//   after-ack-on-replica  for each other replica of the op's key, the first fault that starts
//                         after the acknowledgement and hits that replica.
// Only faults that start before the final heal (the first "heal-*" op) count:
// after it nothing the nemesis does can explain the final reads. A fault hits
// the nodes its start op lists as "targets" (a partition lists the nodes that
// drop packets). A failed injection (its start op has an "error") is no fault.
//
// Replicas of a key: the nodes that answered its replica reads (the runner's
// replica-read rounds after the heal list each replica of the key's
// preference list); when the history has none for the key, every node the
// history names counts as a replica, and FaultRelations::replicas_from says so.
//
// Not thread-safe; FaultTimeline is a value.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkers/history.h"

namespace faultline {

// One injected fault, from its start op to its stop or heal (open: no end).
struct FaultSpan {
  std::string fault;               // "kill", "partition", ...
  std::string label;               // "partition halves on n1, n2, n3"
  std::vector<std::string> nodes;  // the start op's "targets"
  int64_t start_index = 0;
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;
};

struct FaultTimeline {
  std::vector<FaultSpan> spans;                           // injected faults, in start order
  std::map<std::string, int64_t> injected, failed;        // per fault: start ops without / with an error
  std::map<std::string, std::string> first_error;         // per fault: the first failed injection's error
  std::optional<int64_t> final_heal_ns;                   // the first heal op; none: the history has no heal
  std::map<std::string, std::set<std::string>> replicas;  // key -> nodes in its replica reads
  std::set<std::string> nodes;                            // every node the history names
};

// Collects a FaultTimeline from ops fed in file order. Memory: O(faults + keys × replicas).
class FaultTimelineBuilder {
 public:
  void Add(const Op& op);
  FaultTimeline Finish();

 private:
  FaultTimeline t_;
  std::map<std::string, size_t> open_;  // fault -> its open span
};

// The op an anomaly is about, as the history recorded it.
struct AnomalyOp {
  int64_t index = 0;  // the completion's
  OpType type = OpType::kOk;
  std::string node, key;
  int64_t invoke_ns = 0, complete_ns = 0;  // invoke_ns = complete_ns when the invoke is unknown
};

struct FaultRelation {
  std::string relation;  // "during", "after-ack-on-node", "after-ack-on-replica"
  const FaultSpan* span = nullptr;
  std::string node;  // the node it hits that makes the relation ("" for during)
  // From the acknowledgement (the op's completion) to the fault's start: < 0 when it began before.
  int64_t delay_ns = 0;
};

struct FaultRelations {
  std::vector<FaultRelation> relations;  // during first, then after-ack-on-node, then replicas by delay
  std::vector<std::string> replicas;     // the key's replicas used
  std::string replicas_from;             // "replica reads" or "all nodes (the history has no replica reads of the key)"
};

// The faults that touch `op`. Pointers point into `timeline`, so it must
// outlive the result: a temporary timeline does not compile.
FaultRelations RelateFaults(const FaultTimeline& timeline, const AnomalyOp& op);
FaultRelations RelateFaults(FaultTimeline&& timeline, const AnomalyOp& op) = delete;

// The nearest of them: the first "during" one, else the after-ack one with the smallest delay; null when none.
const FaultRelation* NearestFault(const FaultRelations& relations);

// results.json's per-anomaly "faults" (README "results.json"):
//   [{"relation":"after-ack-on-node","fault":"kill","label":"kill on n5","node":"n5",
//     "start_s":10.003,"end_s":20.1,"delay_s":0.411,"start_index":812}]
nlohmann::json RelationsToJson(const FaultRelations& relations);

// The sentence that explains an anomaly's op by its faults, from results.json's entries:
// "acknowledged by n5 at 9.592 s; n5 was killed at 10.003 s (0.41 s later) and restarted at 20.1 s",
// "no fault was active during the op, and none hit n5 or the key's replicas n1, n2 after it until the final heal".
// `ack_ok` is false for an op that did not complete ok (only "during" relations apply then).
std::string DescribeFaults(const nlohmann::json& faults, const std::string& node, double ack_s, bool ack_ok);

// "killed"/"restarted", "partitioned"/"healed", ...: how a fault's start and end read after a node name.
std::pair<std::string, std::string> FaultVerbs(const std::string& fault);

}  // namespace faultline
