// Replication across real processes: clusters of `dynastore` daemons on
// loopback (cluster_fixture.h), nothing mocked. Each test proves one promise
// of doc/replication.md: quorum reads and writes, siblings seen from every
// coordinator, failure detection, sloppy quorum with hinted handoff,
// anti-entropy, and acknowledged writes surviving kills. The fault switches,
// bad cluster files, hostile RPC bytes and write forwarding are in
// cluster_faults_test.cc.
#include "store/tests/cluster_test_support.h"

namespace dynastore::test {
namespace {

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

// Judged by construction, not by a tight bound: requests wait up to
// request_timeout_ms (4 s here) for a replica, and the failure detector
// never gives up on one within the test (a minute), so a request that
// waited for the frozen n3 takes at least 4 s, and one that did not takes
// far less even on a loaded machine.
TEST(ClusterQuorumTest, FrozenReplicaDoesNotDelayQuorumReadsAndWrites) {
  constexpr auto kRequestTimeout = std::chrono::milliseconds(4000);
  TestCluster c({.nodes = 3,
                 .n = 3,
                 .r = 2,
                 .w = 2,
                 .failure_timeout_ms = 60000,
                 .request_timeout_ms = static_cast<int>(kRequestTimeout.count())});
  ASSERT_CLUSTER_OK(c);
  // SIGSTOP: connections to n3 are accepted by its kernel but never
  // answered, the worst case for a coordinator.
  c.Pause(2);
  // Clients whose own deadline is half the request timeout: a quorum that
  // waited for n3 would wait out request_timeout_ms and fail them.
  TestHttpClient quick0(c.HttpPort(0), kRequestTimeout / 2);
  TestHttpClient quick1(c.HttpPort(1), kRequestTimeout / 2);
  HttpResult put = quick0.Put(KvPath("k"), {{"value", "v"}});
  EXPECT_EQ(put.status(), 200u) << put.ec.message() << " " << put.body();
  HttpResult get = quick1.Get(KvPath("k"));
  ASSERT_EQ(get.status(), 200u) << get.ec.message() << " " << get.body();
  EXPECT_EQ(get.Json()["values"], json::array({"v"}));

  // A quorum that needs n3 fails, after waiting for it (the first request
  // waits out request_timeout_ms; the next may fail at once while the RPC
  // client reconnects), and does not hang: each answers 503 within a client
  // deadline of five request timeouts.
  TestHttpClient patient(c.HttpPort(0), 5 * kRequestTimeout);
  const auto all_start = std::chrono::steady_clock::now();
  HttpResult get3 = patient.Get(KvPath("k") + "?r=3");
  EXPECT_EQ(get3.status(), 503u) << get3.ec.message() << " " << get3.body();
  HttpResult put3 = patient.Put(KvPath("k3") + "?w=3", {{"value", "v"}});
  EXPECT_EQ(put3.status(), 503u) << put3.ec.message() << " " << put3.body();
  EXPECT_EQ(put3.Json().value("indeterminate", false), true) << put3.body();
  // A lower bound only: a loaded machine can make it longer, never shorter.
  EXPECT_GE(std::chrono::steady_clock::now() - all_start, kRequestTimeout / 2)
      << "no request needing the frozen n3 waited for it";

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
  // still stop cleanly, held up by none of them (it would close them only at
  // its shutdown deadline, and say so).
  EXPECT_EQ(c.Stop(1), 0) << c.error() << c.Logs();
  EXPECT_NE(c.Logs(5).find("dynastore[n2] stopped cleanly"), std::string::npos) << c.Logs();
  EXPECT_EQ(c.Logs(1000).find("shutdown deadline passed"), std::string::npos) << c.Logs();
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

// How long after `act` node `observer` sees `node` down (-1: not within 30 s).
long long MsUntilSeenDown(TestCluster& c, int observer, int node, const std::function<void()>& act) {
  const auto start = std::chrono::steady_clock::now();
  act();
  const bool down = TestCluster::WaitUntil(
      [&] {
        json m = c.Status(observer)["members"][c.Id(node)];
        return m.is_object() && m["up"] == false;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(5));
  return down ? std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
              : -1;
}

// A killed node refuses connections, which declares it down at once, not
// after failure_timeout_ms. By construction rather than by the clock: the
// timeout is a minute, longer than the wait, so only a refusal can make n1
// see n2 down in time, however slow the machine (the wait was once a 450 ms
// bound, which a sanitizer build on a loaded machine missed at 486 ms).
TEST(ClusterFailureDetectorTest, RefusedNodeIsDownAtTheNextHeartbeatAndUpWhenBack) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .failure_timeout_ms = 60000});
  ASSERT_CLUSTER_OK(c);
  const long long refused = MsUntilSeenDown(c, 0, 1, [&] { c.Kill(1, /*wait_for_view=*/false); });
  std::printf("[ measured ] n1 saw a killed n2 down after %lld ms (heartbeat 100, failure timeout 60000)\n", refused);
  ASSERT_GE(refused, 0) << "n1 did not see the killed n2 down within 30 s\n" << c.Logs();
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

// Without sync, replica writes (merges, hints) run on the RPC connection's
// thread rather than on a blocking thread: the same guarantees hold.
TEST(ClusterHintedHandoffTest, WithoutSyncFallbackHoldsHintForKilledOwnerAndDeliversItAfterRestart) {
  KillWriteRestartDeliversHints({"--no-sync"});
}

TEST(ClusterQuorumTest, WithoutSyncForwardedAndReplicatedWritesReachExactlyTheOwners) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2, .flags = {"--no-sync"}});
  ASSERT_CLUSTER_OK(c);
  const int entry = 0;
  // Keys the entry node does not own (forwarded to an owner) and keys it owns.
  std::vector<std::string> keys = KeysWhere(c, "fwd", 3, [&](const KeyPlacement& p) { return !p.IsReplica(entry); });
  for (const std::string& key : KeysWhere(c, "own", 3, [&](const KeyPlacement& p) { return p.IsReplica(entry); }))
    keys.push_back(key);
  ASSERT_EQ(keys.size(), 6u);
  for (const std::string& key : keys) {
    HttpResult put = Put(c, entry, key, "v-" + key);
    ASSERT_EQ(put.status(), 200u) << key << ": " << put.body();
  }
  for (const std::string& key : keys) {
    EXPECT_TRUE(TestCluster::WaitUntil(
        [&] { return Holders(c, key, {"v-" + key}) == AsSet(c.Placement(key).replicas); }, std::chrono::seconds(5)))
        << key << c.Logs();
    EXPECT_EQ(c.CoordinatedValues((entry + 1) % 5, key), Values{"v-" + key}) << key;
  }
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

}  // namespace
}  // namespace dynastore::test
