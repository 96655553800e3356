// Replication across real processes: clusters of `dynastore` daemons on
// loopback (cluster_fixture.h), nothing mocked. Each test proves one promise
// of doc/replication.md: quorum reads and writes, siblings seen from every
// coordinator, sloppy quorum with hinted handoff, anti-entropy, write
// forwarding, that every fault switch breaks what it says, that bad cluster
// files are refused, and that garbage on the RPC port harms nobody.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/causal_context.h"
#include "store/tests/cluster_fixture.h"
#include "store/tests/test_http_client.h"
#include "store/tests/test_node.h"

namespace dynastore::test {
namespace {

using nlohmann::json;
using Values = TestCluster::Values;

// PUT {value, context} via node i; the reply (status checked by callers).
HttpResult Put(TestCluster& c, int i, const std::string& key, const std::string& value,
               const std::string& context = "") {
  return c.Client(i).Put(KvPath(key), {{"value", value}, {"context", context}});
}

// The context of a 200 PUT or GET reply ("" if there is none).
std::string ContextOf(const HttpResult& r) {
  json j = r.Json();
  return j.is_object() && j.contains("context") && j["context"].is_string() ? j["context"].get<std::string>() : "";
}

// True once node i's own copy of `key` holds exactly `want`.
bool LocalIs(TestCluster& c, int i, const std::string& key, const Values& want) {
  return c.LocalValues(i, key) == want;
}

// The nodes whose own copy of `key` (owned data and hints) holds exactly `want`.
std::set<int> Holders(TestCluster& c, const std::string& key, const Values& want) {
  std::set<int> holders;
  for (int i = 0; i < c.size(); ++i) {
    if (c.running(i) && !c.paused(i) && LocalIs(c, i, key, want)) holders.insert(i);
  }
  return holders;
}

// `count` keys named prefix-N whose preference list satisfies `pred`.
std::vector<std::string> KeysWhere(TestCluster& c, const std::string& prefix, size_t count,
                                   const std::function<bool(const KeyPlacement&)>& pred) {
  std::vector<std::string> keys;
  for (int k = 0; keys.size() < count && k < 100000; ++k) {
    std::string key = prefix + "-" + std::to_string(k);
    if (pred(c.Placement(key))) keys.push_back(std::move(key));
  }
  return keys;
}

std::set<int> AsSet(const std::vector<int>& v) { return {v.begin(), v.end()}; }

// The seed of a random test, printed; rerun one with --gtest_random_seed=<seed>.
unsigned Seed(const char* test) {
  const int seed = testing::UnitTest::GetInstance()->random_seed();
  std::printf("[ seed     ] %s seed=%d (rerun with --gtest_random_seed=%d)\n", test, seed, seed);
  return static_cast<unsigned>(seed);
}

#define ASSERT_CLUSTER_OK(c) ASSERT_TRUE((c).ok()) << (c).error()

// ---------------------------------------------------------------------------
// Quorum reads and writes

TEST(ClusterQuorumTest, WriteThroughOneNodeIsReadThroughEveryOtherAndStoredOnEveryReplica) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);

  HttpResult put = Put(c, 0, "greeting", "hello");
  ASSERT_EQ(put.status(), 200u) << put.body();
  EXPECT_NE(ContextOf(put), "");
  for (int i : {1, 2}) EXPECT_EQ(c.CoordinatedValues(i, "greeting"), Values{"hello"}) << c.Id(i);
  // W=2 answers before the third replica may have it; it follows shortly.
  EXPECT_TRUE(TestCluster::WaitUntil(
      [&] {
        return Holders(c, "greeting", {"hello"}) == std::set<int>{0, 1, 2};
      },
      std::chrono::seconds(5)))
      << c.Logs();
  // /status describes the cluster, and /admin/digest files the key under
  // the partition doc/replication.md's hash gives.
  EXPECT_EQ(c.Status(1)["cluster"], json({{"n", 3}, {"r", 2}, {"w", 2}, {"partitions", 16}, {"nodes", 3}}));
  HttpResult digest = c.Client(2).Get("/admin/digest");
  ASSERT_EQ(digest.status(), 200u);
  const json line = json::parse(digest.body().substr(0, digest.body().find('\n')), nullptr, false);
  ASSERT_TRUE(line.is_object()) << digest.body();
  EXPECT_EQ(line["key"], "greeting");
  EXPECT_EQ(line["partition"], c.Placement("greeting").partition);
  // A missing key is a 404 through every coordinator.
  for (int i = 0; i < 3; ++i) {
    HttpResult missing = c.Client(i).Get(KvPath("never-written"));
    EXPECT_EQ(missing.status(), 404u) << missing.body();
  }
}

TEST(ClusterQuorumTest, TooFewLiveReplicasIs503UntilRAndWAreLoweredPerRequest) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  ASSERT_EQ(Put(c, 0, "k", "before").status(), 200u);
  ASSERT_TRUE(c.Kill(1, /*wait_for_view=*/false));
  ASSERT_TRUE(c.Kill(2)) << c.error();

  // One live replica: R=2 cannot be met, and W=2 cannot either; the local
  // write may survive, so the PUT's outcome is indeterminate.
  HttpResult get = c.Client(0).Get(KvPath("k"));
  EXPECT_EQ(get.status(), 503u) << get.body();
  EXPECT_EQ(get.ErrorCode(), "unavailable") << get.body();
  HttpResult put = Put(c, 0, "k2", "v");
  EXPECT_EQ(put.status(), 503u) << put.body();
  EXPECT_EQ(put.Json().value("indeterminate", false), true) << put.body();

  // ?r=1 and ?w=1 are met by the one live replica.
  HttpResult get1 = c.Client(0).Get(KvPath("k") + "?r=1");
  EXPECT_EQ(get1.status(), 200u) << get1.body();
  EXPECT_EQ(TestCluster::SortedValues(get1), Values{"before"});
  HttpResult put1 = c.Client(0).Put(KvPath("k3") + "?w=1", {{"value", "v"}});
  EXPECT_EQ(put1.status(), 200u) << put1.body();
  EXPECT_EQ(c.CoordinatedValues(0, "k3"), std::nullopt) << "R=2 still cannot be met";
  EXPECT_EQ(TestCluster::SortedValues(c.Client(0).Get(KvPath("k3") + "?r=1")), Values{"v"});
}

