// The cas-register workload's config keys and CLI-facing errors: defaults,
// the mix's two forms, test.json round trips, the linearizable checker's
// budget, and stores refusing ops they do not declare (cas on dynastore).
#include "harness/run/workload_config.h"

#include <gtest/gtest.h>

#include <set>

#include "harness/run/registry.h"
#include "harness/run/test_config.h"

namespace faultline {
namespace {

using json = nlohmann::json;

std::string ErrorOf(const json& config, bool for_store = true) {
  try {
    ResolveConfig(config, 1, for_store);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CasRegisterConfig, Defaults) {
  const TestConfig c = ResolveConfig({{"workload", "cas-register"}, {"db", "redis-cluster"}, {"local", 6}}, 1);
  EXPECT_EQ(c.cas_register.mix, (CasMix{1, 1, 1}));
  EXPECT_EQ(c.cas_register.ops_per_key, 200);
  EXPECT_EQ(c.cas_register.max_value, 4);
  EXPECT_FALSE(c.cas_register.unique_values);
  EXPECT_EQ(c.cas_register.checker.time_limit_s, 10);
  EXPECT_EQ(c.cas_register.checker.memory_mb, 512);
  EXPECT_FALSE(c.cas_register.checker.all_keys);
}

TEST(CasRegisterConfig, KeysAndUnderscoresAndTestJsonRoundTrip) {
  const json given = {{"workload", "cas-register"},
                      {"db", "redis-cluster"},
                      {"local", 6},
                      {"cas_mix", {{"read", 3}, {"cas", 2}}},
                      {"ops_per_key", 50},
                      {"max_value", 9},
                      {"unique_values", true},
                      {"lin_time_limit_s", 2.5},
                      {"lin_memory_mb", 64},
                      {"all_keys", true}};
  const TestConfig c = ResolveConfig(given, 1);
  EXPECT_EQ(c.cas_register.mix, (CasMix{3, 0, 2})) << "an op the object omits weighs 0";
  EXPECT_EQ(c.cas_register.ops_per_key, 50);
  EXPECT_EQ(c.cas_register.max_value, 9);
  EXPECT_TRUE(c.cas_register.unique_values);
  EXPECT_EQ(c.cas_register.checker.time_limit_s, 2.5);
  EXPECT_EQ(c.cas_register.checker.memory_mb, 64);
  EXPECT_TRUE(c.cas_register.checker.all_keys);
  const json written = ToJson(c);
  EXPECT_EQ(written["cas-mix"], (json{{"read", 3}, {"write", 0}, {"cas", 2}}));
  EXPECT_EQ(ToJson(ResolveConfig(written, 2)), written);
  // The workload the registry makes follows the options: no write in this mix but the first op changing a
  // key (a unique-values cas with nothing to expect is a write), and keys move on after 50 ops.
  std::unique_ptr<Workload> w = MakeWorkload(c);
  std::mt19937_64 rng(1);
  std::set<std::string> written_keys;
  for (int i = 0; i < 1000; ++i) {
    const Invocation op = w->Next(rng);
    if (op.f == "read") continue;
    EXPECT_EQ(op.f == "write", written_keys.insert(op.key).second) << op.f << " " << op.key;
  }
  EXPECT_GT(written_keys.size(), 5u);
}

TEST(CasRegisterConfig, TheMixAsAString) {
  EXPECT_EQ(ParseCasMix("read=2,write=1,cas=0"), (CasMix{2, 1, 0}));
  EXPECT_EQ(ParseCasMix("write=1"), (CasMix{0, 1, 0}));
  EXPECT_EQ(CasMixText({2, 1, 0}), "read=2,write=1,cas=0");
  for (const json& bad : {json("read=1,append=1"), json("read=-1,write=1"), json("read"), json("read=0,write=0"),
                          json(json::object()), json({{"read", "1"}}), json(7)}) {
    EXPECT_NE(ErrorOf({{"db", "redis-cluster"}, {"local", 6}, {"cas-mix", bad}}).find("\"cas-mix\" must be weights"),
              std::string::npos)
        << bad.dump();
  }
}

TEST(CasRegisterConfig, BadValuesNameTheKey) {
  EXPECT_NE(ErrorOf({{"ops-per-key", 0}}).find("\"ops-per-key\" must be >= 1"), std::string::npos);
  EXPECT_NE(ErrorOf({{"max-value", 0}}).find("\"max-value\" must be >= 1"), std::string::npos);
  EXPECT_NE(ErrorOf({{"lin-time-limit-s", 0}}).find("\"lin-time-limit-s\" must be > 0"), std::string::npos);
  EXPECT_NE(ErrorOf({{"lin-memory-mb", -5}}).find("\"lin-memory-mb\" must be >= 1"), std::string::npos);
  EXPECT_NE(ErrorOf({{"unique-values", "yes"}}).find("\"unique-values\" must be true or false"), std::string::npos);
}

TEST(CasRegisterConfig, DynastoreRefusesCasNamingTheStoreAndTheFix) {
  const std::string error = ErrorOf({{"workload", "cas-register"}, {"db", "dynastore"}});
  EXPECT_NE(error.find("the cas-register workload would invoke cas, which \"db\" dynastore does not support"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("no compare-and-set"), std::string::npos) << error;
  EXPECT_NE(error.find("--cas-mix read=1,write=1,cas=0"), std::string::npos) << error;
  // The default db is dynastore too.
  EXPECT_NE(ErrorOf({{"workload", "cas-register"}}).find("dynastore does not support"), std::string::npos);
  // Without cas in the mix dynastore runs it; other workloads never had cas.
  EXPECT_EQ(ErrorOf({{"workload", "cas-register"}, {"cas-mix", "read=1,write=1,cas=0"}}), "");
  EXPECT_EQ(ErrorOf({{"workload", "cas-register"}, {"cas-mix", {{"read", 2}, {"write", 1}}}}), "");
  EXPECT_EQ(ErrorOf({{"workload", "set"}}), "");
  // Redis Cluster has cas; `faultline check` involves no store.
  EXPECT_EQ(ErrorOf({{"workload", "cas-register"}, {"db", "redis-cluster"}, {"local", 6}}), "");
  EXPECT_EQ(ErrorOf({{"workload", "cas-register"}}, /*for_store=*/false), "");
}

TEST(CasRegisterConfig, TheExternalAdapterRunsCasRegisterOnlyWhenItsProgramDeclaresIt) {
  const json external = {{"start", {"store"}}, {"client", {"client"}}};
  const std::string error = ErrorOf({{"workload", "cas-register"}, {"db", "external"}, {"external", external}});
  EXPECT_NE(error.find("\"db\" external cannot run the cas-register workload"), std::string::npos) << error;
  EXPECT_NE(error.find("\"external.workloads\""), std::string::npos) << error;
  json declared = external;
  declared["workloads"] = {"cas-register"};
  EXPECT_EQ(ErrorOf({{"workload", "cas-register"}, {"db", "external"}, {"external", declared}}), "");
  EXPECT_NE(ErrorOf({{"workload", "set"}, {"db", "external"}, {"external", declared}})
                .find("\"db\" external cannot run the set workload"),
            std::string::npos);
  declared["workloads"] = {"bank"};
  EXPECT_NE(ErrorOf({{"db", "external"}, {"external", declared}}).find("unknown workload \"bank\""), std::string::npos);
}

}  // namespace
}  // namespace faultline
