// Ties each anomaly of a checked history to the faults around it (issue 20;
// checkers/fault_context.h): every anomaly entry in the checkers' details
// that names its op ("index", or a linearizable anomaly's "op") gets
//   "faults": [{"relation": "during" | "after-ack-on-node" | "after-ack-on-replica", "fault", "label", "node",
//               "start_s", "end_s", "delay_s", "start_index"}],
//   "ack": {"node": "n5", "time_s": 9.592, "type": "ok"}, "replicas": [...], "replicas_from": "replica reads"
// Used by CheckHistoryFile, so `faultline run` and `faultline check` write the same results.json.
#pragma once

#include <functional>

#include "checkers/fault_context.h"
#include "checkers/history.h"
#include "reports/results.h"

namespace faultline {

// Calls its argument with every op of the history, in file order.
using OpReader = std::function<void(const std::function<void(const Op&)>&)>;

// Reads the history again (only up to the last op an anomaly names) when some
// anomaly names an op; costs nothing for a history without anomalies.
void AttachFaultContext(const FaultTimeline& timeline, const OpReader& read_ops, RunResults* results);

}  // namespace faultline
