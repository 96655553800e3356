#include "harness/run/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/stores/couchdb/couchdb_client.h"
#include "harness/stores/couchdb/couchdb_db.h"
#include "harness/stores/dynastore/dynastore_client.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "harness/stores/etcd/etcd_client.h"
#include "harness/stores/etcd/etcd_db.h"
#include "harness/stores/external/external_db.h"
#include "harness/stores/redis/redis_client.h"
#include "harness/stores/redis/redis_db.h"
#include "nemesis/clock_fault.h"
#include "workloads/cas_register_workload.h"
#include "workloads/counter_workload.h"
#include "workloads/register_workload.h"
#include "workloads/set_workload.h"

namespace faultline {
namespace fs = std::filesystem;

namespace {

// An entry for a store whose config is TestConfig::*field, read by `parse`
// and written by its ToJson overload.
// `unsupported` is the adapter's declaration (beside its client) of what it cannot run.
template <typename Config>
StoreEntry Store(std::string name, std::string key, Config TestConfig::*field,
                 Config (*parse)(const ConfigFields&, bool, int),
                 std::function<std::unique_ptr<Database>(const TestConfig&)> make,
                 std::string (*unsupported)(const Config&, WorkloadKind, std::string_view),
                 std::string (*unsupported_fault)(const TestConfig&, const std::string&) = nullptr) {
  return StoreEntry{std::move(name),
                    std::move(key),
                    [field, parse](const ConfigFields& object, bool selected, TestConfig* c) {
                      c->*field = parse(object, selected, c->node_count());
                    },
                    [field](const TestConfig& c) { return ToJson(c.*field); },
                    std::move(make),
                    [field, unsupported](const TestConfig& c, WorkloadKind kind, const std::string& f) {
                      return unsupported(c.*field, kind, f);
                    },
                    unsupported_fault};
}

std::unique_ptr<Workload> MakeCasRegister(const TestConfig& c) {
  CasRegisterWorkloadOptions o = c.cas_register;
  o.keys = c.keys;
  return std::make_unique<CasRegisterWorkload>(o);
}

// The ops cas-register invokes: those its mix weighs above 0.
std::vector<std::string> CasRegisterOps(const TestConfig& c) {
  std::vector<std::string> ops;
  if (c.cas_register.mix.read > 0) ops.push_back("read");
  if (c.cas_register.mix.write > 0) ops.push_back("write");
  if (c.cas_register.mix.cas > 0) ops.push_back("cas");
  return ops;
}

std::unique_ptr<Database> MakeDynastore(const TestConfig& config) {
  DynastoreOptions o(config.dynastore);
  o.binary = FindDynastoreBinary(config).string();
  // Local nodes (namespaces, containers) share this machine: each gets its
  // share of the cores as request threads, as dynastore's own default (one
  // per core) is meant for a machine of its own. On 2 cores, 3 nodes with one
  // thread each served 12-24% more ops than with two (issue 19's note).
  if (config.nodes.empty()) {
    o.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, config.local));
  }
  if (UsesClockFault(config)) o.node_env = FaketimeEnv;
  return std::make_unique<DynastoreDb>(std::move(o));
}

std::unique_ptr<Database> MakeRedis(const TestConfig& config) {
  return std::make_unique<RedisClusterDb>(RedisClusterOptions(config.redis));
}

std::unique_ptr<Database> MakeEtcd(const TestConfig& config) {
  return std::make_unique<EtcdDb>(EtcdOptions(config.etcd));
}

// The clock nemesis rewrites an offset file that libfaketime reads inside
// the store; only dynastore's adapter preloads it (MakeDynastore's node_env).
std::string NoFaketime(const TestConfig& config, const std::string& fault) {
  if (fault != "clock") return "";
  return fmt::format("the {} adapter does not run the store under libfaketime, so skewing its clock changes nothing",
                     config.db);
}

// libfaketime replaces libc's clock functions; Go reads the clock through
// the vDSO, never libc, and every node here shares the machine's one kernel clock.
std::string EtcdUnsupportedFault(const TestConfig& /*config*/, const std::string& fault) {
  if (fault != "clock") return "";
  return "etcd is a Go program, which reads the clock through the kernel's vDSO rather than libc, so libfaketime "
         "cannot skew it (and the nodes share this machine's one kernel clock)";
}

std::unique_ptr<Database> MakeCouchdb(const TestConfig& config) {
  return std::make_unique<CouchdbDb>(CouchdbOptions(config.couchdb));
}

