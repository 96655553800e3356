#include "store/version_set.h"

#include <algorithm>
#include <tuple>

#include "store/codec.h"

namespace dynastore {

namespace {
constexpr uint8_t kSetFormat = 1;
constexpr uint64_t kMaxVersions = 1 << 16;
constexpr size_t kMaxValueBytes = 1ull << 31;

// The stored order of versions. Dots are unique under kDvv, so there it is
// the dot order; --naive-vclocks reuses clocks, and equal-dot siblings must
// still have one order that every replica encodes alike (and decodes).
bool StoredBefore(const Version& a, const Version& b) {
  return std::tie(a.dot, a.ts_ms, a.value, a.tombstone) < std::tie(b.dot, b.ts_ms, b.value, b.tombstone);
}
}  // namespace

CausalContext Version::History() const {
  CausalContext h = past;
  h.Add(dot, ts_ms);
  return h;
}

std::vector<std::string> VersionSet::LiveValues() const {
  std::vector<std::string> values;
  for (const auto& v : versions_) {
    if (!v.tombstone) values.push_back(v.value);
  }
  return values;
}

bool VersionSet::HasLive() const {
  return std::any_of(versions_.begin(), versions_.end(), [](const Version& v) { return !v.tombstone; });
}

CausalContext VersionSet::Context() const {
  CausalContext ctx;
  for (const auto& v : versions_) {
    ctx.Merge(v.past);
    ctx.Add(v.dot, v.ts_ms);
  }
  return ctx;
}

uint64_t VersionSet::HighestCounter(const std::string& node, const CausalContext& context, Causality mode,
                                    uint64_t counter_floor) const {
  // The counter must exceed every dot of `node` this key or the client knows,
  // so the new dot is unique and no existing context already covers it.
  // The naive scheme looks only at the client's context: that is its bug.
  uint64_t counter = context.MaxCounter(node);
  if (mode != Causality::kNaiveVclocks) {
    counter = std::max(counter, counter_floor);
    for (const auto& v : versions_) {
      if (v.dot.node == node) counter = std::max(counter, v.dot.counter);
      counter = std::max(counter, v.past.MaxCounter(node));
    }
  }
  return counter;
}

Status VersionSet::CheckWrite(const std::string& node, const CausalContext& context, size_t max_siblings,
                              Causality mode, uint64_t counter_floor) const {
  if (HighestCounter(node, context, mode, counter_floor) >= CausalContext::kMaxCounter) {
    return Status::InvalidArgument("the key's dot counter for node " + node + " has reached its limit (" +
                                   std::to_string(CausalContext::kMaxCounter) + "); the write is refused");
  }
  // Only kDvv keeps siblings; the fault switches keep fewer (a context that
  // covers none of them is the worst case for both).
  size_t kept = 0;
  if (mode != Causality::kLww) {
    for (const Version& v : versions_) kept += context.Covers(v.dot) ? 0 : 1;
  }
  if (kept + 1 > max_siblings) {
    return Status::Conflict("the key already has " + std::to_string(kept) + " siblings, the limit (--max-siblings " +
                            std::to_string(max_siblings) +
                            "); write with the context of a GET of the key to replace them");
  }
  return Status::Ok();
}

const Version& VersionSet::Write(const std::string& node, const CausalContext& context,
                                 std::optional<std::string> value, int64_t now_ms, size_t max_nodes, Causality mode,
                                 uint64_t counter_floor) {
  const Dot dot{node, HighestCounter(node, context, mode, counter_floor) + 1};
  switch (mode) {
    case Causality::kDvv:
      std::erase_if(versions_, [&](const Version& v) { return context.Covers(v.dot); });
      break;
    case Causality::kNaiveVclocks: {
      // A vector clock "descends" when it covers the whole stored clock, so a
      // concurrent write that reused the same clock is taken as an ancestor.
      CausalContext clock = context;
      clock.Add(dot, now_ms);
      std::erase_if(versions_, [&](const Version& v) { return clock.Includes(v.History()); });
      break;
    }
    case Causality::kLww:
      versions_.clear();
      break;
  }

  Version fresh;
  fresh.dot = dot;
  fresh.past = context;
  fresh.past.Prune(max_nodes);
  fresh.ts_ms = now_ms;
  fresh.tombstone = !value.has_value();
  if (value) fresh.value = std::move(*value);
  auto pos = std::lower_bound(versions_.begin(), versions_.end(), fresh, StoredBefore);
  return *versions_.insert(pos, std::move(fresh));
}

bool VersionSet::Merge(const VersionSet& other, Causality mode) {
  if (&other == this) return false;
  std::vector<Version> before = versions_;
  for (const auto& v : other.versions_) {
    // Dots are unique under kDvv. The naive scheme reuses clocks, so there a
    // version is "known" only if identical; KeepMaximalClocks picks one.
    bool known = std::any_of(versions_.begin(), versions_.end(), [&](const Version& mine) {
      return mode == Causality::kNaiveVclocks ? mine == v : mine.dot == v.dot;
    });
    if (!known) versions_.push_back(v);
  }
  switch (mode) {
    case Causality::kDvv:
      KeepMaximal();
      break;
    case Causality::kNaiveVclocks:
      KeepMaximalClocks();
      break;
    case Causality::kLww:
      KeepLatest();
      break;
  }
  return versions_ != before;
}

void VersionSet::KeepMaximalClocks() {
  std::vector<bool> superseded(versions_.size(), false);
  for (size_t i = 0; i < versions_.size(); ++i) {
    CausalContext hi = versions_[i].History();
    for (size_t j = 0; j < versions_.size() && !superseded[i]; ++j) {
      // Equal clocks: keep one, the same on every replica (latest ts, then
      // value), so replicas agree on which concurrent write was lost.
      const Version& a = versions_[i];
      const Version& b = versions_[j];
      if (i == j || !b.History().Includes(hi)) continue;
      superseded[i] = !hi.Includes(b.History()) || std::tie(a.ts_ms, a.value, i) < std::tie(b.ts_ms, b.value, j);
    }
  }
  std::vector<Version> kept;
  for (size_t i = 0; i < versions_.size(); ++i) {
    if (!superseded[i]) kept.push_back(std::move(versions_[i]));
  }
  std::sort(kept.begin(), kept.end(), StoredBefore);
  versions_ = std::move(kept);
}

void VersionSet::KeepLatest() {
  if (versions_.size() <= 1) return;
  auto latest = std::max_element(versions_.begin(), versions_.end(), [](const Version& a, const Version& b) {
    return std::tie(a.ts_ms, a.dot) < std::tie(b.ts_ms, b.dot);
  });
  Version keep = std::move(*latest);
  versions_.clear();
  versions_.push_back(std::move(keep));
}

void VersionSet::KeepMaximal() {
  // Decide every version first: moving one out early would hide its past.
  std::vector<bool> superseded(versions_.size(), false);
  for (size_t i = 0; i < versions_.size(); ++i) {
    for (size_t j = 0; j < versions_.size() && !superseded[i]; ++j) {
      superseded[i] = i != j && versions_[j].past.Covers(versions_[i].dot);
    }
  }
  std::vector<Version> kept;
  kept.reserve(versions_.size());
  for (size_t i = 0; i < versions_.size(); ++i) {
    if (!superseded[i]) kept.push_back(std::move(versions_[i]));
  }
  std::sort(kept.begin(), kept.end(), StoredBefore);
  versions_ = std::move(kept);
}

bool VersionSet::ReapableBefore(int64_t cutoff_ms) const {
  return !versions_.empty() && std::all_of(versions_.begin(), versions_.end(),
                                           [&](const Version& v) { return v.tombstone && v.ts_ms < cutoff_ms; });
}

std::string VersionSet::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kSetFormat));
  codec::PutVarint(out, versions_.size());
  for (const auto& v : versions_) {
    codec::PutBytes(out, v.dot.node);
    codec::PutVarint(out, v.dot.counter);
    v.past.EncodeTo(out);
    codec::PutVarint(out, static_cast<uint64_t>(v.ts_ms));
    out.push_back(v.tombstone ? 1 : 0);
    codec::PutBytes(out, v.value);
  }
  return out;
}