TEST(ClusterQuorumTest, FrozenReplicaDoesNotDelayQuorumReadsAndWrites) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  // SIGSTOP: connections to n3 are accepted by its kernel but never
  // answered, the worst case for a coordinator. Measured at once, before
  // the failure detector could notice.
  c.Pause(2);
  const auto start = std::chrono::steady_clock::now();
  HttpResult put = Put(c, 0, "k", "v");
  const auto put_ms = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(put.status(), 200u) << put.body();
  const auto get_start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.CoordinatedValues(1, "k"), Values{"v"});
  const auto get_ms = std::chrono::steady_clock::now() - get_start;
  // Well below request_timeout_ms (1000): the quorum did not wait for n3.
  EXPECT_LT(put_ms, std::chrono::milliseconds(700));
  EXPECT_LT(get_ms, std::chrono::milliseconds(700));

  // A quorum that needs n3 fails, each request within about
  // request_timeout_ms (1000).
  const auto all_start = std::chrono::steady_clock::now();
  HttpResult get3 = c.Client(0).Get(KvPath("k") + "?r=3");
  EXPECT_EQ(get3.status(), 503u) << get3.body();
  HttpResult put3 = c.Client(0).Put(KvPath("k3") + "?w=3", {{"value", "v"}});
  EXPECT_EQ(put3.status(), 503u) << put3.body();
  EXPECT_EQ(put3.Json().value("indeterminate", false), true) << put3.body();
  EXPECT_LT(std::chrono::steady_clock::now() - all_start, std::chrono::milliseconds(3000));

  // Thawed, n3 catches up (anti-entropy or read repair).
  c.Resume(2);
  ASSERT_TRUE(c.WaitForMembership()) << c.error();
  EXPECT_TRUE(TestCluster::WaitUntil([&] { return LocalIs(c, 2, "k", {"v"}); }, std::chrono::seconds(10))) << c.Logs();
}

TEST(ClusterQuorumTest, SigtermedNodeExitsZeroAndServesItsDataAfterRestart) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  ASSERT_EQ(Put(c, 0, "k", "v").status(), 200u);
  ASSERT_TRUE(TestCluster::WaitUntil([&] { return LocalIs(c, 1, "k", {"v"}); }, std::chrono::seconds(5)));
  // Peers hold RPC connections to it and ping it 10 times a second: it must
  // still stop promptly and cleanly.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.Stop(1), 0) << c.error() << c.Logs();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(c.Logs(5).find("dynastore[n2] stopped cleanly"), std::string::npos) << c.Logs();
  ASSERT_TRUE(c.WaitForMembership()) << c.error();
  EXPECT_EQ(Put(c, 0, "k2", "w").status(), 200u) << "two of three replicas meet W=2";

  ASSERT_TRUE(c.Restart(1)) << c.error();
  EXPECT_EQ(c.LocalValues(1, "k"), Values{"v"});
  EXPECT_EQ(c.CoordinatedValues(1, "k2"), Values{"w"});
}

// ---------------------------------------------------------------------------
// Siblings

TEST(ClusterSiblingsTest, ConcurrentWritesAreSiblingsEverywhereAndTheMergedContextCollapsesThem) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  auto expect_everywhere = [&](const std::string& key, const Values& want) {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.CoordinatedValues(i, key), want) << key << " via " << c.Id(i);
  };

  // Empty context, different coordinators.
  ASSERT_EQ(Put(c, 0, "blind", "a").status(), 200u);
  ASSERT_EQ(Put(c, 1, "blind", "b").status(), 200u);
  expect_everywhere("blind", {"a", "b"});

  // Empty context, the same coordinator.
  ASSERT_EQ(Put(c, 2, "blind-one-node", "a").status(), 200u);
  ASSERT_EQ(Put(c, 2, "blind-one-node", "b").status(), 200u);
  expect_everywhere("blind-one-node", {"a", "b"});

  // The same stale context, different coordinators and then one coordinator.
  HttpResult base = Put(c, 0, "stale", "v0");
  ASSERT_EQ(base.status(), 200u);
  const std::string stale = ContextOf(base);
  ASSERT_EQ(Put(c, 1, "stale", "a", stale).status(), 200u);
  ASSERT_EQ(Put(c, 2, "stale", "b", stale).status(), 200u);
  expect_everywhere("stale", {"a", "b"});
  ASSERT_EQ(Put(c, 0, "stale", "c", stale).status(), 200u);
  ASSERT_EQ(Put(c, 0, "stale", "d", stale).status(), 200u);
  expect_everywhere("stale", {"a", "b", "c", "d"});

  // A write with the context of a read that saw every sibling replaces them
  // all, wherever it is read and on every replica.
  for (const std::string key : {"blind", "blind-one-node", "stale"}) {
    HttpResult read = c.Client(1).Get(KvPath(key));
    ASSERT_EQ(read.status(), 200u);
    ASSERT_EQ(Put(c, 2, key, "merged", ContextOf(read)).status(), 200u);
    expect_everywhere(key, {"merged"});
    EXPECT_TRUE(TestCluster::WaitUntil(
        [&] {
          return Holders(c, key, {"merged"}) == std::set<int>{0, 1, 2};
        },
        std::chrono::seconds(5)))
        << key << "\n"
        << c.Logs();
  }
}

// ---------------------------------------------------------------------------
// Failure detection

