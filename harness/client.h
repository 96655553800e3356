// Client: performs one workload operation against one node of a store and
// says what happened: ok (took effect), fail (certainly did not), info
// (unknown: a timeout, a dropped connection, an indeterminate answer).
// One Client per worker; not thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "history.h"
#include "workload.h"

namespace faultline {

struct Completion {
  OpType type = OpType::kInfo;  // kOk, kFail or kInfo
  nlohmann::json value;         // what the op returned (reads) or wrote
  std::string error;            // why it failed or is unknown; empty when ok
};

class Client {
 public:
  virtual ~Client() = default;
  // Never throws for store or network trouble: that is a fail or an info.
  // An Invocation whose f this client does not know is a fail with an error.
  virtual Completion Invoke(const Invocation& op) = 0;
};

}  // namespace faultline
