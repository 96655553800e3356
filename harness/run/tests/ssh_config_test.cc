// The "ssh" part of TestConfig: defaults, flags' keys, per-host overrides,
// validation messages naming the field, and the password never reaching
// test.json.
#include <gtest/gtest.h>

#include "harness/nodes/ssh/ssh_environment.h"
#include "harness/run/test_config.h"

namespace faultline {
namespace {

using json = nlohmann::json;

std::string SshConfigError(const json& j) {
  try {
    ResolveConfig(j, 1);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const json kNodes = json::array({"a_1", "b", "c"});

TEST(SshConfig, DefaultsAndPerHostOverrides) {
  const TestConfig c =
      ResolveConfig(MergeConfig({{"nodes", kNodes}}, {{"ssh",
                                                       {{"nodes", {{"a_1", {{"port", 2222}, {"username", "ops"}}}}},
                                                        {"username", "admin"},
                                                        {"strict_host_key_checking", "no"}}}}),
                    1);
  EXPECT_EQ(c.node_count(), 3);
  EXPECT_EQ(c.ssh.port, 22);
  EXPECT_EQ(c.ssh.connect_timeout_ms, 10000);
  EXPECT_FALSE(c.ssh.strict_host_key_checking);
  const SshOptions a = SshOptionsFor(c.ssh, "a_1");  // the host name keeps its underscore
  EXPECT_EQ(a.port, 2222);
  EXPECT_EQ(a.username, "ops");
  const SshOptions b = SshOptionsFor(c.ssh, "b");
  EXPECT_EQ(b.port, 22);
  EXPECT_EQ(b.username, "admin");
  EXPECT_TRUE(ResolveConfig(json::object(), 1).ssh.strict_host_key_checking);
  EXPECT_EQ(ResolveConfig(json::object(), 1).ssh.username, "root");
}

TEST(SshConfig, BadValuesNameTheField) {
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", {{"port", 0}}}}).find("\"ssh.port\""), std::string::npos);
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", {{"strict-host-key-checking", "maybe"}}}})
                .find("\"ssh.strict-host-key-checking\""),
            std::string::npos);
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", {{"remote-dir", "relative/dir"}}}}).find("\"ssh.remote-dir\""),
            std::string::npos);
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", {{"private-key", "/fl/no/such/key"}}}}).find("/fl/no/such/key"),
            std::string::npos);
  EXPECT_NE(
      SshConfigError({{"nodes", kNodes}, {"ssh", {{"known-hosts", "/fl/no/known_hosts"}}}}).find("\"ssh.known-hosts\""),
      std::string::npos);
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", {{"nodes", {{"zz", {{"port", 1}}}}}}}}).find("\"zz\""),
            std::string::npos);
  EXPECT_NE(
      SshConfigError({{"nodes", kNodes}, {"ssh", {{"nodes", {{"b", {{"colour", 1}}}}}}}}).find("ssh.nodes.b.colour"),
      std::string::npos);
  EXPECT_NE(
      SshConfigError({{"nodes", kNodes}, {"ssh", {{"connect-timeout-ms", -5}}}}).find("\"ssh.connect-timeout-ms\""),
      std::string::npos);
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", {{"user", "x"}}}}).find("unknown key \"ssh.user\""),
            std::string::npos);
  EXPECT_NE(SshConfigError({{"nodes", kNodes}, {"ssh", "root"}}).find("\"ssh\" must be an object"), std::string::npos);
}

TEST(SshConfig, TestJsonNeverHoldsThePasswordAndRepeatsTheRun) {
  const TestConfig c = ResolveConfig(
      {{"nodes", kNodes}, {"ssh", {{"password", "s3cret pass"}, {"nodes", {{"b", {{"port", 2200}}}}}}}}, 7);
  EXPECT_EQ(c.ssh.password, "s3cret pass");
  const json written = ToJson(c);
  EXPECT_EQ(written.dump().find("s3cret"), std::string::npos) << written.dump();
  EXPECT_EQ(written["ssh"]["password"], "***");
  EXPECT_FALSE(written.contains("local"));  // else "local and nodes are both given" on repeat
  // Repeating it asks for the password again...
  EXPECT_NE(SshConfigError(written).find("give it again with --password"), std::string::npos)
      << SshConfigError(written);
  // ...and with it, the run is the same.
  const TestConfig again = ResolveConfig(MergeConfig(written, {{"ssh", {{"password", "s3cret pass"}}}}), 0);
  EXPECT_EQ(ToJson(again), written);
  EXPECT_EQ(again.ssh.nodes.at("b").port, 2200);
  // Without a password nothing is starred.
  EXPECT_EQ(ToJson(ResolveConfig({{"nodes", kNodes}}, 1))["ssh"]["password"], "");
}

}  // namespace
}  // namespace faultline
