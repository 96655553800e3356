#include "harness/run/registry.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "harness/base/harness_error.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "harness/stores/external/external_db.h"
#include "harness/stores/redis/redis_db.h"
#include "nemesis/clock_fault.h"
#include "workloads/counter_workload.h"
#include "workloads/register_workload.h"
#include "workloads/set_workload.h"

namespace faultline {
namespace fs = std::filesystem;

std::unique_ptr<Workload> MakeWorkload(const TestConfig& config) {
  if (config.workload == "set") return std::make_unique<SetWorkload>(SetWorkloadOptions{config.keys});
  if (config.workload == "register") return std::make_unique<RegisterWorkload>(RegisterWorkloadOptions{config.keys});
  if (config.workload == "counter") return std::make_unique<CounterWorkload>(CounterWorkloadOptions{config.keys});
  throw HarnessError("unknown workload " + config.workload);
}

fs::path FindDynastoreBinary(const TestConfig& config) {
  if (!config.dynastore.binary.empty()) {
    const fs::path p = config.dynastore.binary;
    if (::access(p.c_str(), X_OK) != 0) {
      throw HarnessError(fmt::format("dynastore.binary {} is not an executable file", p.string()));
    }
    return fs::absolute(p);
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path dir = self.parent_path();
  // Build tree (build/harness/faultline → build/store/dynastore), then an
  // install with both binaries in one directory.
  const fs::path candidates[] = {dir / ".." / "store" / "dynastore", dir / "dynastore"};
  for (const fs::path& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return fs::weakly_canonical(c);
  }
  throw HarnessError(
      fmt::format("cannot find the dynastore binary (looked for {} and {}); build it or set "
                  "\"dynastore\": {{\"binary\": PATH}} in the config",
                  candidates[0].lexically_normal().string(), candidates[1].string()));
}

bool UsesClockFault(const TestConfig& config) {
  const auto& f = config.nemesis.faults;
  return std::find(f.begin(), f.end(), "clock") != f.end();
}

std::unique_ptr<Database> MakeDatabase(const TestConfig& config) {
  if (config.db == "dynastore") {
    DynastoreOptions o;
    o.binary = FindDynastoreBinary(config);
    o.n = config.dynastore.n;
    o.r = config.dynastore.r;
    o.w = config.dynastore.w;
    o.partitions = config.dynastore.partitions;
    o.sync = config.dynastore.sync;
    o.extra_args = config.dynastore.args;
    if (UsesClockFault(config)) o.node_env = FaketimeEnv;
    return std::make_unique<DynastoreDb>(std::move(o));
  }
  if (config.db == "redis-cluster") {
    RedisClusterOptions o;
    o.replicas_per_master = config.redis.replicas_per_master;
    o.port = config.redis.port;
    o.node_timeout_ms = config.redis.node_timeout_ms;
    o.binary = config.redis.binary;
    o.cli = config.redis.cli;
    return std::make_unique<RedisClusterDb>(std::move(o));
  }
  if (config.db == "external") {
    const ExternalConfig& e = config.external;
    ExternalOptions o;
    o.install = e.install;
    o.start = e.start;
    o.kill = e.kill;
    o.pause = e.pause;
    o.resume = e.resume;
    o.stop = e.stop;
    o.wipe = e.wipe;
    o.health = e.health;
    o.client = e.client;
    o.logs = e.logs;
    o.port = e.port;
    return std::make_unique<ExternalDb>(std::move(o));
  }
  throw HarnessError("unknown db " + config.db);
}

}  // namespace faultline