// How long after `act` node `observer` sees `node` down (-1: not within 5 s).
long long MsUntilSeenDown(TestCluster& c, int observer, int node, const std::function<void()>& act) {
  const auto start = std::chrono::steady_clock::now();
  act();
  const bool down = TestCluster::WaitUntil(
      [&] {
        json m = c.Status(observer)["members"][c.Id(node)];
        return m.is_object() && m["up"] == false;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(5));
  return down ? std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
              : -1;
}

TEST(ClusterFailureDetectorTest, RefusedNodeIsDownAtTheNextHeartbeatAndUpWhenBack) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const long long refused = MsUntilSeenDown(c, 0, 1, [&] { c.Kill(1, /*wait_for_view=*/false); });
  std::printf("[ measured ] n1 saw a killed n2 down after %lld ms (heartbeat 100, failure timeout 500)\n", refused);
  EXPECT_GE(refused, 0);
  EXPECT_LT(refused, 450) << "a refused node should not wait for failure_timeout_ms";
  ASSERT_TRUE(c.Restart(1)) << c.error();  // waits until every node sees it up again
}

// A frozen node (SIGSTOP: connections stay open, pings go unanswered) is not
// refusing connections, so doc/replication.md allows declaring it down only
// once no ping succeeded for failure_timeout_ms (500). Judged from the
// observer's own /status: "up": false while "last_heartbeat_ms_ago" is still
// below the timeout means it was declared down early (the age only grows
// between the declaration and the look). Several freezes, each starting
// from a fresh heartbeat, seen by four observers: whether a heartbeat falls
// into the RPC client's reconnect backoff depends on timing.
TEST(ClusterFailureDetectorTest, FrozenNodeIsNotDeclaredDownBeforeTheFailureTimeout) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const int frozen = 4;
  const int timeout_ms = c.options().failure_timeout_ms;
  auto view_of_frozen = [&](int observer) { return c.Status(observer)["members"][c.Id(frozen)]; };
  std::vector<std::string> early;
  for (int trial = 0; trial < 5 && early.empty(); ++trial) {
    ASSERT_TRUE(TestCluster::WaitUntil(
        [&] {
          for (int observer = 0; observer < frozen; ++observer) {
            json m = view_of_frozen(observer);
            if (!m.is_object() || m["up"] != true || m["last_heartbeat_ms_ago"].get<int>() > 150) return false;
          }
          return true;
        },
        std::chrono::seconds(5)))
        << "no fresh heartbeats before freeze " << trial;
    const auto start = std::chrono::steady_clock::now();
    c.Pause(frozen);
    std::set<int> caught;  // observers already caught in this freeze
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(timeout_ms)) {
      for (int observer = 0; observer < frozen; ++observer) {
        json m = view_of_frozen(observer);
        if (m.is_object() && m["up"] == false && m["last_heartbeat_ms_ago"].get<int>() < timeout_ms &&
            caught.insert(observer).second) {
          early.push_back("freeze " + std::to_string(trial) + ": " + c.Id(observer) + " " + m.dump());
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    c.Resume(frozen);
    ASSERT_TRUE(c.WaitForMembership()) << c.error();
  }
  EXPECT_TRUE(early.empty()) << c.Id(frozen) << " declared down before failure_timeout_ms (" << timeout_ms
                             << ") without being refused: " << testing::PrintToString(early);
}

// ---------------------------------------------------------------------------
// Sloppy quorum and hinted handoff

// Kills one of 5 nodes, writes keys it owns, checks that a fallback holds a
// hint for each, restarts it and checks the hints reach it and leave the
// fallbacks: afterwards exactly the key's 3 owners hold each value.
void KillWriteRestartDeliversHints(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2, .flags = flags});
  ASSERT_CLUSTER_OK(c);
  const int victim = 2;
  const std::vector<std::string> keys =
      KeysWhere(c, "owned-by-n3", 12, [&](const KeyPlacement& p) { return p.IsReplica(victim); });
  ASSERT_EQ(keys.size(), 12u);
  ASSERT_TRUE(c.Kill(victim)) << c.error();

  for (const std::string& key : keys) {
    HttpResult put = Put(c, 0, key, "v-" + key);
    ASSERT_EQ(put.status(), 200u) << key << ": " << put.body();
  }
  // Each key: its two live owners and its first fallback (holding a hint
  // for the victim) have it; one hint per key is pending.
  for (const std::string& key : keys) {
    const KeyPlacement p = c.Placement(key);
    std::set<int> expected = AsSet(p.replicas);
    expected.erase(victim);
    expected.insert(p.FirstFallback());
    EXPECT_TRUE(
        TestCluster::WaitUntil([&] { return Holders(c, key, {"v-" + key}) == expected; }, std::chrono::seconds(5)))
        << key << " is not on its live owners and fallback " << c.Id(p.FirstFallback());
  }
  EXPECT_TRUE(TestCluster::WaitUntil([&] { return c.SumHandoff("pending") == keys.size(); }, std::chrono::seconds(5)))
      << "pending hints: " << c.SumHandoff("pending").value_or(0) << ", want " << keys.size();

  // Hints are durable: a fallback killed and restarted still holds them.
  const int fallback = c.Placement(keys[0]).FirstFallback();
  ASSERT_TRUE(c.Kill(fallback)) << c.error();
  ASSERT_TRUE(c.Restart(fallback)) << c.error();
  EXPECT_EQ(c.LocalValues(fallback, keys[0]), Values{"v-" + keys[0]}) << "hint lost in a restart of its holder";

  ASSERT_TRUE(c.Restart(victim)) << c.error();
  const bool delivered = TestCluster::WaitUntil(
      [&] {
        if (c.SumHandoff("pending") != 0u) return false;
        for (const std::string& key : keys) {
          if (Holders(c, key, {"v-" + key}) != AsSet(c.Placement(key).replicas)) return false;
        }
        return true;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50));
  EXPECT_TRUE(delivered) << c.Logs();
  for (const std::string& key : keys) {
    const KeyPlacement p = c.Placement(key);
    EXPECT_EQ(c.LocalValues(victim, key), Values{"v-" + key}) << key;
    EXPECT_EQ(c.LocalValues(p.FirstFallback(), key), Values{}) << key << ": hint not removed from fallback";
    EXPECT_EQ(Holders(c, key, {"v-" + key}), AsSet(p.replicas)) << key;
  }
  EXPECT_EQ(c.SumHandoff("pending"), 0u);
  EXPECT_GE(c.SumHandoff("delivered").value_or(0), keys.size());
  EXPECT_EQ(c.CoordinatedValues(victim, keys[0]), Values{"v-" + keys[0]});
}

