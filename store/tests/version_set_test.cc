#include "store/version_set.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace dynastore {
namespace {

constexpr size_t kNoPruning = 1000;

std::multiset<std::string> Values(const VersionSet& s) {
  auto v = s.LiveValues();
  return {v.begin(), v.end()};
}

TEST(VersionSet, WriteWithReadContextReplacesTheValue) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 1, kNoPruning);
  s.Write("n1", s.Context(), "b", 2, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"b"}));
  EXPECT_EQ(s.versions().size(), 1u);
}

TEST(VersionSet, TwoWritesThroughOneNodeWithEmptyContextBothSurvive) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 1, kNoPruning);
  s.Write("n1", CausalContext(), "b", 2, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"a", "b"}));
}

TEST(VersionSet, TwoWritesThroughOneNodeWithTheSameStaleContextBothSurvive) {
  // The bug class dotted version vectors exist for: with a per-server vector
  // clock incremented at n1, the second write would silently replace the first.
  VersionSet s;
  s.Write("n1", CausalContext(), "v0", 1, kNoPruning);
  CausalContext stale = s.Context();
  s.Write("n1", stale, "x", 2, kNoPruning);
  s.Write("n1", stale, "y", 3, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"x", "y"}));
  // Equal values are still distinct writes.
  s.Write("n1", stale, "y", 4, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"x", "y", "y"}));
}

TEST(VersionSet, PutReplyContextDoesNotCoverAnUnseenSibling) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 1, kNoPruning);
  CausalContext reply = s.Write("n1", CausalContext(), "b", 2, kNoPruning).History();
  // The writer of b never saw a: writing again with b's reply keeps a.
  s.Write("n1", reply, "b2", 3, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"a", "b2"}));
}

TEST(VersionSet, MergedContextCollapsesSiblings) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 1, kNoPruning);
  s.Write("n2", CausalContext(), "b", 2, kNoPruning);
  s.Write("n1", CausalContext(), "c", 3, kNoPruning);
  ASSERT_EQ(s.versions().size(), 3u);
  s.Write("n2", s.Context(), "merged", 4, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"merged"}));
}

TEST(VersionSet, TombstoneSupersedesWhatItSawAndIsItselfSuperseded) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 1, kNoPruning);
  CausalContext seen = s.Context();
  s.Write("n1", CausalContext(), "concurrent", 2, kNoPruning);
  s.Write("n1", seen, std::nullopt, 3, kNoPruning);  // delete of a only
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"concurrent"}));
  EXPECT_EQ(s.versions().size(), 2u);
  s.Write("n1", s.Context(), std::nullopt, 4, kNoPruning);
  EXPECT_FALSE(s.HasLive());
  EXPECT_TRUE(s.ReapableBefore(5));
  EXPECT_FALSE(s.ReapableBefore(4));
  s.Write("n1", s.Context(), "back", 6, kNoPruning);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"back"}));
  EXPECT_EQ(s.versions().size(), 1u);
}

TEST(VersionSet, MergeKeepsConcurrentAndDropsSuperseded) {
  VersionSet r1, r2;
  r1.Write("n1", CausalContext(), "a", 1, kNoPruning);
  r2.Merge(r1);
  r2.Write("n2", r2.Context(), "b", 2, kNoPruning);     // supersedes a
  r1.Write("n1", CausalContext(), "c", 3, kNoPruning);  // concurrent with all
  EXPECT_TRUE(r1.Merge(r2));
  EXPECT_EQ(Values(r1), (std::multiset<std::string>{"b", "c"}));
  EXPECT_FALSE(r1.Merge(r2));  // idempotent
  VersionSet r2_copy = r2;
  r2.Merge(r1);
  EXPECT_EQ(r2, r1);  // commutative outcome
  EXPECT_NE(r2, r2_copy);
}

TEST(VersionSet, EncodeDecodeRoundTripAndRejectsCorruption) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 1, kNoPruning);
  s.Write("n2", CausalContext(), std::string(300, 'x'), 2, kNoPruning);
  s.Write("n1", CausalContext(), std::nullopt, 3, kNoPruning);
  std::string bytes = s.Encode();
  VersionSet back;
  ASSERT_TRUE(VersionSet::Decode(bytes, back).ok());
  EXPECT_EQ(back, s);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(VersionSet::Decode(std::string_view(bytes).substr(0, cut), back).ok()) << cut;
  }
  EXPECT_FALSE(VersionSet::Decode(bytes + "x", back).ok());
}

