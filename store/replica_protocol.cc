#include "store/replica_protocol.h"

#include "store/codec.h"

namespace dynastore::rpc {

namespace {
constexpr size_t kMaxKey = 1 << 16;
constexpr size_t kMaxBlob = 64u << 20;
constexpr uint64_t kMaxList = 1 << 20;

void PutU32List(std::string& out, const std::vector<uint32_t>& v) {
  codec::PutVarint(out, v.size());
  for (uint32_t x : v) codec::PutVarint(out, x);
}

bool GetU32(std::string_view& in, uint32_t& v) {
  uint64_t x;
  if (!codec::GetVarint(in, x) || x > UINT32_MAX) return false;
  v = static_cast<uint32_t>(x);
  return true;
}

bool GetU32List(std::string_view& in, std::vector<uint32_t>& v) {
  uint64_t n;
  if (!codec::GetVarint(in, n) || n > kMaxList) return false;
  v.resize(n);
  for (auto& x : v) {
    if (!GetU32(in, x)) return false;
  }
  return true;
}
}  // namespace

const char* MethodName(uint8_t method) {
  switch (method) {
    case kPing:
      return "ping";
    case kGetLocal:
      return "get_local";
    case kMerge:
      return "merge";
    case kCoordinate:
      return "coordinate";
    case kMerkleHashes:
      return "merkle_hashes";
    case kBucketKeys:
      return "bucket_keys";
  }
  return "unknown";
}

std::string Encode(const MergeRequest& m) {
  std::string out;
  codec::PutBytes(out, m.key);
  codec::PutBytes(out, m.set.Encode());
  codec::PutBytes(out, m.hint_for);
  return out;
}

bool Decode(std::string_view in, MergeRequest& m) {
  std::string set;
  if (!codec::GetBytes(in, m.key, kMaxKey) || !codec::GetBytes(in, set, kMaxBlob) ||
      !codec::GetBytes(in, m.hint_for, CausalContext::kMaxNodeIdLength) || !in.empty()) {
    return false;
  }
  return VersionSet::Decode(set, m.set).ok();
}

std::string Encode(const CoordinateRequest& m) {
  std::string out;
  codec::PutBytes(out, m.key);
  out.push_back(static_cast<char>((m.context ? 1 : 0) | (m.value ? 2 : 0)));
  if (m.context) codec::PutBytes(out, EncodeContext(*m.context));
  if (m.value) codec::PutBytes(out, *m.value);
  codec::PutVarint(out, static_cast<uint64_t>(m.w));
  return out;
}

bool Decode(std::string_view in, CoordinateRequest& m) {
  if (!codec::GetBytes(in, m.key, kMaxKey) || in.empty()) return false;
  auto flags = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  if (flags & 1) {
    std::string ctx;
    CausalContext c;
    if (!codec::GetBytes(in, ctx, kMaxBlob) || !DecodeContext(ctx, c)) return false;
    m.context = std::move(c);
  }
  if (flags & 2) {
    std::string value;
    if (!codec::GetBytes(in, value, kMaxBlob)) return false;
    m.value = std::move(value);
  }
  uint64_t w;
  if (!codec::GetVarint(in, w) || w > 1024 || !in.empty()) return false;
  m.w = static_cast<int>(w);
  return true;
}

std::string Encode(const MerkleHashesRequest& m) {
  std::string out;
  codec::PutVarint(out, m.partition);
  codec::PutVarint(out, m.level);
  PutU32List(out, m.indexes);
  return out;
}

bool Decode(std::string_view in, MerkleHashesRequest& m) {
  return GetU32(in, m.partition) && GetU32(in, m.level) && GetU32List(in, m.indexes) && in.empty();
}

std::string Encode(const BucketKeysRequest& m) {
  std::string out;
  codec::PutVarint(out, m.partition);
  PutU32List(out, m.buckets);
  return out;
}

bool Decode(std::string_view in, BucketKeysRequest& m) {
  return GetU32(in, m.partition) && GetU32List(in, m.buckets) && in.empty();
}

std::string EncodeContext(const CausalContext& c) {
  std::string out;
  c.EncodeTo(out);
  return out;
}

bool DecodeContext(std::string_view in, CausalContext& c) { return CausalContext::DecodeFrom(in, c) && in.empty(); }

std::string EncodeHashes(const std::vector<uint64_t>& hashes) {
  std::string out;
  codec::PutVarint(out, hashes.size());
  for (uint64_t h : hashes) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  }
  return out;
}

bool DecodeHashes(std::string_view in, std::vector<uint64_t>& hashes) {
  uint64_t n;
  if (!codec::GetVarint(in, n) || n > kMaxList || in.size() != n * 8) return false;
  hashes.resize(n);
  for (auto& h : hashes) {
    h = 0;
    for (int i = 0; i < 8; ++i) h |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
    in.remove_prefix(8);
  }
  return true;
}

std::string EncodeKeyDigests(const std::vector<std::pair<std::string, uint64_t>>& pairs) {
  std::string out;
  codec::PutVarint(out, pairs.size());
  for (const auto& [key, digest] : pairs) {
    codec::PutBytes(out, key);
    codec::PutVarint(out, digest);
  }
  return out;
}

bool DecodeKeyDigests(std::string_view in, std::vector<std::pair<std::string, uint64_t>>& pairs) {
  uint64_t n;
  if (!codec::GetVarint(in, n) || n > kMaxList) return false;
  pairs.resize(n);
  for (auto& [key, digest] : pairs) {
    if (!codec::GetBytes(in, key, kMaxKey) || !codec::GetVarint(in, digest)) return false;
  }
  return in.empty();
}

}  // namespace dynastore::rpc