TEST(ClusterHintedHandoffTest, FallbackHoldsHintForKilledOwnerAndDeliversItAfterRestart) {
  KillWriteRestartDeliversHints({});
}

TEST(ClusterHintedHandoffTest, HandoffAloneRestoresTheRestartedOwnerWithoutAntiEntropyOrReadRepair) {
  KillWriteRestartDeliversHints({"--no-anti-entropy", "--no-read-repair"});
}

// ---------------------------------------------------------------------------
// Stand-in coordinator

TEST(ClusterStandInTest, CoordinatorWithNoOwnerReachableNeverReissuesADotAcrossRestarts) {
  TestCluster c({.nodes = 5, .n = 3, .r = 1, .w = 1});
  ASSERT_CLUSTER_OK(c);
  const std::string key = "stand-in";
  const KeyPlacement p = c.Placement(key);
  ASSERT_EQ(p.walk.size(), 5u);
  const int stand_in = p.walk[3];
  auto kill_owners = [&] {
    for (int o : p.replicas) c.Kill(o, /*wait_for_view=*/false);
    return c.WaitForMembership();
  };
  auto restart_owners = [&] {
    for (int o : p.replicas) {
      if (!c.Restart(o, /*wait_for_view=*/false)) return false;
    }
    return c.WaitForMembership();
  };

  // Every owner down: the first fallback coordinates the write itself and
  // keeps it as a hint; once the owners are back, they all get it.
  ASSERT_TRUE(kill_owners()) << c.error();
  ASSERT_EQ(Put(c, stand_in, key, "first").status(), 200u);
  EXPECT_EQ(c.LocalValues(stand_in, key), Values{"first"});
  ASSERT_TRUE(restart_owners()) << c.error();
  ASSERT_TRUE(
      TestCluster::WaitUntil([&] { return Holders(c, key, {"first"}) == AsSet(p.replicas); }, std::chrono::seconds(10)))
      << c.Logs();
  ASSERT_TRUE(TestCluster::WaitUntil([&] { return c.SumHandoff("pending") == 0u; }, std::chrono::seconds(5)));

  // The stand-in no longer holds the key, and restarts. A second blind write
  // it coordinates must get a new dot: reusing the first one would make the
  // owners take it for the write they already have and drop it.
  ASSERT_EQ(c.LocalValues(stand_in, key), Values{});
  ASSERT_TRUE(c.Restart(stand_in)) << c.error();
  ASSERT_TRUE(kill_owners()) << c.error();
  ASSERT_EQ(Put(c, stand_in, key, "second").status(), 200u);
  ASSERT_TRUE(restart_owners()) << c.error();
  EXPECT_TRUE(TestCluster::WaitUntil(
      [&] {
        return Holders(c, key, {"first", "second"}) == AsSet(p.replicas);
      },
      std::chrono::seconds(10)))
      << "owners hold: " << testing::PrintToString(c.LocalValues(p.replicas[0], key)) << "\n"
      << c.Logs();
}

// ---------------------------------------------------------------------------
// Anti-entropy

TEST(ClusterAntiEntropyTest, MerkleExchangeAloneConvergesAReplicaThatMissedEveryWrite) {
  TestCluster c({.nodes = 3, .n = 3, .r = 1, .w = 1, .flags = {"--no-read-repair", "--no-hinted-handoff"}});
  ASSERT_CLUSTER_OK(c);
  ASSERT_TRUE(c.Kill(2)) << c.error();
  // 200 keys; every tenth is then deleted, so n3 must learn tombstones too.
  std::map<std::string, Values> written;
  for (int k = 0; k < 200; ++k) {
    const std::string key = "ae-" + std::to_string(k);
    HttpResult put = Put(c, 0, key, "value-" + std::to_string(k));
    ASSERT_EQ(put.status(), 200u) << key << ": " << put.body();
    written[key] = {"value-" + std::to_string(k)};
    if (k % 10 == 0) {
      HttpResult del = c.Client(0).Delete(KvPath(key), json{{"context", ContextOf(put)}}.dump());
      ASSERT_EQ(del.status(), 200u) << key << ": " << del.body();
      written[key] = {};
    }
  }
  // W=1 answers before n2 has everything; wait until n1 and n2 agree.
  ASSERT_TRUE(TestCluster::WaitUntil(
      [&] { return c.Digests(1) && c.Digests(1)->size() == 200 && c.Digests(0) == c.Digests(1); },
      std::chrono::seconds(5)));

  // Restart n3 while n1 and n2 are frozen, so that it provably starts
  // without the keys; then let them run and time the convergence.
  c.Pause(0);
  c.Pause(1);
  ASSERT_TRUE(c.Restart(2, /*wait_for_view=*/false)) << c.error();
  std::optional<std::map<std::string, std::string>> before = c.Digests(2);
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->empty()) << "n3 has " << before->size() << " keys before anti-entropy";
  const auto start = std::chrono::steady_clock::now();
  c.Resume(0);
  c.Resume(1);

  const bool converged = TestCluster::WaitUntil(
      [&] {
        auto d2 = c.Digests(2);
        return d2 && d2->size() == written.size() && d2 == c.Digests(0) && d2 == c.Digests(1);
      },
      std::chrono::seconds(10), std::chrono::milliseconds(25));
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measured ] anti-entropy converged %zu keys on the restarted replica in %lld ms (interval %d ms)\n",
              written.size(), static_cast<long long>(elapsed), c.options().anti_entropy_interval_ms);
  ASSERT_TRUE(converged) << c.Logs();
  for (const auto& [key, values] : written) {
    EXPECT_EQ(c.LocalValues(2, key), values) << key;
  }
  // Nothing but anti-entropy could have moved them: its counters say it did.
  json ae = c.Status(2)["anti_entropy"];
  const int moved = ae.value("keys_pulled", 0) + c.Status(0)["anti_entropy"].value("keys_pushed", 0) +
                    c.Status(1)["anti_entropy"].value("keys_pushed", 0);
  EXPECT_GE(moved, static_cast<int>(written.size())) << ae.dump();
}

