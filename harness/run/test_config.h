// TestConfig: everything that defines a test run, resolved and validated.
// Sources, later ones winning: built-in defaults, the JSON config file
// (--config), command-line flags. JSON keys are the flag names without the
// dashes ("time-limit", "concurrency", ...; "_" is accepted for "-"), plus an
// object per store for its settings ("dynastore", "redis", "etcd", "external", "couchdb": the
// registry, harness/run/registry.h, lists them). The resolved config (seed
// included) is written to the run's test.json, which is itself a valid
// --config: a run repeats exactly from it.
//
// Validation happens before anything is created: every problem is a
// ConfigError whose message names the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/base/config_fields.h"  // ConfigError
#include "harness/nodes/ssh/ssh_config.h"
#include "harness/stores/couchdb/couchdb_config.h"
#include "harness/stores/dynastore/dynastore_config.h"
#include "harness/stores/etcd/etcd_config.h"
#include "harness/stores/external/external_config.h"
#include "harness/stores/redis/redis_config.h"
#include "nemesis/nemesis_config.h"
#include "workloads/cas_register_workload.h"

namespace faultline {

struct TestConfig {
  std::string name;                // test name; default "<db>-<workload>"
  std::string db = "dynastore";    // a store of the registry
  std::string workload = "set";    // a workload of the registry
  int local = 5;                   // number of local namespace nodes
  std::vector<std::string> nodes;  // remote hosts (--nodes / --nodes-file)
  double time_limit = 60;          // seconds of the main phase
  std::string concurrency = "2n";  // as given: "10" or "<k>n"
  double rate = 100;               // ops/s over all workers
  uint64_t seed = 0;
  int test_count = 1;
  std::string store_dir = "store";
  bool leave_db_running = false;
  int op_timeout_ms = 1000;
  double quiesce = 5;                       // seconds between heal and final reads
  double convergence_timeout = 30;          // seconds of replica-read rounds before replicas count as divergent
  int keys = 5;                             // keys of the workload (cas-register: in use at once)
  CasRegisterWorkloadOptions cas_register;  // keys "cas-mix", "ops-per-key", ... (harness/run/workload_config.h)
  std::string subnet;                       // local nodes' /24; empty = pick a free one
  bool containers = false;                  // local nodes as Podman containers (README "Nodes")
  std::string image;                        // containers from this image; empty = an overlay of the host's root
  std::string node_memory;                  // per-container memory limit ("256m"); empty = none
  double node_cpus = 0;                     // per-container CPU limit in cores; 0 = none
  DynastoreConfig dynastore;
  RedisConfig redis;
  EtcdConfig etcd;
  ExternalConfig external;
  CouchdbConfig couchdb;
  SshConfig ssh;          // key "ssh": how --nodes hosts are reached
  NemesisConfig nemesis;  // keys "nemesis", "nemesis-interval", ... (README "Nemesis")

  int node_count() const { return nodes.empty() ? local : static_cast<int>(nodes.size()); }
  int workers() const;  // concurrency resolved against node_count()
};

// The built-in defaults as JSON (what `faultline run --help` documents).
nlohmann::json DefaultConfigJson();

// Merges `overrides` onto `base` (objects recursively; "_" in keys becomes "-").
nlohmann::json MergeConfig(nlohmann::json base, const nlohmann::json& overrides);

// Reads a --config file. Throws ConfigError naming the file and the problem.
nlohmann::json LoadConfigFile(const std::filesystem::path& path);

// Validates and converts. `seed_if_missing` fills "seed" when absent.
// Throws ConfigError ("config: \"rate\" must be > 0, got -3").
// Unless `for_store` is false (`faultline check`: no store is involved), the
// run's db must support every op the workload will invoke (RequireStoreSupport,
// harness/run/registry.h).
TestConfig ResolveConfig(const nlohmann::json& merged, uint64_t seed_if_missing, bool for_store = true);

// The resolved config as written to test.json.
nlohmann::json ToJson(const TestConfig& config);

}  // namespace faultline