// The clients "external": {"client": NAME} may name instead of a program.
const std::vector<std::string>& BuiltinClients() {
  static const std::vector<std::string> names = {"couchdb"};
  return names;
}

// The couchdb client on the user's own CouchDB-API cluster: "external.port"
// when given, else "couchdb.port"; a new database per test, created by the
// clients (nobody else knows its name).
ExternalOptions ExternalWithCouchdbClient(ExternalOptions o, const TestConfig& config) {
  const int port = config.external.port != 0 ? config.external.port : config.couchdb.port;
  const std::string database = NewCouchdbDatabaseName(config.couchdb.database);
  const bool resolve = config.couchdb.resolve_conflicts;
  o.builtin_client = [port, database, resolve](const NodeInfo& node, const std::vector<NodeInfo>& nodes,
                                               const ClientOptions& options) -> std::unique_ptr<Client> {
    CouchdbClientSpec spec;
    spec.address = node.address;
    spec.port = port;
    spec.database = database;
    spec.resolve_conflicts = resolve;
    spec.create_database = true;
    for (const NodeInfo& n : nodes) spec.members[n.name] = n.address;
    return std::make_unique<CouchdbClient>(std::move(spec), options);
  };
  return o;
}

std::unique_ptr<Database> MakeExternal(const TestConfig& config) {
  ExternalOptions o(config.external);
  if (config.external.client_name == "couchdb") o = ExternalWithCouchdbClient(std::move(o), config);
  return std::make_unique<ExternalDb>(std::move(o));
}

// The external entry, with a built-in client's name checked and its support used.
StoreEntry ExternalStore() {
  StoreEntry e = Store("external", "external", &TestConfig::external, &ParseExternalConfig, &MakeExternal,
                       &ExternalUnsupported, &NoFaketime);
  e.parse = [](const ConfigFields& object, bool selected, TestConfig* c) {
    c->external = ParseExternalConfig(object, selected, c->node_count());
    const std::string& name = c->external.client_name;
    if (!name.empty() && std::find(BuiltinClients().begin(), BuiltinClients().end(), name) == BuiltinClients().end()) {
      FailConfig(fmt::format(
          "\"external.client\" names no built-in client: \"{}\" (known: {}); a client program is an argv array", name,
          fmt::join(BuiltinClients(), ", ")));
    }
  };
  e.unsupported = [](const TestConfig& c, WorkloadKind kind, const std::string& f) {
    if (c.external.client_name == "couchdb") return CouchdbUnsupported(c.couchdb, kind, f);
    return ExternalUnsupported(c.external, kind, f);
  };
  return e;
}

// The couchdb entry: its values are checked when the run's db is couchdb or
// its external client is (ExternalStore parses "external" first).
StoreEntry CouchdbStore() {
  StoreEntry e = Store("couchdb", "couchdb", &TestConfig::couchdb, &ParseCouchdbConfig, &MakeCouchdb,
                       &CouchdbUnsupported, &NoFaketime);
  e.parse = [](const ConfigFields& object, bool selected, TestConfig* c) {
    const bool used = selected || (c->db == "external" && c->external.client_name == "couchdb");
    c->couchdb = ParseCouchdbConfig(object, used, c->node_count());
  };
  return e;
}

template <typename Entry, typename NameOf>
std::string JoinNames(const std::vector<Entry>& entries, NameOf name_of, const std::string& separator, bool sorted) {
  std::vector<std::string> names;
  for (const Entry& e : entries) names.emplace_back(name_of(e));
  if (sorted) std::sort(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, separator));
}

}  // namespace

const std::vector<StoreEntry>& Stores() {
  static const std::vector<StoreEntry> stores = {
      Store("dynastore", "dynastore", &TestConfig::dynastore, &ParseDynastoreConfig, &MakeDynastore,
            &DynastoreUnsupported),
      Store("redis-cluster", "redis", &TestConfig::redis, &ParseRedisConfig, &MakeRedis, &RedisUnsupported,
            &NoFaketime),
      Store("etcd", "etcd", &TestConfig::etcd, &ParseEtcdConfig, &MakeEtcd, &EtcdUnsupported, &EtcdUnsupportedFault),
      ExternalStore(),
      CouchdbStore(),  // after external: it reads whether external's client is couchdb
  };
  return stores;
}