// ---------------------------------------------------------------------------
// Concurrency

// Client threads write blind (empty context) through random nodes of a
// 5-node cluster while one node is killed and later restarted. Blind writes
// never supersede each other, so every acknowledged value must end up as a
// sibling on every owner, and nothing that was never written may appear.
TEST(ClusterConcurrencyTest, EveryAcknowledgedBlindWriteSurvivesAKillAndRestartAndAllReplicasConverge) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const unsigned seed = Seed("ClusterConcurrencyTest");
  const std::vector<std::string> keys = {"c0", "c1", "c2", "c3", "c4", "c5"};
  constexpr int kThreads = 4;
  constexpr int kWritesPerPhase = 15;
  std::mutex mu;
  std::map<std::string, std::set<std::string>> acked, maybe;  // GUARDED_BY(mu)
  int victim = -1;

  // One phase: every thread writes kWritesPerPhase values through nodes
  // other than the victim.
  auto phase = [&](int number) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(seed + 1000 * number + t);
        std::vector<std::unique_ptr<TestHttpClient>> clients;
        for (int i = 0; i < c.size(); ++i) clients.push_back(std::make_unique<TestHttpClient>(c.HttpPort(i)));
        for (int k = 0; k < kWritesPerPhase; ++k) {
          int node = static_cast<int>(rng() % c.size());
          if (node == victim) node = (node + 1) % c.size();
          const std::string& key = keys[rng() % keys.size()];
          const std::string value = "p" + std::to_string(number) + "-t" + std::to_string(t) + "-" + std::to_string(k);
          HttpResult r = clients[node]->Put(KvPath(key), {{"value", value}});
          std::lock_guard<std::mutex> lock(mu);
          (r.ok() && r.status() == 200 ? acked : maybe)[key].insert(value);
        }
      });
    }
    for (auto& th : threads) th.join();
  };

  phase(0);
  victim = static_cast<int>(seed % c.size());
  ASSERT_TRUE(c.Kill(victim)) << c.error();
  phase(1);
  ASSERT_TRUE(c.Restart(victim)) << c.error();
  phase(2);

  size_t total = 0;
  for (const auto& [key, values] : acked) total += values.size();
  EXPECT_GE(total, static_cast<size_t>(3 * kThreads * kWritesPerPhase * 9 / 10)) << "most writes should succeed";

  // Converged: every owner holds exactly the same set, which contains every
  // acknowledged value and nothing never written.
  auto converged = [&] {
    for (const std::string& key : keys) {
      const KeyPlacement p = c.Placement(key);
      std::optional<Values> first = c.LocalValues(p.replicas[0], key);
      if (!first) return false;
      for (int o : p.replicas) {
        if (c.LocalValues(o, key) != first) return false;
      }
      const std::set<std::string> got(first->begin(), first->end());
      if (!std::includes(got.begin(), got.end(), acked[key].begin(), acked[key].end())) return false;
    }
    return c.SumHandoff("pending") == 0u;
  };
  EXPECT_TRUE(TestCluster::WaitUntil(converged, std::chrono::seconds(15), std::chrono::milliseconds(100)))
      << "seed=" << seed << "\n"
      << c.Logs();
  for (const std::string& key : keys) {
    HttpResult read = c.Client(0).Get(KvPath(key));
    const std::optional<Values> got = TestCluster::SortedValues(read);
    ASSERT_TRUE(got.has_value()) << key;
    // Only owners issue dots (no owner was ever unreachable here).
    CausalContext ctx;
    ASSERT_TRUE(CausalContext::FromToken(ContextOf(read), TestCluster::Key(), ctx).ok());
    const KeyPlacement p = c.Placement(key);
    std::set<std::string> actors;
    for (const auto& [node, entry] : ctx.vector()) actors.insert(node);
    for (const auto& [dot, ts] : ctx.cloud()) actors.insert(dot.node);
    for (const std::string& actor : actors) {
      EXPECT_TRUE(std::any_of(p.replicas.begin(), p.replicas.end(), [&](int o) { return c.Id(o) == actor; }))
          << key << ": dot issued by non-owner " << actor << " in " << ctx.DebugString();
    }
    for (const std::string& v : acked[key]) {
      EXPECT_TRUE(std::binary_search(got->begin(), got->end(), v)) << key << ": acknowledged " << v << " lost";
    }
    for (const std::string& v : *got) {
      EXPECT_TRUE(acked[key].count(v) || maybe[key].count(v)) << key << ": " << v << " was never written";
    }
  }
}

// ---------------------------------------------------------------------------
// Fault switches: each breaks exactly the guarantee it names.

// Two blind PUTs through different nodes; the values a GET then returns.
std::optional<Values> ConcurrentBlindWrites(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return std::nullopt;
  EXPECT_EQ(Put(c, 0, "k", "a").status(), 200u);
  EXPECT_EQ(Put(c, 1, "k", "b").status(), 200u);
  return c.CoordinatedValues(2, "k");
}

TEST(ClusterFaultSwitchTest, LwwKeepsOneOfTwoConcurrentWritesWhereDefaultKeepsBoth) {
  EXPECT_EQ(ConcurrentBlindWrites({}), (Values{"a", "b"}));
  std::optional<Values> lww = ConcurrentBlindWrites({"--lww"});
  ASSERT_TRUE(lww.has_value());
  EXPECT_EQ(lww->size(), 1u) << testing::PrintToString(*lww);
}

// Two PUTs through n1 with the same stale context; the values a GET returns.
std::optional<Values> StaleContextWritesThroughOneNode(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return std::nullopt;
  HttpResult base = Put(c, 0, "k", "v0");
  EXPECT_EQ(base.status(), 200u);
  EXPECT_EQ(Put(c, 0, "k", "a", ContextOf(base)).status(), 200u);
  EXPECT_EQ(Put(c, 0, "k", "b", ContextOf(base)).status(), 200u);
  return c.CoordinatedValues(1, "k");
}

