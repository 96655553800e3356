// Client: performs one workload operation against one node of a store and
// says what happened: ok (took effect), fail (certainly did not), info
// (unknown: a timeout, a dropped connection, an indeterminate answer).
// One Client per worker; not thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "checkers/history.h"
#include "workloads/workload.h"

namespace faultline {

// How a Client maps f and value onto its store: one per workload (the
// registry, harness/run/registry.h, maps --workload names to these).
enum class WorkloadKind { kSet, kRegister, kCounter, kCasRegister };

// The kind's name: what users give as --workload and external client
// programs see as FAULTLINE_WORKLOAD. The one place these names are spelled.
inline std::string_view WorkloadKindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kSet:
      return "set";
    case WorkloadKind::kRegister:
      return "register";
    case WorkloadKind::kCounter:
      return "counter";
    case WorkloadKind::kCasRegister:
      return "cas-register";
  }
  return "?";
}

struct Completion {
  OpType type = OpType::kInfo;  // kOk, kFail or kInfo
  nlohmann::json value;         // what the op returned (reads) or wrote
  std::string error;            // why it failed or is unknown; empty when ok
};

// One key as each of its replicas holds it, read directly (no quorum, no
// repair), for the convergence checker.
struct ReplicaRead {
  std::map<std::string, nlohmann::json> replicas;  // replica node -> sorted array of its sibling values
  std::string error;                               // non-empty when a replica could not be read
};

class Client {
 public:
  virtual ~Client() = default;
  // Called once, before the main phase's clock starts (Jepsen's open!):
  // connect, or start what the client needs, so that its start-up neither
  // eats into the phase nor counts as the store's latency. Never throws:
  // trouble shows again at the first op. Default: nothing.
  virtual void Open() {}
  // Never throws for store or network trouble: that is a fail or an info.
  // An Invocation whose f this client does not know is a fail with an error.
  virtual Completion Invoke(const Invocation& op) = 0;
  // Reads `key` from every one of its replicas directly. nullopt: this store
  // (adapter) has no replica reads, so convergence cannot be judged.
  virtual std::optional<ReplicaRead> ReadReplicas(const std::string& /*key*/) { return std::nullopt; }
};

}  // namespace faultline
