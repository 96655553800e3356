#include "store/causal_context.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

#include "store/codec.h"

namespace dynastore {

namespace {
// Format 1 was sealed with a CRC-32 only; format 2 is signed.
constexpr uint8_t kUnsignedTokenFormat = 1;
constexpr uint8_t kTokenFormat = 2;
}  // namespace

const char* OrderName(Order order) {
  switch (order) {
    case Order::kEqual:
      return "equal";
    case Order::kDescends:
      return "descends";
    case Order::kPrecedes:
      return "precedes";
    case Order::kConcurrent:
      return "concurrent";
  }
  return "?";
}

bool CausalContext::Covers(const Dot& dot) const {
  auto it = vv_.find(dot.node);
  if (it != vv_.end() && dot.counter <= it->second.counter) return true;
  return cloud_.count(dot) > 0;
}

bool CausalContext::Includes(const CausalContext& other) const {
  for (const auto& [node, entry] : other.vv_) {
    // A normalized context covers 1..n of a node only through its vector.
    auto it = vv_.find(node);
    if (it == vv_.end() || it->second.counter < entry.counter) return false;
  }
  for (const auto& [dot, ts] : other.cloud_) {
    if (!Covers(dot)) return false;
  }
  return true;
}

Order CausalContext::Compare(const CausalContext& a, const CausalContext& b) {
  bool a_has_b = a.Includes(b);
  bool b_has_a = b.Includes(a);
  if (a_has_b && b_has_a) return Order::kEqual;
  if (a_has_b) return Order::kDescends;
  if (b_has_a) return Order::kPrecedes;
  return Order::kConcurrent;
}

void CausalContext::Add(const Dot& dot, int64_t ts_ms) {
  if (Covers(dot)) return;
  cloud_.emplace(dot, ts_ms);
  NormalizeNode(dot.node);
}

void CausalContext::Merge(const CausalContext& other) {
  for (const auto& [node, entry] : other.vv_) {
    Entry& mine = vv_[node];
    if (entry.counter > mine.counter) mine.counter = entry.counter;
    mine.ts_ms = std::max(mine.ts_ms, entry.ts_ms);
  }
  for (const auto& [dot, ts] : other.cloud_) {
    auto [it, inserted] = cloud_.emplace(dot, ts);
    if (!inserted) it->second = std::max(it->second, ts);
  }
  Normalize();
}

uint64_t CausalContext::MaxCounter(const std::string& node) const {
  uint64_t max = 0;
  if (auto it = vv_.find(node); it != vv_.end()) max = it->second.counter;
  // Cloud dots of a node are ordered by counter; the last one is the highest.
  auto it = cloud_.lower_bound(Dot{node, UINT64_MAX});
  if (it != cloud_.end() && it->first.node == node) max = std::max(max, it->first.counter);
  if (it != cloud_.begin()) {
    auto prev = std::prev(it);
    if (prev->first.node == node) max = std::max(max, prev->first.counter);
  }
  return max;
}

size_t CausalContext::NodeCount() const {
  size_t count = vv_.size();
  const std::string* last = nullptr;
  for (const auto& [dot, ts] : cloud_) {
    if (last && *last == dot.node) continue;
    last = &dot.node;
    if (!vv_.count(dot.node)) ++count;
  }
  return count;
}

size_t CausalContext::Prune(size_t max_nodes) {
  // Each node's last advance: its vector entry or its newest cloud dot.
  std::map<std::string, int64_t> last_advance;
  for (const auto& [node, entry] : vv_) last_advance[node] = entry.ts_ms;
  for (const auto& [dot, ts] : cloud_) {
    auto [it, inserted] = last_advance.emplace(dot.node, ts);
    if (!inserted) it->second = std::max(it->second, ts);
  }
  if (last_advance.size() <= max_nodes) return 0;
  // Drop the nodes that advanced longest ago, all in one pass (ties by
  // name, as the one-at-a-time loop this replaces broke them).
  std::vector<std::pair<int64_t, const std::string*>> by_age;
  by_age.reserve(last_advance.size());
  for (const auto& [node, ts] : last_advance) by_age.emplace_back(ts, &node);
  const size_t drop = last_advance.size() - max_nodes;
  auto older = [](const auto& x, const auto& y) { return std::tie(x.first, *x.second) < std::tie(y.first, *y.second); };
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop - 1), by_age.end(), older);
  std::set<std::string> victims;
  for (size_t i = 0; i < drop; ++i) victims.insert(*by_age[i].second);
  std::erase_if(vv_, [&](const auto& kv) { return victims.count(kv.first) > 0; });
  std::erase_if(cloud_, [&](const auto& kv) { return victims.count(kv.first.node) > 0; });
  return drop;
}

void CausalContext::Normalize() {
  std::set<std::string> nodes;
  for (const auto& [dot, ts] : cloud_) nodes.insert(dot.node);
  for (const auto& node : nodes) NormalizeNode(node);
}

void CausalContext::NormalizeNode(const std::string& node) {
  auto first = cloud_.lower_bound(Dot{node, 0});
  if (first == cloud_.end() || first->first.node != node) return;
  auto vit = vv_.find(node);
  uint64_t base = vit == vv_.end() ? 0 : vit->second.counter;
  int64_t ts = vit == vv_.end() ? 0 : vit->second.ts_ms;
  auto it = first;
  while (it != cloud_.end() && it->first.node == node) {
    if (it->first.counter <= base) {
      it = cloud_.erase(it);  // already covered by the vector
    } else if (it->first.counter == base + 1) {
      base = it->first.counter;  // contiguous: fold into the vector
      ts = std::max(ts, it->second);
      it = cloud_.erase(it);
    } else {
      break;  // a gap: an unseen concurrent write of this node
    }
  }
  if (base > 0) vv_[node] = Entry{base, ts};
}

