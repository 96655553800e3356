#include "store/causal_context.h"

#include <gtest/gtest.h>

#include <random>

#include "store/codec.h"

namespace dynastore {
namespace {

// A key as a cluster file would give it.
const ContextKey key = [] {
  ContextKey k;
  ContextKey::FromHex("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", k);
  return k;
}();

CausalContext Ctx(std::initializer_list<Dot> dots) {
  CausalContext c;
  for (const auto& d : dots) c.Add(d, 1);
  return c;
}

TEST(CausalContext, EmptyContextsAreEqualAndCoverNothing) {
  CausalContext a, b;
  EXPECT_EQ(CausalContext::Compare(a, b), Order::kEqual);
  EXPECT_FALSE(a.Covers(Dot{"n1", 1}));
  EXPECT_EQ(a.ToToken(key), "");
}

TEST(CausalContext, ContiguousDotsFoldIntoTheVector) {
  CausalContext c = Ctx({{"n1", 1}, {"n1", 2}, {"n1", 3}});
  EXPECT_TRUE(c.cloud().empty());
  EXPECT_EQ(c.vector().at("n1").counter, 3u);
}

TEST(CausalContext, GapKeepsLaterDotInTheCloud) {
  // n1:2 was seen without n1:1: n1:1 is an unseen concurrent write.
  CausalContext c = Ctx({{"n1", 2}});
  EXPECT_FALSE(c.Covers(Dot{"n1", 1}));
  EXPECT_TRUE(c.Covers(Dot{"n1", 2}));
  EXPECT_FALSE(c.Covers(Dot{"n1", 3}));
  EXPECT_EQ(c.cloud().size(), 1u);
  c.Add(Dot{"n1", 1}, 1);  // filling the gap folds both
  EXPECT_TRUE(c.cloud().empty());
  EXPECT_EQ(c.vector().at("n1").counter, 2u);
}

TEST(CausalContext, CompareEqual) {
  EXPECT_EQ(CausalContext::Compare(Ctx({{"a", 1}, {"b", 1}}), Ctx({{"b", 1}, {"a", 1}})), Order::kEqual);
}

TEST(CausalContext, CompareDescendsAndPrecedes) {
  CausalContext older = Ctx({{"a", 1}});
  CausalContext newer = Ctx({{"a", 1}, {"a", 2}, {"b", 1}});
  EXPECT_EQ(CausalContext::Compare(newer, older), Order::kDescends);
  EXPECT_EQ(CausalContext::Compare(older, newer), Order::kPrecedes);
}

TEST(CausalContext, CompareConcurrent) {
  EXPECT_EQ(CausalContext::Compare(Ctx({{"a", 1}}), Ctx({{"b", 1}})), Order::kConcurrent);
  // Same node, different non-contiguous dots: concurrent, not ordered.
  EXPECT_EQ(CausalContext::Compare(Ctx({{"a", 1}}), Ctx({{"a", 2}})), Order::kConcurrent);
}

TEST(CausalContext, CompareCloudAgainstVector) {
  CausalContext vector_only = Ctx({{"a", 1}, {"a", 2}, {"a", 3}});
  CausalContext cloud_only = Ctx({{"a", 3}});
  EXPECT_EQ(CausalContext::Compare(vector_only, cloud_only), Order::kDescends);
  EXPECT_EQ(CausalContext::Compare(cloud_only, vector_only), Order::kPrecedes);
}

TEST(CausalContext, MergeIsUnionAndIdempotent) {
  CausalContext a = Ctx({{"a", 1}, {"b", 3}});
  CausalContext b = Ctx({{"a", 2}, {"b", 1}, {"c", 1}});
  CausalContext m = a;
  m.Merge(b);
  for (const auto& d : std::vector<Dot>{{"a", 1}, {"a", 2}, {"b", 1}, {"b", 3}, {"c", 1}}) {
    EXPECT_TRUE(m.Covers(d)) << d.ToString();
  }
  EXPECT_FALSE(m.Covers(Dot{"b", 2}));
  EXPECT_EQ(CausalContext::Compare(m, a), Order::kDescends);
  EXPECT_EQ(CausalContext::Compare(m, b), Order::kDescends);
  CausalContext again = m;
  again.Merge(b);
  EXPECT_EQ(again, m);
  CausalContext other_way = b;
  other_way.Merge(a);
  EXPECT_EQ(CausalContext::Compare(other_way, m), Order::kEqual);
}

TEST(CausalContext, MaxCounterSeesVectorAndCloud) {
  CausalContext c = Ctx({{"a", 1}, {"a", 5}, {"b", 2}, {"c", 1}});
  EXPECT_EQ(c.MaxCounter("a"), 5u);
  EXPECT_EQ(c.MaxCounter("b"), 2u);
  EXPECT_EQ(c.MaxCounter("c"), 1u);
  EXPECT_EQ(c.MaxCounter("zz"), 0u);
}

TEST(CausalContext, PruneDropsOldestNodesFirst) {
  CausalContext c;
  c.Add(Dot{"old", 1}, 100);
  c.Add(Dot{"mid", 1}, 200);
  c.Add(Dot{"new", 1}, 300);
  c.Add(Dot{"cloudy", 2}, 50);  // only in the cloud, and the oldest
  EXPECT_EQ(c.NodeCount(), 4u);
  EXPECT_EQ(c.Prune(2), 2u);
  EXPECT_EQ(c.NodeCount(), 2u);
  EXPECT_FALSE(c.Covers(Dot{"cloudy", 2}));
  EXPECT_FALSE(c.Covers(Dot{"old", 1}));
  EXPECT_TRUE(c.Covers(Dot{"mid", 1}));
  EXPECT_TRUE(c.Covers(Dot{"new", 1}));
  EXPECT_EQ(c.Prune(2), 0u);
}

TEST(CausalContext, TokenRoundTripsRandomContexts) {
  std::mt19937_64 rng(testing::UnitTest::GetInstance()->random_seed());
  for (int i = 0; i < 500; ++i) {
    CausalContext c;
    int dots = rng() % 20;
    for (int d = 0; d < dots; ++d) {
      c.Add(Dot{"n" + std::to_string(rng() % 5), 1 + rng() % 8}, static_cast<int64_t>(rng() % 2000000000000));
    }
    CausalContext back;
    ASSERT_TRUE(CausalContext::FromToken(c.ToToken(key), key, back).ok()) << c.DebugString();
    EXPECT_EQ(back, c);
  }
}

TEST(CausalContext, RejectsCorruptTokens) {
  CausalContext c = Ctx({{"n1", 1}, {"n1", 2}, {"n2", 4}});
  std::string token = c.ToToken(key);
  CausalContext out;
  EXPECT_FALSE(CausalContext::FromToken("not base64!", key, out).ok());
  EXPECT_FALSE(CausalContext::FromToken(token.substr(0, token.size() - 3), key, out).ok());  // truncated
  EXPECT_TRUE(out.empty());
  for (size_t i = 0; i < token.size(); ++i) {  // every single-character garble
    std::string garbled = token;
    garbled[i] = garbled[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(CausalContext::FromToken(garbled, key, out).ok()) << "position " << i;
  }
}

TEST(CausalContext, RejectsWellSignedButNonCanonicalBytes) {
  // A valid signature, but a cloud dot that the vector already covers:
  // only a bug (or a leaked key) produces it, so it is refused.
  std::string bytes;
  bytes.push_back(2);
  codec::PutVarint(bytes, 1);
  codec::PutBytes(bytes, "n1");
  codec::PutVarint(bytes, 3);
  codec::PutVarint(bytes, 0);
  codec::PutVarint(bytes, 1);
  codec::PutBytes(bytes, "n1");
  codec::PutVarint(bytes, 2);
  codec::PutVarint(bytes, 0);
  bytes += key.Sign(bytes);
  CausalContext out;
  Status s = CausalContext::FromToken(codec::Base64UrlEncode(bytes), key, out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("malformed"), std::string::npos) << s.message();
}

TEST(CausalContext, TokensOfAnotherKeyOrTheUnsignedFormatAreRefused) {
  const CausalContext c = Ctx({{"n1", 1}, {"n2", 4}});
  ContextKey other;
  ASSERT_TRUE(ContextKey::FromHex(std::string(64, 'a'), other).ok());
  CausalContext out;
  Status s = CausalContext::FromToken(c.ToToken(other), key, out);
  EXPECT_NE(s.message().find("signature"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
  // The well-known key of a cluster file without "context_key" is a key too.
  EXPECT_FALSE(CausalContext::FromToken(c.ToToken(ContextKey()), key, out).ok());

  std::string unsigned_bytes(1, '\x01');
  c.EncodeTo(unsigned_bytes);
  codec::SealWithCrc(unsigned_bytes);
  s = CausalContext::FromToken(codec::Base64UrlEncode(unsigned_bytes), key, out);
  EXPECT_NE(s.message().find("unsigned format"), std::string::npos) << s.message();
}

TEST(CausalContext, CountersThatCouldWrapAndTooManyEntriesAreMalformed) {
  CausalContext top;
  top.Add(Dot{"n1", CausalContext::kMaxCounter}, 0);
  CausalContext back;
  ASSERT_TRUE(CausalContext::FromToken(top.ToToken(key), key, back).ok());
  EXPECT_EQ(back, top);
  for (const Dot& dot : {Dot{"n1", CausalContext::kMaxCounter + 1}, Dot{"n1", UINT64_MAX}}) {
    CausalContext over;
    over.Add(dot, 0);
    Status s = CausalContext::FromToken(over.ToToken(key), key, back);
    EXPECT_NE(s.message().find("counter"), std::string::npos) << s.message();
  }
  CausalContext wide;
  for (size_t i = 0; i <= CausalContext::kMaxEntries / 2; ++i) {
    wide.Add(Dot{"n" + std::to_string(i), 1}, 0);
    wide.Add(Dot{"n" + std::to_string(i), 3}, 0);  // a cloud dot: vector + cloud count together
  }
  Status s = CausalContext::FromToken(wide.ToToken(key), key, back);
  EXPECT_NE(s.message().find("entries"), std::string::npos) << s.message();
}

TEST(CausalContext, PruningThousandsOfNodesKeepsTheNewestInOnePass) {
  // A one-node-at-a-time loop took 13.5 s of CPU for this; one pass is
  // O(n log n). Checked here for the result, not for its time.
  CausalContext c;
  for (int i = 0; i < 4096; ++i) c.Add(Dot{"n" + std::to_string(i), 1}, 1000 + (i * 7919) % 4096);
  EXPECT_EQ(c.Prune(64), 4096u - 64u);
  EXPECT_EQ(c.NodeCount(), 64u);
  for (int i = 0; i < 4096; ++i) {
    EXPECT_EQ(c.Covers(Dot{"n" + std::to_string(i), 1}), 1000 + (i * 7919) % 4096 >= 1000 + 4096 - 64) << i;
  }
}

}  // namespace
}  // namespace dynastore
