// The versions of one key: every causally concurrent version (siblings),
// each with its dot and the causal past its writer had seen. A VersionSet
// always holds exactly the maximal versions: none whose dot another version's
// past covers. Tombstones (deletes) are versions too, so a delete supersedes
// only what its writer saw and stays concurrent with anything else.
//
// A value type; not thread-safe. Storage serializes access per key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/causal_context.h"
#include "store/status.h"

namespace dynastore {

// How versions supersede each other. Only kDvv is correct; the other two
// are fault switches (--naive-vclocks, --lww) that exist so a test harness
// can prove it detects the anomalies they cause. doc/causality.md.
enum class Causality {
  kDvv,           // dotted version vectors: concurrent writes all survive
  kNaiveVclocks,  // per-server vector clocks bumped at the coordinator from the
                  // client context alone: of two concurrent writes through one
                  // node with the same context, the later silently replaces the earlier
  kLww,           // last write wins by coordinator wall clock: one version only
};

struct Version {
  Dot dot;
  CausalContext past;  // what the writer had seen when it wrote
  int64_t ts_ms = 0;   // coordinator wall clock: tombstone reaping, --lww
  bool tombstone = false;
  std::string value;  // empty for tombstones

  // Everything this version supersedes, itself included.
  CausalContext History() const;
  bool operator==(const Version&) const = default;
};

class VersionSet {
 public:
  const std::vector<Version>& versions() const { return versions_; }
  bool empty() const { return versions_.empty(); }
  // Values of the non-tombstone versions, in dot order.
  std::vector<std::string> LiveValues() const;
  bool HasLive() const;
  // The context a reader gets: the union of every version's history
  // (tombstones included, so a write after a delete supersedes it).
  CausalContext Context() const;

  // A write coordinated at `node` with the client's `context`: drops every
  // version whose dot `context` covers and adds a new version with a fresh
  // dot (node, highest counter of node known to this key or context + 1).
  // `value` nullopt writes a tombstone. The new version's past is pruned to
  // `max_nodes` nodes. `counter_floor` is a counter the new dot must exceed
  // besides those the set knows (Storage::UpdateHintAsCoordinator). Returns
  // the new version.
  const Version& Write(const std::string& node, const CausalContext& context, std::optional<std::string> value,
                       int64_t now_ms, size_t max_nodes, Causality mode = Causality::kDvv, uint64_t counter_floor = 0);

  // Whether Write with these arguments may proceed: Conflict if the key would
  // then hold more than `max_siblings` versions (the client must write with
  // the context of a GET to resolve them), InvalidArgument if the new dot's
  // counter would exceed CausalContext::kMaxCounter. Write itself assumes
  // this returned Ok.
  Status CheckWrite(const std::string& node, const CausalContext& context, size_t max_siblings,
                    Causality mode = Causality::kDvv, uint64_t counter_floor = 0) const;

  // Syntactic reconciliation with another replica's set: union by dot, then
  // keep only maximal versions. Returns true if this set changed.
  bool Merge(const VersionSet& other, Causality mode = Causality::kDvv);

  // True if every version is a tombstone written before `cutoff_ms`.
  bool ReapableBefore(int64_t cutoff_ms) const;

  // Binary storage format (doc/causality.md); Decode rejects anything else.
  std::string Encode() const;
  static Status Decode(std::string_view bytes, VersionSet& out);

  bool operator==(const VersionSet&) const = default;

 private:
  // The highest counter of `node` a write with `context` must exceed.
  uint64_t HighestCounter(const std::string& node, const CausalContext& context, Causality mode,
                          uint64_t counter_floor) const;
  // Removes versions covered by another version's past; sorts by dot.
  void KeepMaximal();
  // --naive-vclocks: removes versions whose whole history another covers.
  void KeepMaximalClocks();
  // --lww: keeps only the version with the latest (ts_ms, dot).
  void KeepLatest();
  std::vector<Version> versions_;  // sorted by dot
};

}  // namespace dynastore