TEST(ClusterFaultSwitchTest, NaiveVclocksLoseOneOfTwoStaleContextWritesThroughOneNode) {
  EXPECT_EQ(StaleContextWritesThroughOneNode({}), (Values{"a", "b"}));
  EXPECT_EQ(StaleContextWritesThroughOneNode({"--naive-vclocks"}), (Values{"b"}));
}

// Makes n3 miss a write (killed during it; no anti-entropy, no handoff),
// restarts it, reads the key 3 times through each node of `via`, and reports
// whether n3's own copy then catches up within `wait`.
bool StaleReplicaIsRepairedByReads(bool read_repair, const std::vector<int>& via, std::chrono::milliseconds wait) {
  std::vector<std::string> flags = {"--no-anti-entropy", "--no-hinted-handoff"};
  if (!read_repair) flags.push_back("--no-read-repair");
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return false;
  EXPECT_TRUE(c.Kill(2)) << c.error();
  EXPECT_EQ(Put(c, 0, "k", "fresh").status(), 200u);
  EXPECT_TRUE(c.Restart(2)) << c.error();
  EXPECT_EQ(c.LocalValues(2, "k"), Values{}) << "n3 should have missed the write";
  for (int round = 0; round < 3; ++round) {
    for (int i : via) EXPECT_EQ(c.CoordinatedValues(i, "k"), Values{"fresh"}) << "via " << c.Id(i);
  }
  return TestCluster::WaitUntil([&] { return LocalIs(c, 2, "k", {"fresh"}); }, wait);
}

TEST(ClusterFaultSwitchTest, NoReadRepairLeavesAStaleReplicaStaleWhereDefaultRepairsIt) {
  EXPECT_TRUE(StaleReplicaIsRepairedByReads(/*read_repair=*/true, {0, 1}, std::chrono::seconds(5)));
  EXPECT_FALSE(StaleReplicaIsRepairedByReads(/*read_repair=*/false, {0, 1}, std::chrono::seconds(1)));
}

TEST(ClusterReadRepairTest, ReadCoordinatedByTheStaleReplicaItselfRepairsIt) {
  EXPECT_TRUE(StaleReplicaIsRepairedByReads(/*read_repair=*/true, {2}, std::chrono::seconds(5)));
}

// 5 nodes, N=3, W=3, one owner of the key killed: the PUT's reply.
HttpResult PutWithOneOwnerDown(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 3, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return {};
  const KeyPlacement p = c.Placement("w3-key");
  EXPECT_EQ(p.replicas.size(), 3u);
  EXPECT_TRUE(c.Kill(p.replicas[1])) << c.error();
  return Put(c, p.replicas[0], "w3-key", "v");
}

TEST(ClusterFaultSwitchTest, NoHintedHandoffFailsW3WithOneOwnerDownWhereHandoffSucceeds) {
  HttpResult with_handoff = PutWithOneOwnerDown({});
  EXPECT_EQ(with_handoff.status(), 200u) << with_handoff.body();

  HttpResult without = PutWithOneOwnerDown({"--no-hinted-handoff"});
  EXPECT_EQ(without.status(), 503u) << without.body();
  EXPECT_EQ(without.ErrorCode(), "unavailable") << without.body();
  EXPECT_EQ(without.Json().value("indeterminate", false), true) << without.body();
}

// One node (N=R=W=1): PUTs 50 keys, SIGKILLs at once, restarts; returns how
// many acknowledged keys are gone.
int AcknowledgedKeysLostToSigkill(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 1, .n = 1, .r = 1, .w = 1, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return -1;
  for (int k = 0; k < 50; ++k) {
    HttpResult put = Put(c, 0, "early-" + std::to_string(k), "v");
    EXPECT_EQ(put.status(), 200u) << put.body();
  }
  EXPECT_TRUE(c.Kill(0));
  EXPECT_TRUE(c.Restart(0)) << c.error();
  int lost = 0;
  for (int k = 0; k < 50; ++k) {
    if (c.LocalValues(0, "early-" + std::to_string(k)) != Values{"v"}) ++lost;
  }
  return lost;
}

TEST(ClusterFaultSwitchTest, UnsafeAckEarlyLosesAcknowledgedWritesToSigkillWhereSyncLosesNone) {
  EXPECT_EQ(AcknowledgedKeysLostToSigkill({}), 0);
  EXPECT_GE(AcknowledgedKeysLostToSigkill({"--unsafe-ack-early"}), 1);
}

TEST(ClusterFaultSwitchTest, EverySwitchIsListedInStatus) {
  TestCluster c(
      {.nodes = 3,
       .flags = {"--lww", "--no-read-repair", "--no-hinted-handoff", "--no-anti-entropy", "--unsafe-ack-early"}});
  ASSERT_CLUSTER_OK(c);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.Status(i)["faults"],
              json({"lww", "no-read-repair", "no-hinted-handoff", "no-anti-entropy", "unsafe-ack-early"}));
  }
}

// ---------------------------------------------------------------------------
// Bad cluster files