void CausalContext::EncodeTo(std::string& out) const {
  codec::PutVarint(out, vv_.size());
  for (const auto& [node, entry] : vv_) {
    codec::PutBytes(out, node);
    codec::PutVarint(out, entry.counter);
    codec::PutVarint(out, static_cast<uint64_t>(entry.ts_ms));
  }
  codec::PutVarint(out, cloud_.size());
  for (const auto& [dot, ts] : cloud_) {
    codec::PutBytes(out, dot.node);
    codec::PutVarint(out, dot.counter);
    codec::PutVarint(out, static_cast<uint64_t>(ts));
  }
}

// Accepts only the canonical form EncodeTo writes: sorted, non-empty node
// ids, counters in 1..kMaxCounter, cloud dots strictly beyond the vector, at
// most kMaxEntries in all. Anything else is corruption, so a garbled token
// can never alias a valid one.
bool CausalContext::DecodeFrom(std::string_view& in, CausalContext& out, std::string* why) {
  out = CausalContext();
  auto fail = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  auto too_many = [] { return "more than " + std::to_string(kMaxEntries) + " entries"; };
  auto bad_counter = [] { return "a counter outside 1.." + std::to_string(kMaxCounter); };
  uint64_t n;
  if (!codec::GetVarint(in, n)) return fail("truncated");
  if (n > kMaxEntries) return fail(too_many());
  const uint64_t vector_entries = n;
  for (uint64_t i = 0; i < n; ++i) {
    std::string node;
    uint64_t counter, ts;
    if (!codec::GetBytes(in, node, kMaxNodeIdLength) || node.empty()) return fail("a bad node id");
    if (!codec::GetVarint(in, counter) || !codec::GetVarint(in, ts)) return fail("truncated");
    if (counter == 0 || counter > kMaxCounter) return fail(bad_counter());
    if (!out.vv_.empty() && out.vv_.rbegin()->first >= node) return fail("entries out of order");
    out.vv_.emplace_hint(out.vv_.end(), std::move(node), Entry{counter, static_cast<int64_t>(ts)});
  }
  if (!codec::GetVarint(in, n)) return fail("truncated");
  if (n > kMaxEntries - vector_entries) return fail(too_many());
  for (uint64_t i = 0; i < n; ++i) {
    Dot dot;
    uint64_t ts;
    if (!codec::GetBytes(in, dot.node, kMaxNodeIdLength) || dot.node.empty()) return fail("a bad node id");
    if (!codec::GetVarint(in, dot.counter) || !codec::GetVarint(in, ts)) return fail("truncated");
    if (dot.counter > kMaxCounter) return fail(bad_counter());
    if (!out.cloud_.empty() && out.cloud_.rbegin()->first >= dot) return fail("entries out of order");
    auto vit = out.vv_.find(dot.node);
    if (dot.counter <= (vit == out.vv_.end() ? 0 : vit->second.counter) + 1) return fail("not in canonical form");
    out.cloud_.emplace_hint(out.cloud_.end(), std::move(dot), static_cast<int64_t>(ts));
  }
  return true;
}

std::string CausalContext::ToToken(const ContextKey& key) const {
  if (empty()) return "";
  std::string bytes;
  bytes.push_back(static_cast<char>(kTokenFormat));
  EncodeTo(bytes);
  bytes += key.Sign(bytes);
  return codec::Base64UrlEncode(bytes);
}

Status CausalContext::FromToken(std::string_view token, const ContextKey& key, CausalContext& out) {
  out = CausalContext();
  if (token.empty()) return Status::Ok();
  auto bytes = codec::Base64UrlDecode(token);
  if (!bytes) return Status::InvalidArgument("context is not base64url");
  std::string_view in = *bytes;
  if (!in.empty() && static_cast<uint8_t>(in.front()) == kUnsignedTokenFormat) {
    return Status::InvalidArgument("context is in the unsigned format of an older dynastore; GET the key again");
  }
  if (in.size() <= ContextKey::kMacBytes || static_cast<uint8_t>(in.front()) != kTokenFormat) {
    return Status::InvalidArgument("context has an unknown format version or is truncated");
  }
  const std::string_view mac = in.substr(in.size() - ContextKey::kMacBytes);
  in.remove_suffix(ContextKey::kMacBytes);
  if (!key.Verify(in, mac)) {
    return Status::InvalidArgument("context signature does not match: it was altered, or issued by another cluster");
  }
  in.remove_prefix(1);
  std::string why = "trailing bytes";
  if (!DecodeFrom(in, out, &why) || !in.empty()) {
    out = CausalContext();
    return Status::InvalidArgument("context is malformed: " + why);
  }
  return Status::Ok();
}

std::string CausalContext::DebugString() const {
  std::string s = "{";
  for (const auto& [node, entry] : vv_) {
    if (s.size() > 1) s += ",";
    s += node + ":" + std::to_string(entry.counter);
  }
  s += "}";
  if (!cloud_.empty()) {
    s += "+[";
    bool first = true;
    for (const auto& [dot, ts] : cloud_) {
      if (!first) s += ",";
      first = false;
      s += dot.ToString();
    }
    s += "]";
  }
  return s;
}

}  // namespace dynastore
