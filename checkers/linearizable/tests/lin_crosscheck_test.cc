// The linearizable checker against a brute-force one on random small
// histories (leveldb's model-test idea): the brute force tries every order of
// the ops consistent with real time (info ops optional), remembering only
// (set, value) pairs that failed. Both must agree on every history. The seed
// is printed; FAULTLINE_LIN_SEED=N repeats a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "checkers/linearizable/linearizable_checker.h"

namespace faultline {
namespace {

constexpr int kNil = -1;

// A random history of at most `max_ops` register ops on one key by up to 3
// concurrent processes. A simulated register makes most answers right, some
// wrong, so both verdicts are common; ok / info / fail / never completed.
History RandomHistory(std::mt19937_64& rng, bool cas, int max_ops) {
  History h;
  auto add = [&](OpType type, int64_t process, const std::string& f, nlohmann::json value) {
    Op op;
    op.index = static_cast<int64_t>(h.size());
    op.time = op.index * 1000;
    op.type = type;
    op.process = process;
    op.f = f;
    op.key = "k";
    op.value = std::move(value);
    h.push_back(std::move(op));
  };
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto value = [&](int v) { return v == kNil ? nlohmann::json() : nlohmann::json(v); };
  struct Slot {
    int64_t process;
    std::optional<Op> pending;
  };
  std::vector<Slot> slots;
  const int nslots = 1 + pick(3);
  for (int i = 0; i < nslots; ++i) slots.push_back({i, std::nullopt});
  int64_t next_process = nslots;
  int reg = kNil;
  const int nops = 1 + pick(max_ops);
  int invoked = 0;
  for (;;) {
    std::vector<int> idle, busy;
    for (int i = 0; i < nslots; ++i) (slots[i].pending ? busy : idle).push_back(i);
    const bool can_invoke = invoked < nops && !idle.empty();
    if (!can_invoke && busy.empty()) break;
    if (can_invoke && (busy.empty() || pick(2) == 0)) {
      Slot& s = slots[idle[pick(static_cast<int>(idle.size()))]];
      const int kind = pick(cas ? 3 : 2);
      const std::string f = kind == 0 ? "read" : kind == 1 ? "write" : "cas";
      nlohmann::json v = kind == 0   ? nlohmann::json()
                         : kind == 1 ? nlohmann::json(pick(3))
                                     : nlohmann::json::array({pick(3), pick(3)});
      add(OpType::kInvoke, s.process, f, v);
      s.pending = h.back();
      ++invoked;
      continue;
    }
    Slot& s = slots[busy[pick(static_cast<int>(busy.size()))]];
    const Op inv = *s.pending;
    s.pending.reset();
    if (invoked >= nops && pick(10) == 0) continue;  // never completes
    const int roll = pick(20);
    const OpType type = roll < 14 ? OpType::kOk : roll < 17 ? OpType::kInfo : OpType::kFail;
    nlohmann::json v = inv.value;
    if (inv.f == "read") {
      v = type == OpType::kOk ? value(pick(4) == 0 ? pick(4) - 1 : reg) : nlohmann::json();
    } else if (inv.f == "write") {
      if (type == OpType::kOk || (type == OpType::kInfo && pick(2) == 0)) reg = inv.value.get<int>();
    } else {
      const bool applies = reg == inv.value[0].get<int>();
      if (type == OpType::kOk && applies) reg = inv.value[1].get<int>();
      if (type == OpType::kInfo && applies && pick(2) == 0) reg = inv.value[1].get<int>();
    }
    OpType out = type;
    if (inv.f == "cas" && type == OpType::kOk && reg != inv.value[1].get<int>() && pick(4) != 0) out = OpType::kFail;
    add(out, s.process, inv.f, v);
    if (type == OpType::kInfo) s.process = next_process++;
  }
  return h;
}

// Brute force: every real-time-consistent order of the ok ops with any
// subset of the info ops interleaved; failed (set, value) pairs remembered.
class BruteForce {
 public:
  explicit BruteForce(const History& h) {
    std::vector<std::pair<int64_t, size_t>> open;  // process -> op
    for (size_t pos = 0; pos < h.size(); ++pos) {
      const Op& op = h[pos];
      if (op.type == OpType::kInvoke) {
        open.push_back({op.process, ops_.size()});
        ops_.push_back({op.f, Value(op.value, 0), Value(op.value, 1), false, static_cast<int64_t>(pos), kInf});
        continue;
      }
      for (size_t i = 0; i < open.size(); ++i) {
        if (open[i].first != op.process) continue;
        BOp& b = ops_[open[i].second];
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
        b.ok = op.type == OpType::kOk;
        b.fail = op.type == OpType::kFail;
        if (b.ok) b.ret = static_cast<int64_t>(pos);
        if (b.f == "read") b.a = op.value.is_null() ? kNil : op.value.get<int>();
        break;
      }
    }
    std::vector<BOp> kept;
    for (const BOp& b : ops_) {
      if (b.fail || (b.f == "read" && !b.ok)) continue;
      kept.push_back(b);
    }
    ops_ = kept;
  }
  bool Linearizable() { return Search(0, kNil); }

