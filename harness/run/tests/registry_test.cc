// The registry: every store parses and writes back its own defaults, every
// name the tables hold resolves, and an unknown name's error lists them all.
#include "harness/run/registry.h"

#include <gtest/gtest.h>

#include <set>

namespace faultline {
namespace {

using json = nlohmann::json;

std::string RegistryError(const json& config) {
  try {
    ResolveConfig(config, 1);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Registry, EveryStoreParsesItsDefaultsAndWritesThemBack) {
  const TestConfig defaults;
  const json all = DefaultConfigJson();
  for (const StoreEntry& store : Stores()) {
    SCOPED_TRACE(store.name);
    const json object = store.to_json(defaults);
    ASSERT_TRUE(object.is_object());
    EXPECT_EQ(all.at(store.key), object);  // the defaults are what test.json and --help show
    TestConfig parsed;
    store.parse(ConfigFields(object, store.key + "."), /*selected=*/false, &parsed);
    EXPECT_EQ(store.to_json(parsed), object);
    EXPECT_EQ(FindStore(store.name), &store);
  }
}

TEST(Registry, NamesAndKeysAreUnique) {
  std::set<std::string> names, keys, workloads;
  for (const StoreEntry& store : Stores()) {
    EXPECT_TRUE(names.insert(store.name).second) << store.name;
    EXPECT_TRUE(keys.insert(store.key).second) << store.key;
  }
  for (const WorkloadEntry& w : Workloads()) {
    EXPECT_TRUE(workloads.insert(std::string(WorkloadKindName(w.kind))).second) << WorkloadKindName(w.kind);
  }
}

TEST(Registry, EveryWorkloadResolvesToItsKindAndWorkload) {
  for (const WorkloadEntry& w : Workloads()) {
    const std::string name(WorkloadKindName(w.kind));
    SCOPED_TRACE(name);
    // A store that runs every op of the workload (dynastore has no cas for cas-register).
    const json db = w.kind == WorkloadKind::kCasRegister ? json("redis-cluster") : json("dynastore");
    const TestConfig c = ResolveConfig({{"workload", name}, {"db", db}, {"local", 6}}, 1);
    EXPECT_EQ(c.workload, name);
    EXPECT_EQ(FindWorkload(name), &w);
    EXPECT_EQ(MakeWorkload(c)->name(), name);
    EXPECT_EQ(MakeClientOptions(c).workload, w.kind);
    EXPECT_EQ(MakeClientOptions(c).op_timeout, std::chrono::milliseconds(c.op_timeout_ms));
  }
}

TEST(Registry, UnknownNamesListTheKnownOnes) {
  const std::string db = RegistryError({{"db", "cassandra"}});
  EXPECT_NE(db.find("unknown \"db\" \"cassandra\" (known: couchdb, dynastore, etcd, external, redis-cluster)"),
            std::string::npos)
      << db;
  for (const StoreEntry& store : Stores()) EXPECT_NE(db.find(store.name), std::string::npos) << store.name;

  const std::string workload = RegistryError({{"workload", "bank"}});
  EXPECT_NE(workload.find("unknown \"workload\" \"bank\" (known: cas-register, counter, register, set)"),
            std::string::npos)
      << workload;
  EXPECT_EQ(FindStore("cassandra"), nullptr);
  EXPECT_EQ(FindWorkload("bank"), nullptr);
}

TEST(Registry, NameListsFollowTheTables) {
  EXPECT_EQ(StoreNames(", "), "dynastore, redis-cluster, etcd, external, couchdb");
  EXPECT_EQ(WorkloadNames("|"), "set|register|counter|cas-register");  // `faultline check`'s hint
  EXPECT_EQ(WorkloadNames(", ", /*sorted=*/true), "cas-register, counter, register, set");
}

// What a store declares it cannot take: the clock fault anywhere but on
// dynastore (libfaketime), and on etcd for its own reason (a Go program). The
// config is not refused: the run warns and counts the kind as not injected.
TEST(Registry, StoresDeclareFaultsTheyCannotTake) {
  const TestConfig etcd = ResolveConfig({{"db", "etcd"}, {"nemesis", "partition,clock,kill"}}, 1);
  EXPECT_NE(UnsupportedFault(etcd, "clock").find("etcd is a Go program"), std::string::npos);
  EXPECT_EQ(UnsupportedFault(etcd, "partition"), "");
  const TestConfig redis = ResolveConfig({{"db", "redis-cluster"}, {"local", 6}, {"nemesis", "clock"}}, 1);
  EXPECT_NE(UnsupportedFault(redis, "clock").find("does not run the store under libfaketime"), std::string::npos);
  EXPECT_EQ(UnsupportedFault(ResolveConfig({{"nemesis", "clock"}}, 1), "clock"), "");  // dynastore
}

TEST(Registry, EtcdConfigIsCheckedNamingTheField) {
  EXPECT_NE(
      RegistryError({{"db", "etcd"}, {"etcd", {{"client-port", 0}}}}).find("\"etcd.client-port\" must be between"),
      std::string::npos);
  EXPECT_NE(RegistryError({{"db", "etcd"}, {"etcd", {{"peer-port", 2379}}}}).find("must differ"), std::string::npos);
  EXPECT_NE(RegistryError({{"db", "etcd"}, {"etcd", {{"args", {"--data-dir=/x"}}}}}).find("must not set --data-dir"),
            std::string::npos);
  EXPECT_NE(
      RegistryError({{"db", "etcd"}, {"etcd", {{"serializable", true}}}}).find("unknown key \"etcd.serializable\""),
      std::string::npos);
  const TestConfig c = ResolveConfig({{"db", "etcd"}, {"etcd", {{"serializable-reads", true}}}}, 1);
  EXPECT_TRUE(c.etcd.serializable_reads);
  EXPECT_EQ(c.etcd.client_port, 2379);
  EXPECT_EQ(MakeDatabase(c)->name(), "etcd");
}

TEST(Registry, CouchdbConfigIsCheckedNamingTheField) {
  const TestConfig c = ResolveConfig({{"db", "couchdb"}, {"couchdb", {{"resolve-conflicts", false}}}}, 1);
  EXPECT_FALSE(c.couchdb.resolve_conflicts);
  EXPECT_EQ(c.couchdb.port, 5984);
  EXPECT_EQ(MakeDatabase(c)->name(), "couchdb");
  EXPECT_NE(RegistryError({{"db", "couchdb"}, {"couchdb", {{"port", 70000}}}}).find("\"couchdb.port\" must be between"),
            std::string::npos);
  EXPECT_NE(RegistryError({{"db", "couchdb"}, {"couchdb", {{"database", "Faultline"}}}})
                .find("\"couchdb.database\" must start with a lowercase letter"),
            std::string::npos);
  EXPECT_NE(RegistryError({{"db", "couchdb"}, {"couchdb", {{"resolve-conflicts", "no"}}}})
                .find("\"couchdb.resolve-conflicts\" must be true or false"),
            std::string::npos);
  // The client maps set and register; the others are refused before anything starts.
  const std::string counter = RegistryError({{"db", "couchdb"}, {"workload", "counter"}});
  EXPECT_NE(counter.find("cannot run the counter workload: the couchdb client maps the set and register workloads"),
            std::string::npos)
      << counter;
  EXPECT_NE(UnsupportedFault(c, "clock").find("does not run the store under libfaketime"), std::string::npos);
}

// "external": {"client": "couchdb"}: the user's lifecycle, the built-in client.
TEST(Registry, ExternalTakesABuiltInClientByName) {
  const json external = {{"start", {"my-couchdb", "{address}"}}, {"client", "couchdb"}, {"port", 5985}};
  const TestConfig c = ResolveConfig({{"db", "external"}, {"workload", "register"}, {"external", external}}, 1);
  EXPECT_EQ(c.external.client_name, "couchdb");
  EXPECT_TRUE(c.external.client.empty());
  EXPECT_EQ(ToJson(c)["external"]["client"], "couchdb");  // test.json reads back the same
  EXPECT_EQ(ResolveConfig(ToJson(c), 1).external.client_name, "couchdb");
  // Its workloads are the couchdb client's, not "external.workloads".
  EXPECT_NE(RegistryError({{"db", "external"}, {"workload", "counter"}, {"external", external}})
                .find("the couchdb client maps the set and register workloads"),
            std::string::npos);
  // The couchdb object is checked when the external client uses it.
  EXPECT_NE(RegistryError({{"db", "external"}, {"external", external}, {"couchdb", {{"database", "_x"}}}})
                .find("\"couchdb.database\""),
            std::string::npos);
  json unknown = external;
  unknown["client"] = "riak";
  EXPECT_NE(RegistryError({{"db", "external"}, {"external", unknown}})
                .find("\"external.client\" names no built-in client: \"riak\" (known: couchdb)"),
            std::string::npos);
  unknown["client"] = 3;
  EXPECT_NE(RegistryError({{"db", "external"}, {"external", unknown}}).find("\"external.client\" must be an array"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline
