// Causality for dynastore: dots and causal contexts (dotted version vectors,
// Preguiça et al. 2012; the scheme Riak 2.0 enables with dvv_enabled).
// doc/causality.md explains the rules and why they are safe.
//
// A Dot names one write uniquely: (node that coordinated it, per-key counter).
// A CausalContext is a set of dots, stored compactly as a version vector
// (for each node, every dot 1..n) plus a "cloud" of dots beyond it that are
// not contiguous with it (a write whose concurrent sibling was not seen).
// Keeping the cloud exact is what lets two writes through one node with the
// same stale context both survive: a plain vector clock would cover both.
//
// Values, not shared state: a CausalContext is not thread-safe to mutate
// concurrently; copies are independent.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "store/context_key.h"
#include "store/status.h"

namespace dynastore {

struct Dot {
  std::string node;
  uint64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
  std::string ToString() const { return node + ":" + std::to_string(counter); }
};

// How two contexts relate as sets of dots.
enum class Order { kEqual, kDescends, kPrecedes, kConcurrent };
const char* OrderName(Order order);

class CausalContext {
 public:
  // One node's entry: the highest contiguous counter, and the wall-clock time
  // (ms) it last advanced; pruning drops the entries that advanced longest ago.
  struct Entry {
    uint64_t counter = 0;
    int64_t ts_ms = 0;
    bool operator==(const Entry&) const = default;
  };

  // Limits enforced when decoding untrusted bytes: node id length, vector
  // entries plus cloud dots, and the largest counter (far beyond any real
  // key's write count, and low enough that counter + 1 never wraps).
  static constexpr size_t kMaxNodeIdLength = 255;
  static constexpr size_t kMaxEntries = 4096;
  static constexpr uint64_t kMaxCounter = (uint64_t{1} << 62) - 1;

  bool empty() const { return vv_.empty() && cloud_.empty(); }
  bool Covers(const Dot& dot) const;
  // True iff every dot of `other` is covered by this context.
  bool Includes(const CausalContext& other) const;
  static Order Compare(const CausalContext& a, const CausalContext& b);

  // Adds one dot (folding it into the vector when contiguous).
  void Add(const Dot& dot, int64_t ts_ms);
  // Set union.
  void Merge(const CausalContext& other);
  // Highest counter this context knows for `node` (vector or cloud).
  uint64_t MaxCounter(const std::string& node) const;
  // Number of distinct nodes mentioned (the size pruning bounds).
  size_t NodeCount() const;
  // Dynamo-style pruning: while more than `max_nodes` nodes are mentioned,
  // forget every dot of the node whose entry advanced longest ago. Returns
  // how many nodes were dropped; O(entries log entries) however many. Pruning only ever forgets causality, so its
  // failure modes are false siblings and, if a pruned node's counter is later
  // reissued, a stale context covering a new write (doc/causality.md).
  size_t Prune(size_t max_nodes);

  const std::map<std::string, Entry>& vector() const { return vv_; }
  const std::map<Dot, int64_t>& cloud() const { return cloud_; }

  // Binary form used inside stored versions (no framing, no checksum).
  void EncodeTo(std::string& out) const;
  // On failure, `why` (if given) says what is wrong.
  static bool DecodeFrom(std::string_view& in, CausalContext& out, std::string* why = nullptr);

  // The opaque token clients carry: base64url(format byte, body,
  // HMAC-SHA256 of both under the cluster's key). The empty context encodes
  // as "". FromToken checks the signature before decoding anything, so a
  // token this cluster did not issue costs one HMAC to refuse.
  std::string ToToken(const ContextKey& key) const;
  static Status FromToken(std::string_view token, const ContextKey& key, CausalContext& out);

  std::string DebugString() const;
  bool operator==(const CausalContext&) const = default;

 private:
  // Folds cloud dots that have become contiguous and drops covered ones.
  void Normalize();
  void NormalizeNode(const std::string& node);

  std::map<std::string, Entry> vv_;
  std::map<Dot, int64_t> cloud_;  // dot -> ts_ms; invariant: counter > vv_[node] + 1
};

}  // namespace dynastore