 private:
  static constexpr int64_t kInf = 1 << 30;
  struct BOp {
    std::string f;
    int a, b;
    bool ok;
    int64_t inv, ret;
    bool fail = false;
  };
  static int Value(const nlohmann::json& v, int i) {
    if (v.is_array()) return v[static_cast<size_t>(i)].get<int>();
    return v.is_null() || i > 0 ? kNil : v.get<int>();
  }
  bool Search(uint32_t done, int state) {
    bool all_ok = true;
    for (size_t i = 0; i < ops_.size(); ++i) all_ok &= !ops_[i].ok || (done >> i & 1);
    if (all_ok) return true;
    if (failed_.count({done, state})) return false;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done >> i & 1) continue;
      bool ready = true;  // every ok op that returned before i's invoke is done
      for (size_t j = 0; j < ops_.size(); ++j) ready &= (done >> j & 1) || ops_[j].ret > ops_[i].inv;
      if (!ready) continue;
      const BOp& op = ops_[i];
      int next = state;
      if (op.f == "read" && state != op.a) continue;
      if (op.f == "write") next = op.a;
      if (op.f == "cas") {
        if (state != op.a) continue;
        next = op.b;
      }
      if (Search(done | (1u << i), next)) return true;
    }
    failed_.insert({done, state});
    return false;
  }
  std::vector<BOp> ops_;
  std::set<std::pair<uint32_t, int>> failed_;
};

// The explanation of a non-linearizable history is consistent: its prefix
// replays under the model (each step's state is what the op leaves) and the
// offending op is not in it.
std::string PrefixProblem(const nlohmann::json& anomaly) {
  nlohmann::json state;  // null: absent
  for (const nlohmann::json& step : anomaly["prefix"]) {
    const nlohmann::json& op = step["op"];
    if (op["f"] == "read" && op["value"] != state) return "read of a value the prefix does not hold: " + step.dump();
    if (op["f"] == "write") state = op["value"];
    if (op["f"] == "cas") {
      if (op["value"][0] != state) return "cas from a value the prefix does not hold: " + step.dump();
      state = op["value"][1];
    }
    if (step["state"] != state) return "wrong state after " + step.dump();
    if (op["invoke_index"] == anomaly["op"]["invoke_index"]) return "the offending op is in the prefix";
  }
  return {};
}

uint64_t Seed() {
  if (const char* s = std::getenv("FAULTLINE_LIN_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

void CrossCheck(bool cas, int histories) {
  const uint64_t seed = Seed();
  std::cout << "seed " << seed << " (FAULTLINE_LIN_SEED to repeat)\n";
  testing::Test::RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  int valid = 0, invalid = 0;
  LinearizableOptions options;
  options.model = cas ? LinModel::kCasRegister : LinModel::kRegister;
  options.threads = 1;
  for (int i = 0; i < histories; ++i) {
    const History h = RandomHistory(rng, cas, 8);
    const bool expected = BruteForce(h).Linearizable();
    const CheckResult r = MakeLinearizableChecker(options)->Check(h);
    (expected ? valid : invalid)++;
    if (r.valid != (expected ? Validity::kTrue : Validity::kFalse)) {
      std::string text;
      for (const Op& op : h) text += ToJsonLine(op) + "\n";
      FAIL() << "seed " << seed << " history " << i << ": brute force says " << expected << ", checker says "
             << ValidityToJson(r.valid) << " (" << r.summary << ")\n"
             << text;
    }
    if (!expected) {
      const std::string problem = PrefixProblem(r.details["anomalies"][0]);
      if (!problem.empty()) FAIL() << "seed " << seed << " history " << i << ": " << problem;
    }
  }
  std::cout << histories << " histories: " << valid << " linearizable, " << invalid << " not\n";
  EXPECT_GT(valid, histories / 10);
  EXPECT_GT(invalid, histories / 10);
}

TEST(LinearizableCrossCheckTest, RegisterAgreesWithBruteForce) { CrossCheck(false, 50000); }
TEST(LinearizableCrossCheckTest, CasRegisterAgreesWithBruteForce) { CrossCheck(true, 50000); }

}  // namespace
}  // namespace faultline