TEST(VersionSet, PrunedPastBringsBackSupersededVersionsAsFalseSiblings) {
  VersionSet stale;
  for (int i = 0; i < 4; ++i) {
    stale.Write("n" + std::to_string(i), CausalContext(), "v" + std::to_string(i), i, kNoPruning);
  }
  VersionSet fresh = stale;
  fresh.Write("n9", fresh.Context(), "merged", 10, /*max_nodes=*/2);
  EXPECT_EQ(Values(fresh), (std::multiset<std::string>{"merged"}));
  // The two oldest writers were pruned from the new version's past, so a
  // replica that still holds their versions brings them back as siblings.
  fresh.Merge(stale);
  EXPECT_EQ(Values(fresh), (std::multiset<std::string>{"v0", "v1", "merged"}));
}

TEST(VersionSetFaultSwitch, NaiveVclocksSilentlyDropOneOfTwoConcurrentWritesThroughOneNode) {
  VersionSet s;
  s.Write("n1", CausalContext(), "v0", 1, kNoPruning, Causality::kNaiveVclocks);
  CausalContext stale = s.Context();
  s.Write("n1", stale, "x", 2, kNoPruning, Causality::kNaiveVclocks);
  s.Write("n1", stale, "y", 3, kNoPruning, Causality::kNaiveVclocks);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"y"}));  // "x" is lost
}

TEST(VersionSetFaultSwitch, NaiveVclocksReplicasAgreeOnWhichWriteWasLost) {
  VersionSet a, b;
  a.Write("n1", CausalContext(), "x", 2, kNoPruning, Causality::kNaiveVclocks);
  b.Write("n1", CausalContext(), "y", 3, kNoPruning, Causality::kNaiveVclocks);  // same clock {n1:1}
  VersionSet a2 = a;
  a2.Merge(b, Causality::kNaiveVclocks);
  b.Merge(a, Causality::kNaiveVclocks);
  EXPECT_EQ(a2, b);
  EXPECT_EQ(Values(b), (std::multiset<std::string>{"y"}));
}

// Found by the detection suite: two naive-vclock writes through one node with
// incomparable contexts get the same dot and both survive a merge; the
// replica then could not read its own record back ("versions out of order")
// and answered 500 to every request for the key.
TEST(VersionSetFaultSwitch, NaiveVclocksEqualDotSiblingsSurviveEncoding) {
  CausalContext saw_n2, saw_n3;
  saw_n2.Add(Dot{"n2", 1}, 1);
  saw_n3.Add(Dot{"n3", 1}, 1);
  VersionSet a, b;
  a.Write("n1", saw_n2, "x", 2, kNoPruning, Causality::kNaiveVclocks);
  b.Write("n1", saw_n3, "y", 3, kNoPruning, Causality::kNaiveVclocks);  // the same dot n1:1
  VersionSet ab = a, ba = b;
  ab.Merge(b, Causality::kNaiveVclocks);
  ba.Merge(a, Causality::kNaiveVclocks);
  ASSERT_EQ(Values(ab), (std::multiset<std::string>{"x", "y"}));  // concurrent: both kept
  EXPECT_EQ(ab.Encode(), ba.Encode());                            // one stored order on every replica
  VersionSet decoded;
  ASSERT_TRUE(VersionSet::Decode(ab.Encode(), decoded).ok());
  EXPECT_EQ(decoded, ab);
}

TEST(VersionSetFaultSwitch, LastWriteWinsKeepsOneValueAndSkewDropsTheNewerWrite) {
  VersionSet s;
  s.Write("n1", CausalContext(), "a", 100, kNoPruning, Causality::kLww);
  s.Write("n2", CausalContext(), "b", 200, kNoPruning, Causality::kLww);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"b"}));
  // n3's clock runs 1 s behind: its later write, merged in, loses.
  VersionSet skewed;
  skewed.Write("n3", s.Context(), "c", 150, kNoPruning, Causality::kLww);
  s.Merge(skewed, Causality::kLww);
  EXPECT_EQ(Values(s), (std::multiset<std::string>{"b"}));
}

// Property test. A model keeps every version ever written with its exact
// causal past as a set of dots. After every step, each replica must hold
// exactly the maximal versions of what reached it, and every context handed
// to a client must cover exactly the dots of the versions it describes.
struct ModelVersion {
  Dot dot;
  std::set<Dot> past;
};

