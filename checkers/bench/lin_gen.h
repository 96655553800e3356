// A generator of cas-register histories of one key for faultline-lin-bench:
// `processes` clients each run ops back to back (exponential think and
// service times); every op takes effect at a random point of its interval
// against one simulated register, so the history is linearizable. A crashed
// op completes info and may take effect (half the time) at any later point,
// even after its info completion; its client continues as a new process.
// Values are 0..values-1 (default 5: Jepsen's contention); reads 50%, writes 25%, cas 25%.
// `corrupt`: one ok read at 80% of the history is stale: it returns a value
// the register held 20 or more effects earlier that no op concurrent with it
// (or crashed before it returned) writes, so the history is not linearizable
// (when no such value exists the history stays clean and *corrupted is false).
// Deterministic for a seed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "checkers/history.h"

namespace faultline::bench {

struct LinGenOptions {
  int processes = 5;
  int64_t ops = 1000;
  double crashed = 0.0;  // fraction of ops that crash (info)
  bool corrupt = false;
  uint64_t seed = 1;
  int values = 5;
};

inline History GenerateLinHistory(const LinGenOptions& o, bool* corrupted = nullptr) {
  if (corrupted != nullptr) *corrupted = false;
  std::mt19937_64 rng(o.seed);
  std::exponential_distribution<double> service(1.0 / 1e6), think(1.0 / 2e5);  // ns
  std::uniform_real_distribution<double> unit(0, 1);
  struct G {
    int64_t process, invoke, complete, effect;  // effect < 0: none
    int kind, a, b;                             // 0 read, 1 write, 2 cas
    OpType type;
    int result = -1;  // read: value read (-1 = absent); cas: applied
  };
  std::vector<G> ops;
  std::vector<int64_t> clock(static_cast<size_t>(o.processes), 0), id(static_cast<size_t>(o.processes));
  for (int p = 0; p < o.processes; ++p) id[static_cast<size_t>(p)] = p;
  int64_t next_id = o.processes;
  for (int64_t i = 0; i < o.ops; ++i) {
    const size_t p = static_cast<size_t>(std::min_element(clock.begin(), clock.end()) - clock.begin());
    G g{};
    g.process = id[p];
    g.invoke = clock[p] + static_cast<int64_t>(think(rng));
    const int64_t d = 1 + static_cast<int64_t>(service(rng));
    g.complete = g.invoke + d;
    const double r = unit(rng);
    g.kind = r < 0.5 ? 0 : r < 0.75 ? 1 : 2;
    g.a = static_cast<int>(rng() % static_cast<uint64_t>(o.values));
    g.b = static_cast<int>(rng() % static_cast<uint64_t>(o.values));
    const bool crash = unit(rng) < o.crashed;
    g.type = crash ? OpType::kInfo : OpType::kOk;
    if (!crash) {
      g.effect = g.invoke + static_cast<int64_t>(unit(rng) * static_cast<double>(d));
    } else {
      g.effect = unit(rng) < 0.5 ? g.invoke + static_cast<int64_t>(unit(rng) * 5 * static_cast<double>(d)) : -1;
      id[p] = next_id++;
    }
    clock[p] = g.complete;
    ops.push_back(g);
  }
  // Apply the effects in order on one register.
  std::vector<size_t> order;
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].effect >= 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return ops[x].effect < ops[y].effect; });
  size_t target = ops.size();
  for (size_t i = ops.size() * 4 / 5; o.corrupt && i < ops.size(); ++i) {
    if (ops[i].kind == 0 && ops[i].type == OpType::kOk) {
      target = i;
      break;
    }
  }
  int reg = -1;
  std::vector<int> past;   // the register after each effect
  std::vector<int> stale;  // the target's candidates, most recent first
  for (size_t i : order) {
    G& g = ops[i];
    if (g.kind == 0) g.result = reg;
    if (i == target) {
      for (size_t k = past.size() > 20 ? past.size() - 20 : 0; k-- > 0;) {
        if (past[k] != reg && past[k] >= 0) stale.push_back(past[k]);  // not absent: nothing writes that
      }
    }
    if (g.kind == 1) reg = g.a;
    if (g.kind == 2) {
      g.result = reg == g.a;
      if (g.result) reg = g.b;
      if (!g.result && g.type == OpType::kOk) g.type = OpType::kFail;
    }
    past.push_back(reg);
  }
  if (target < ops.size()) {
    const G& t = ops[target];
    std::vector<bool> explained(static_cast<size_t>(o.values) + 1);
    for (const G& g : ops) {
      if (g.kind == 0 || g.type == OpType::kFail) continue;
      if (g.invoke < t.complete && (g.type == OpType::kInfo || g.complete > t.invoke))
        explained[static_cast<size_t>(g.kind == 1 ? g.a : g.b) + 1] = true;
    }
    for (int v : stale) {
      if (!explained[static_cast<size_t>(v + 1)]) {
        ops[target].result = v;
        if (corrupted != nullptr) *corrupted = true;
        break;
      }
    }
  }
  struct Ev {
    int64_t time;
    size_t op;
    bool invoke;
  };
  std::vector<Ev> evs;
  for (size_t i = 0; i < ops.size(); ++i) {
    evs.push_back({ops[i].invoke, i, true});
    evs.push_back({ops[i].complete, i, false});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& x, const Ev& y) { return x.time < y.time; });
  History h;
  h.reserve(evs.size());
  for (const Ev& e : evs) {
    const G& g = ops[e.op];
    Op op;
    op.index = static_cast<int64_t>(h.size());
    op.time = e.time;
    op.process = g.process;
    op.key = "k";
    op.type = e.invoke ? OpType::kInvoke : g.type;
    op.f = g.kind == 0 ? "read" : g.kind == 1 ? "write" : "cas";
    if (g.kind == 1) op.value = g.a;
    if (g.kind == 2) op.value = nlohmann::json::array({g.a, g.b});
    if (g.kind == 0 && !e.invoke && g.type == OpType::kOk) {
      op.value = g.result < 0 ? nlohmann::json() : nlohmann::json(g.result);
    }
    h.push_back(std::move(op));
  }
  return h;
}

}  // namespace faultline::bench
