// The one table of the stores (--db) and the one of the workloads
// (--workload): each name with its config parser, defaults and factory.
// Everything that lists or checks these names derives from the tables:
// ResolveConfig's validation and error messages, test.json's store objects,
// the CLI's help and messages. Adding a store is one entry in Stores().
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "harness/base/config_fields.h"
#include "harness/run/test_config.h"
#include "workloads/workload.h"

namespace faultline {

struct StoreEntry {
  std::string name;  // --db, e.g. "redis-cluster"
  std::string key;   // its config object, e.g. "redis"
  // Reads the config object into TestConfig; `selected` when `name` is the
  // run's db (only then are the values checked against the cluster). Throws
  // ConfigError naming the field.
  std::function<void(const ConfigFields& object, bool selected, TestConfig* config)> parse;
  // The config object of `config` as test.json holds it (of TestConfig{}: the defaults).
  std::function<nlohmann::json(const TestConfig& config)> to_json;
  std::function<std::unique_ptr<Database>(const TestConfig& config)> make;
  // What the adapter declares it cannot do: why it cannot run op `f` of a
  // workload ("" when it can), e.g. dynastore's "cas" of cas-register.
  std::function<std::string(const TestConfig& config, WorkloadKind kind, const std::string& f)> unsupported;
  // Why a nemesis fault ("clock") cannot act on this store ("" when it can);
  // null when every fault can. The run warns (harness/run/fault_plan.h) and
  // counts it as never injected.
  std::function<std::string(const TestConfig& config, const std::string& fault)> unsupported_fault;
};

struct WorkloadEntry {
  WorkloadKind kind;  // its name is WorkloadKindName(kind)
  std::string help;   // what --help adds after the name; may be empty
  std::function<std::unique_ptr<Workload>(const TestConfig& config)> make;
  // Every f the workload may invoke, and the ones `config` makes it invoke.
  std::vector<std::string> all_ops;
  std::function<std::vector<std::string>(const TestConfig& config)> ops;
  // How to leave an op out, for errors ("" when every op is needed).
  std::string leave_out;
};

// In the order help text lists them.
const std::vector<StoreEntry>& Stores();
const std::vector<WorkloadEntry>& Workloads();
// nullptr when unknown.
const StoreEntry* FindStore(const std::string& name);
const WorkloadEntry* FindWorkload(const std::string& name);
// The names joined by `separator`, in table order, or sorted (error messages).
std::string StoreNames(const std::string& separator, bool sorted = false);
std::string WorkloadNames(const std::string& separator, bool sorted = false);

// Throw HarnessError for a name the tables do not have (ResolveConfig has checked it).
std::unique_ptr<Workload> MakeWorkload(const TestConfig& config);
std::unique_ptr<Database> MakeDatabase(const TestConfig& config);
// What every client of the run is given: op timeout and the typed workload.
ClientOptions MakeClientOptions(const TestConfig& config);

// Throws ConfigError unless config.db supports every op config.workload
// will invoke; the message names the store, the op, why, and the fix.
void RequireStoreSupport(const TestConfig& config);

// Why `fault` cannot act on config.db ("" when it can), from its StoreEntry.
std::string UnsupportedFault(const TestConfig& config, const std::string& fault);

// Whether the nemesis may skew clocks (the store then runs under libfaketime).
bool UsesClockFault(const TestConfig& config);

// The dynastore binary: config.dynastore.binary, else the one built or
// installed next to this faultline binary. Throws HarnessError listing the
// places it looked.
std::filesystem::path FindDynastoreBinary(const TestConfig& config);

}  // namespace faultline