TEST(ClusterConfigFileTest, EveryBadClusterFileExitsTwoWithOneLineNamingTheProblem) {
  TempDir dir;
  auto node = [](const std::string& id, int port) {
    return json{
        {"id", id}, {"http", "127.0.0.1:" + std::to_string(port)}, {"rpc", "127.0.0.1:" + std::to_string(port + 1)}};
  };
  const json good = {{"n", 3},
                     {"r", 2},
                     {"w", 2},
                     {"partitions", 16},
                     {"nodes", {node("n1", 47101), node("n2", 47201), node("n3", 47301)}}};
  struct Case {
    std::string name;
    std::optional<std::string> file;  // nullopt: no such file
    std::string id;
    std::string expected;  // in the message
  };
  json dup_id = good;
  dup_id["nodes"][2]["id"] = "n1";
  json dup_addr = good;
  dup_addr["nodes"][2]["rpc"] = good["nodes"][0]["http"];
  json r_over_n = good;
  r_over_n["r"] = 4;
  json w_over_n = good;
  w_over_n["w"] = 4;
  json n_over_nodes = good;
  n_over_nodes["n"] = 4;
  n_over_nodes["r"] = 1;
  n_over_nodes["w"] = 1;
  json unknown_field = good;
  unknown_field["replicas"] = 3;
  const std::vector<Case> cases = {
      {"unknown id", good.dump(), "n9", "'n9' is not a node"},
      {"duplicate ids", dup_id.dump(), "n1", "duplicate node id 'n1'"},
      {"duplicate addresses", dup_addr.dump(), "n1", "127.0.0.1:47101 is used twice"},
      {"R > N", r_over_n.dump(), "n1", "'r' must be between 1 and n"},
      {"W > N", w_over_n.dump(), "n1", "'w' must be between 1 and n"},
      {"N > node count", n_over_nodes.dump(), "n1", "'n' (4) exceeds the number of nodes (3)"},
      {"malformed JSON", R"({"n": 3, "nodes": [)", "n1", "not valid JSON"},
      {"unknown field", unknown_field.dump(), "n1", "unknown field 'replicas'"},
      {"missing file", std::nullopt, "n1", "cannot read cluster file"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& tc = cases[k];
    const std::string path = dir.Sub("cluster-" + std::to_string(k) + ".json");
    if (tc.file) std::ofstream(path) << *tc.file;
    std::string log;
    const int code =
        DynastoreProcess::RunToExit({"--id", tc.id, "--cluster", path, "--data", dir.Sub("data-" + std::to_string(k))},
                                    dir.Sub("log-" + std::to_string(k)), std::chrono::seconds(10), log);
    EXPECT_EQ(code, 2) << tc.name << ": " << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << tc.name << ": not one line:\n" << log;
    EXPECT_NE(log.find(tc.expected), std::string::npos) << tc.name << ": message does not name the problem:\n" << log;
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("data-" + std::to_string(k))))
        << tc.name << ": a refused node must not create its data directory";
  }
}

// ---------------------------------------------------------------------------
// Hostile bytes on the RPC port

// One RPC frame, written out from doc/rpc.md: u32 LE length | u8 kind | u64
// LE id | payload. `length` defaults to the payload's size.
std::string RpcFrame(uint8_t kind, uint64_t id, const std::string& payload,
                     std::optional<uint32_t> length = std::nullopt) {
  std::string out;
  const uint32_t len = length.value_or(static_cast<uint32_t>(payload.size()));
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
  out.push_back(static_cast<char>(kind));
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((id >> (8 * b)) & 0xff));
  return out + payload;
}

// Sends `bytes` on a fresh connection to `port`; returns whether the server
// closed the connection within 3 s, and what it sent before.
bool SendAndSeeClosed(uint16_t port, const std::string& bytes, std::string* received = nullptr) {
  RawConnection conn;
  EXPECT_FALSE(conn.Connect(port));
  EXPECT_FALSE(conn.Send(bytes));
  bool closed = false;
  std::string data = conn.ReadUntilClose(std::chrono::seconds(3), closed);
  if (received) *received = data;
  return closed;
}

TEST(ClusterRpcTest, CorruptFramesCloseOnlyTheirConnectionAndTheClusterKeepsServing) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const uint16_t rpc = c.RpcPort(0);

  // First, that these frames are spoken right: a ping is answered (kind
  // 0x80, same id, payload the node id) and the connection stays open.
  {
    RawConnection conn;
    ASSERT_FALSE(conn.Connect(rpc));
    ASSERT_FALSE(conn.Send(RpcFrame(0x01, 42, "n2")));
    const std::string reply = conn.ReadUntil("n1", std::chrono::seconds(3));
    EXPECT_EQ(reply, RpcFrame(0x80, 42, "n1"));
    // An unknown method is an error response (0x81, InvalidArgument = 1),
    // not a dropped connection.
    ASSERT_FALSE(conn.Send(RpcFrame(0x7f, 43, "")));
    const std::string error = conn.ReadUntil("unknown method", std::chrono::seconds(3));
    ASSERT_GE(error.size(), 14u) << error;
    EXPECT_EQ(error.substr(4, 10), RpcFrame(0x81, 43, "\x01").substr(4, 10));
  }

  std::string received;
  EXPECT_TRUE(SendAndSeeClosed(rpc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &received)) << "plain garbage";
  EXPECT_EQ(received, "");
  EXPECT_TRUE(SendAndSeeClosed(rpc, RpcFrame(0x01, 1, "", /*length=*/1u << 30), &received)) << "1 GiB payload claim";
  EXPECT_EQ(received, "");
  EXPECT_TRUE(SendAndSeeClosed(rpc, RpcFrame(0x90, 1, "xyz"), &received)) << "unknown kind 0x90";
  EXPECT_EQ(received, "");
  EXPECT_TRUE(SendAndSeeClosed(rpc, RpcFrame(0x80, 1, "n2"), &received)) << "a response sent to a server";
  EXPECT_EQ(received, "");
  // Malformed payloads for real methods: each gets a response with its id
  // (an error, or for kGetLocal, whose payload is any key, an empty set),
  // and the connection stays usable.
  for (uint8_t method : {0x02, 0x03, 0x04, 0x05, 0x06}) {
    RawConnection conn;
    ASSERT_FALSE(conn.Connect(rpc));
    const uint64_t id = 0x0102030405060700u | method;
    ASSERT_FALSE(conn.Send(RpcFrame(method, id, std::string("\xff\xff\xff\xff\x01\x02", 6))));
    const std::string id_bytes = RpcFrame(0, id, "").substr(5, 8);
    const std::string reply = conn.ReadUntil(id_bytes, std::chrono::seconds(3));
    ASSERT_GE(reply.size(), 13u) << "no answer to method " << static_cast<int>(method);
    EXPECT_TRUE(reply[4] == '\x80' || reply[4] == '\x81') << "method " << static_cast<int>(method);
    ASSERT_FALSE(conn.Send(RpcFrame(0x01, 99, "n2")));
    EXPECT_NE(conn.ReadUntil("n1", std::chrono::seconds(3)).find(RpcFrame(0x80, 99, "n1")), std::string::npos)
        << "connection unusable after method " << static_cast<int>(method);
  }

  // Random bytes on every node's RPC port (what the server makes of them
  // depends on the bytes; it must survive all of them).
  std::mt19937 rng(Seed("ClusterRpcTest random garbage"));
  for (int i = 0; i < 3; ++i) {
    for (int round = 0; round < 4; ++round) {
      std::string garbage(4096, '\0');
      for (char& ch : garbage) ch = static_cast<char>(rng() & 0xff);
      RawConnection conn;
      ASSERT_FALSE(conn.Connect(c.RpcPort(i)));
      conn.Send(garbage);  // the server may close before reading it all
      bool closed = false;
      conn.ReadUntilClose(std::chrono::milliseconds(50), closed);
    }
  }

  // The cluster is unharmed: every node up in every view, quorum reads and
  // writes through every node.
  ASSERT_TRUE(c.WaitForMembership()) << c.error();
  for (int i = 0; i < 3; ++i) {
    const std::string key = "after-garbage-" + std::to_string(i);
    ASSERT_EQ(Put(c, i, key, "ok").status(), 200u);
    for (int j = 0; j < 3; ++j) EXPECT_EQ(c.CoordinatedValues(j, key), Values{"ok"}) << key << " via " << c.Id(j);
  }
  for (int i = 0; i < 3; ++i) {
    const json status = c.Status(i);
    ASSERT_TRUE(status.contains("members")) << c.Id(i);
    for (const auto& [id, m] : status["members"].items()) {
      EXPECT_TRUE(m["up"].get<bool>()) << c.Id(i) << " sees " << id << " down";
    }
  }
}

// ---------------------------------------------------------------------------
// Write forwarding

TEST(ClusterForwardingTest, WritesForAnOwnerThatJustDiedGoToTheNextOwnerOrAreIndeterminate) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const int entry = 0;
  const int victim = 1;
  // Keys the entry node does not own and whose first owner is the victim.
  const std::vector<std::string> keys = KeysWhere(
      c, "next-owner", 5, [&](const KeyPlacement& p) { return !p.IsReplica(entry) && p.replicas[0] == victim; });
  ASSERT_EQ(keys.size(), 5u);
  // Killed without waiting: the entry node may still believe it up. The
  // first write may be sent on the dead connection before the entry notices
  // (TimedOut: indeterminate, doc/rpc.md); after that the connection is
  // refused or in backoff, so the write goes to the next owner.
  ASSERT_TRUE(c.Kill(victim, /*wait_for_view=*/false));
  int ok = 0;
  for (const std::string& key : keys) {
    const auto start = std::chrono::steady_clock::now();
    HttpResult put = Put(c, entry, key, "v");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500)) << key;
    if (put.status() != 200) {
      EXPECT_EQ(put.status(), 503u) << key << ": " << put.body();
      EXPECT_EQ(put.Json().value("indeterminate", false), true) << key << ": " << put.body();
      continue;
    }
    ++ok;
    EXPECT_EQ(c.CoordinatedValues(entry, key), Values{"v"}) << key;
    CausalContext ctx;
    ASSERT_TRUE(CausalContext::FromToken(ContextOf(put), TestCluster::Key(), ctx).ok());
    const KeyPlacement p = c.Placement(key);
    EXPECT_EQ(ctx.MaxCounter(c.Id(p.replicas[1])) + ctx.MaxCounter(c.Id(p.replicas[2])), 1u)
        << key << ": not coordinated by a live owner: " << ctx.DebugString();
  }
  EXPECT_GE(ok, 4) << "only the first write may race the entry noticing the dead connection";
}

TEST(ClusterForwardingTest, WriteToANonOwnerIsStoredOnlyOnTheOwnersAndItsContextSupersedesIt) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const int entry = 0;
  const std::vector<std::string> keys =
      KeysWhere(c, "forwarded", 5, [&](const KeyPlacement& p) { return !p.IsReplica(entry); });
  ASSERT_EQ(keys.size(), 5u);
  for (const std::string& key : keys) {
    const KeyPlacement p = c.Placement(key);
    HttpResult put = Put(c, entry, key, "first");
    ASSERT_EQ(put.status(), 200u) << put.body();

    // The owner issued the dot: the context names an owner, never the entry node.
    CausalContext ctx;
    ASSERT_TRUE(CausalContext::FromToken(ContextOf(put), TestCluster::Key(), ctx).ok());
    EXPECT_EQ(ctx.MaxCounter(c.Id(entry)), 0u) << key << ": " << ctx.DebugString();
    uint64_t owner_dots = 0;
    for (int o : p.replicas) owner_dots += ctx.MaxCounter(c.Id(o));
    EXPECT_EQ(owner_dots, 1u) << key << ": " << ctx.DebugString();

    // Exactly the owners hold it: no copy, and no hint, anywhere else.
    EXPECT_TRUE(TestCluster::WaitUntil([&] { return Holders(c, key, {"first"}) == AsSet(p.replicas); },
                                       std::chrono::seconds(5)))
        << key;
    for (int i = 0; i < c.size(); ++i) {
      if (!p.IsReplica(i)) {
        EXPECT_EQ(c.LocalValues(i, key), Values{}) << key << " on non-owner " << c.Id(i);
      }
    }

    // The reply's context covers the write: a PUT with it replaces it.
    ASSERT_EQ(Put(c, entry, key, "second", ContextOf(put)).status(), 200u);
    for (int i = 0; i < c.size(); ++i) EXPECT_EQ(c.CoordinatedValues(i, key), Values{"second"}) << key;
    EXPECT_TRUE(TestCluster::WaitUntil([&] { return Holders(c, key, {"second"}) == AsSet(p.replicas); },
                                       std::chrono::seconds(5)))
        << key;

    // A delete through the non-owner is forwarded too.
    HttpResult del = c.Client(entry).Delete(KvPath(key));
    ASSERT_EQ(del.status(), 200u) << del.body();
    for (int i = 0; i < c.size(); ++i) EXPECT_EQ(c.Client(i).Get(KvPath(key)).status(), 404u) << key;
  }
  EXPECT_EQ(c.SumHandoff("pending"), 0u);
}

}  // namespace
}  // namespace dynastore::test
