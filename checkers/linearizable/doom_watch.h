// DoomWatch: the linearizability search's lookahead (lin_search.cc). An ok
// op that needs value u (a read of u, a cas from u) can only be linearized
// while the register holds u. When the register leaves u, some op must write
// u again before that op's linearization point, so before its return: if no
// op left that writes u (ok, or info: a crashed op may still take effect) was
// invoked before the return of the earliest-returning op left that needs u,
// that op is doomed and the configuration cannot be completed. This turns the
// refutation of a stale read into a local one (at the write that overwrote
// the value) instead of a search of everything before the read.
//
// Ops are indices into the caller's op array; info ops are only producers,
// through their classes (identical info ops, linearized in invoke order, the
// first cls_done[c] of class c). Amortized O(1) per query on forward moves.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace faultline {

struct DoomOp {
  int32_t consumes = -1;  // ok ops: the value it needs, or -1
  int32_t produces = -1;  // the value it writes (not a cas to its own OLD), or -1
  int64_t invoke_pos = 0, ret_pos = 0;
  int32_t cls = -1;  // info ops: their class
};

class DoomWatch {
 public:
  void Build(const std::vector<DoomOp>& ops, size_t values, const std::vector<int32_t>& cls_begin,
             const std::vector<int32_t>& cls_members) {
    ops_ = &ops;
    cls_begin_ = &cls_begin;
    cls_members_ = &cls_members;
    cons_.assign(values, {});
    prod_.assign(values, {});
    iprod_.assign(values, {});
    for (size_t i = 0; i < ops.size(); ++i) {
      const DoomOp& op = ops[i];
      if (op.consumes >= 0) cons_[op.consumes].push_back(static_cast<int32_t>(i));
      if (op.produces < 0) continue;
      auto& classes = iprod_[op.produces];
      if (op.cls < 0) {
        prod_[op.produces].push_back(static_cast<int32_t>(i));
      } else if (std::find(classes.begin(), classes.end(), op.cls) == classes.end()) {
        classes.push_back(op.cls);
      }
    }
    for (auto& c : cons_)
      std::sort(c.begin(), c.end(), [&](int32_t x, int32_t y) { return ops[x].ret_pos < ops[y].ret_pos; });
    for (auto& p : prod_)
      std::sort(p.begin(), p.end(), [&](int32_t x, int32_t y) { return ops[x].invoke_pos < ops[y].invoke_pos; });
    cons_index_.assign(ops.size(), 0);
    prod_index_.assign(ops.size(), 0);
    for (const auto& l : cons_)
      for (size_t k = 0; k < l.size(); ++k) cons_index_[l[k]] = static_cast<int32_t>(k);
    for (const auto& l : prod_)
      for (size_t k = 0; k < l.size(); ++k) prod_index_[l[k]] = static_cast<int32_t>(k);
    cons_front_.assign(values, 0);
    prod_front_.assign(values, 0);
    lin_.assign(ops.size(), 0);
  }

  void Linearize(int32_t o) { lin_[o] = 1; }
  void Unlinearize(int32_t o) {
    lin_[o] = 0;
    const DoomOp& op = (*ops_)[o];
    if (op.consumes >= 0) cons_front_[op.consumes] = std::min(cons_front_[op.consumes], cons_index_[o]);
    if (op.produces >= 0 && op.cls < 0) prod_front_[op.produces] = std::min(prod_front_[op.produces], prod_index_[o]);
  }

  // The op needing u that can no longer be served, or -1 (see the class comment).
  int32_t Doomed(int32_t u, const std::vector<int32_t>& cls_done) {
    const int32_t c = First(cons_[u], cons_front_[u]);
    if (c < 0) return -1;
    const int64_t deadline = (*ops_)[c].ret_pos;
    const int32_t p = First(prod_[u], prod_front_[u]);
    if (p >= 0 && (*ops_)[p].invoke_pos < deadline) return -1;
    for (int32_t cls : iprod_[u]) {
      const int32_t i = (*cls_begin_)[cls] + cls_done[cls];
      if (i < (*cls_begin_)[cls + 1] && (*ops_)[(*cls_members_)[i]].invoke_pos < deadline) return -1;
    }
    return c;
  }

 private:
  int32_t First(const std::vector<int32_t>& list, int32_t& front) {
    while (front < static_cast<int32_t>(list.size()) && lin_[list[front]]) ++front;
    return front < static_cast<int32_t>(list.size()) ? list[front] : -1;
  }

  const std::vector<DoomOp>* ops_ = nullptr;
  const std::vector<int32_t>* cls_begin_ = nullptr;
  const std::vector<int32_t>* cls_members_ = nullptr;
  std::vector<std::vector<int32_t>> cons_, prod_, iprod_;  // per value
  std::vector<int32_t> cons_index_, prod_index_;           // an op's place in its cons_ / prod_ list
  std::vector<int32_t> cons_front_, prod_front_;           // everything before is linearized
  std::vector<uint8_t> lin_;
};

}  // namespace faultline