const std::vector<WorkloadEntry>& Workloads() {
  const auto fixed = [](std::vector<std::string> ops) { return [ops](const TestConfig&) { return ops; }; };
  static const std::vector<WorkloadEntry> workloads = {
      {WorkloadKind::kSet,
       "",
       [](const TestConfig& c) { return std::make_unique<SetWorkload>(SetWorkloadOptions{c.keys}); },
       {"add", "read"},
       fixed({"add", "read"}),
       ""},
      {WorkloadKind::kRegister,
       "lost updates",
       [](const TestConfig& c) { return std::make_unique<RegisterWorkload>(RegisterWorkloadOptions{c.keys}); },
       {"rmw", "read"},
       fixed({"rmw", "read"}),
       ""},
      {WorkloadKind::kCounter,
       "",
       [](const TestConfig& c) { return std::make_unique<CounterWorkload>(CounterWorkloadOptions{c.keys}); },
       {"add", "read"},
       fixed({"add", "read"}),
       ""},
      {WorkloadKind::kCasRegister,
       "linearizability: read, write, cas; --cas-mix",
       &MakeCasRegister,
       {"read", "write", "cas"},
       &CasRegisterOps,
       "give it weight 0 in \"cas-mix\", e.g. \"cas-mix\": {\"read\": 1, \"write\": 1, \"cas\": 0} "
       "(--cas-mix read=1,write=1,cas=0)"},
  };
  return workloads;
}

const StoreEntry* FindStore(const std::string& name) {
  for (const StoreEntry& e : Stores()) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const WorkloadEntry* FindWorkload(const std::string& name) {
  for (const WorkloadEntry& e : Workloads()) {
    if (WorkloadKindName(e.kind) == name) return &e;
  }
  return nullptr;
}

std::string StoreNames(const std::string& separator, bool sorted) {
  return JoinNames(
      Stores(), [](const StoreEntry& e) { return e.name; }, separator, sorted);
}

std::string WorkloadNames(const std::string& separator, bool sorted) {
  return JoinNames(
      Workloads(), [](const WorkloadEntry& e) { return WorkloadKindName(e.kind); }, separator, sorted);
}

std::unique_ptr<Workload> MakeWorkload(const TestConfig& config) {
  const WorkloadEntry* entry = FindWorkload(config.workload);
  if (entry == nullptr) throw HarnessError("unknown workload " + config.workload);
  return entry->make(config);
}

std::unique_ptr<Database> MakeDatabase(const TestConfig& config) {
  const StoreEntry* entry = FindStore(config.db);
  if (entry == nullptr) throw HarnessError("unknown db " + config.db);
  return entry->make(config);
}

ClientOptions MakeClientOptions(const TestConfig& config) {
  const WorkloadEntry* entry = FindWorkload(config.workload);
  if (entry == nullptr) throw HarnessError("unknown workload " + config.workload);
  return ClientOptions{std::chrono::milliseconds(config.op_timeout_ms), entry->kind};
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

void RequireStoreSupport(const TestConfig& config) {
  const StoreEntry* store = FindStore(config.db);
  const WorkloadEntry* workload = FindWorkload(config.workload);
  if (store == nullptr || workload == nullptr || !store->unsupported) return;  // ResolveConfig named them
  const std::string name(WorkloadKindName(workload->kind));
  // The store cannot run the workload at all: nothing to leave out.
  std::vector<std::string> reasons;
  for (const std::string& f : workload->all_ops) {
    std::string why = store->unsupported(config, workload->kind, f);
    if (why.empty()) break;
    reasons.push_back(std::move(why));
  }
  if (reasons.size() == workload->all_ops.size()) {
    FailConfig(fmt::format("\"db\" {} cannot run the {} workload: {}", config.db, name, reasons.front()));
  }
  for (const std::string& f : workload->ops(config)) {
    const std::string why = store->unsupported(config, workload->kind, f);
    if (why.empty()) continue;
    FailConfig(
        fmt::format("the {} workload would invoke {}, which \"db\" {} does not support ({}){}", name, f, config.db, why,
                    workload->leave_out.empty() ? "" : fmt::format("; to leave {} out, {}", f, workload->leave_out)));
  }
}

std::string UnsupportedFault(const TestConfig& config, const std::string& fault) {
  const StoreEntry* store = FindStore(config.db);
  return store == nullptr || !store->unsupported_fault ? "" : store->unsupported_fault(config, fault);
}

bool UsesClockFault(const TestConfig& config) {
  const auto& f = config.nemesis.faults;
  return std::find(f.begin(), f.end(), "clock") != f.end();
}

}  // namespace faultline