TEST(VersionSetProperty, StoredSetIsAlwaysTheSetOfMaximalVersions) {
  const auto seed = testing::UnitTest::GetInstance()->random_seed();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with --gtest_random_seed)");
  for (int trial = 0; trial < 40; ++trial) {
    const std::vector<std::string> nodes = {"n1", "n2", "n3"};
    std::map<std::string, VersionSet> replica;
    std::map<std::string, std::set<Dot>> reached;  // dots each replica has received
    std::map<Dot, ModelVersion> all;
    // Contexts clients hold: the token's context and the exact dot set it stands for.
    std::vector<std::pair<CausalContext, std::set<Dot>>> held = {{CausalContext(), {}}};

    auto exact_history = [&](const std::set<Dot>& dots) {
      std::set<Dot> h;
      for (const auto& d : dots) {
        h.insert(d);
        h.insert(all[d].past.begin(), all[d].past.end());
      }
      return h;
    };
    auto check_context = [&](const CausalContext& ctx, const std::set<Dot>& exact) {
      for (const auto& [dot, v] : all) {
        ASSERT_EQ(ctx.Covers(dot), exact.count(dot) > 0) << dot.ToString() << " in " << ctx.DebugString();
      }
    };

    for (int step = 0; step < 60; ++step) {
      const std::string& node = nodes[rng() % nodes.size()];
      int op = rng() % 10;
      if (op < 5) {  // write through `node` with a held context
        auto [ctx, exact] = held[rng() % held.size()];
        bool tombstone = rng() % 8 == 0;
        std::optional<std::string> value;
        if (!tombstone) value = "v" + std::to_string(step);
        const Version& v = replica[node].Write(node, ctx, value, step, kNoPruning);
        ASSERT_EQ(all.count(v.dot), 0u) << "dot reissued: " << v.dot.ToString();
        all[v.dot] = ModelVersion{v.dot, exact};
        reached[node].insert(v.dot);
        std::set<Dot> reply_exact = exact;
        reply_exact.insert(v.dot);
        check_context(v.History(), reply_exact);
        held.emplace_back(v.History(), reply_exact);
      } else if (op < 8) {  // a client reads `node`
        std::set<Dot> dots;
        for (const auto& v : replica[node].versions()) dots.insert(v.dot);
        CausalContext ctx = replica[node].Context();
        std::set<Dot> exact = exact_history(dots);
        check_context(ctx, exact);
        held.emplace_back(ctx, exact);
      } else {  // anti-entropy from another replica into `node`
        const std::string& from = nodes[rng() % nodes.size()];
        replica[node].Merge(replica[from]);
        reached[node].insert(reached[from].begin(), reached[from].end());
      }
      for (const auto& n : nodes) {
        std::set<Dot> maximal;
        for (const auto& d : reached[n]) {
          bool superseded = false;
          for (const auto& other : reached[n]) superseded |= all[other].past.count(d) > 0;
          if (!superseded) maximal.insert(d);
        }
        std::set<Dot> stored;
        for (const auto& v : replica[n].versions()) stored.insert(v.dot);
        if (stored != maximal) {
          std::string dump;
          for (const auto& d : stored) dump += " stored " + d.ToString();
          for (const auto& d : maximal) dump += " maximal " + d.ToString();
          for (const auto& v : replica[n].versions())
            dump += "\n  " + v.dot.ToString() + " past " + v.past.DebugString();
          for (const auto& [d, mv] : all) {
            dump += "\n  model " + d.ToString() + " past";
            for (const auto& p : mv.past) dump += " " + p.ToString();
          }
          FAIL() << "replica " << n << " trial " << trial << " step " << step << dump;
        }
      }
    }
  }
}

TEST(VersionSet, CheckWriteRefusesACounterThatWouldLeaveItsRangeAndTooManySiblings) {
  VersionSet s;
  CausalContext top;
  top.Add(Dot{"n1", CausalContext::kMaxCounter}, 0);
  Status over = s.CheckWrite("n1", top, 10);
  EXPECT_EQ(over.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(over.message().find("counter"), std::string::npos) << over.message();
  // Another node's counter is not affected.
  EXPECT_TRUE(s.CheckWrite("n2", top, 10).ok());

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.CheckWrite("n1", CausalContext(), 3).ok()) << i;
    s.Write("n1", CausalContext(), "v" + std::to_string(i), i, kNoPruning);
  }
  Status full = s.CheckWrite("n1", CausalContext(), 3);
  EXPECT_EQ(full.code(), Status::Code::kConflict);
  EXPECT_NE(full.message().find("3 siblings"), std::string::npos) << full.message();
  // A write that supersedes them is fine, and so is one under --lww.
  EXPECT_TRUE(s.CheckWrite("n1", s.Context(), 3).ok());
  EXPECT_TRUE(s.CheckWrite("n1", CausalContext(), 3, Causality::kLww).ok());
  // The round trip through storage of a set at the limit works.
  VersionSet back;
  ASSERT_TRUE(VersionSet::Decode(s.Encode(), back).ok());
  EXPECT_EQ(back, s);
}

}  // namespace
}  // namespace dynastore
