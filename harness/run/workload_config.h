// The workload options of a test config (README "Workloads"), read beside
// the rest of TestConfig (test_config.cc) and written back to test.json.
// Every workload's options are in every config; a workload ignores the
// others' (as a run ignores the stores it does not use).
//   "cas-mix"           cas-register's op weights: {"read":1,"write":1,"cas":1},
//                       or the string "read=1,write=1,cas=0" (--cas-mix). An
//                       op the user's object or string omits weighs 0.
//   "ops-per-key"       cas-register: ops on a key before it moves to a fresh key (200)
//   "max-value"         cas-register: values 0..max-value (4)
//   "unique-values"     cas-register: every written value distinct (false)
//   "lin-time-limit-s"  the linearizable checker's budget per key: seconds (10)
//   "lin-memory-mb"     and megabytes (512); past either the key is unknown
//   "all-keys"          the linearizable checker checks every key, not stopping
//                       at the first non-linearizable one (false)
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/base/config_fields.h"
#include "workloads/cas_register_workload.h"

namespace faultline {

// "read=2,write=1,cas=0" or {"read":2,"write":1} (omitted ops weigh 0).
// Throws ConfigError naming "cas-mix".
CasMix ParseCasMix(const nlohmann::json& value);
std::string CasMixText(const CasMix& mix);  // "read=2,write=1,cas=0"

// Reads the keys above from `all` (defaults merged); "cas-mix" from `given`
// (the user's config without defaults) when it has it, so that an object
// naming only read and write leaves cas out. keys is TestConfig::keys.
CasRegisterWorkloadOptions ResolveCasRegisterOptions(const ConfigFields& all, const nlohmann::json& given);

// The keys above, for `faultline check` (which takes them from test.json).
const std::vector<std::string>& WorkloadOptionKeys();

// Adds the keys above to a test.json object.
void AddWorkloadOptionsJson(const CasRegisterWorkloadOptions& options, nlohmann::json* j);

}  // namespace faultline
