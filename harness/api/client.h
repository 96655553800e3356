// Client: performs one workload operation against one node of a store and
// says what happened: ok (took effect), fail (certainly did not), info
// (unknown: a timeout, a dropped connection, an indeterminate answer).
// One Client per worker; not thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "checkers/history.h"
#include "workloads/workload.h"

namespace faultline {

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
  // Never throws for store or network trouble: that is a fail or an info.
  // An Invocation whose f this client does not know is a fail with an error.
  virtual Completion Invoke(const Invocation& op) = 0;
  // Reads `key` from every one of its replicas directly. nullopt: this store
  // (adapter) has no replica reads, so convergence cannot be judged.
  virtual std::optional<ReplicaRead> ReadReplicas(const std::string& /*key*/) { return std::nullopt; }
};

}  // namespace faultline