Status VersionSet::Decode(std::string_view in, VersionSet& out) {
  out = VersionSet();
  auto corrupt = [&](const char* what) {
    out = VersionSet();
    return Status::Corruption(std::string("stored version set: ") + what);
  };
  if (in.empty() || static_cast<uint8_t>(in.front()) != kSetFormat) return corrupt("unknown format");
  in.remove_prefix(1);
  uint64_t n;
  if (!codec::GetVarint(in, n) || n > kMaxVersions) return corrupt("bad version count");
  out.versions_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Version v;
    uint64_t ts;
    if (!codec::GetBytes(in, v.dot.node, CausalContext::kMaxNodeIdLength) || v.dot.node.empty() ||
        !codec::GetVarint(in, v.dot.counter) || v.dot.counter == 0) {
      return corrupt("bad dot");
    }
    if (!CausalContext::DecodeFrom(in, v.past)) return corrupt("bad causal past");
    if (!codec::GetVarint(in, ts) || in.empty()) return corrupt("truncated version");
    v.ts_ms = static_cast<int64_t>(ts);
    v.tombstone = in.front() != 0;
    in.remove_prefix(1);
    if (!codec::GetBytes(in, v.value, kMaxValueBytes)) return corrupt("bad value");
    if (!out.versions_.empty() && !StoredBefore(out.versions_.back(), v)) return corrupt("versions out of order");
    out.versions_.push_back(std::move(v));
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return Status::Ok();
}

}  // namespace dynastore
