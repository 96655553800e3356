// ContextKey: the per-cluster secret that signs the causal-context tokens
// clients carry (HMAC-SHA256, doc/causality.md "Context tokens"). Without it
// a client could hand the store any context it likes: counters that wrap,
// thousands of entries, dots of writes that never happened.
//
// Where it comes from (every node of a cluster must hold the same key):
//   - the cluster file's "context_key" (64 hex digits), written fresh per
//     cluster by whoever deploys it (faultline's dynastore adapter does);
//   - for a node without a cluster file (or a one-node file without the
//     field), "context.key" in its data directory, made once with random
//     bytes (0600, O_EXCL|O_NOFOLLOW) and reused across restarts.
// A cluster of several nodes whose file has no key signs with a well-known
// public key: tokens are then checked for integrity only, and the node says
// so at start-up (Node logs a warning).
//
// A value type; const methods are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "store/status.h"

namespace dynastore {

class ContextKey {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kMacBytes = 32;
  static constexpr std::string_view kFileName = "context.key";

  // The well-known key (all zero bytes): integrity, no authenticity.
  ContextKey();
  // 64 hex digits, as in the cluster file; the error says what is wrong.
  static Status FromHex(std::string_view hex, ContextKey& out);
  // Reads `dir`/context.key, or creates it with random bytes if missing.
  static Status LoadOrCreate(const std::string& dir, ContextKey& out);

  bool is_public() const { return public_; }
  // HMAC-SHA256 of `bytes`: kMacBytes bytes.
  std::string Sign(std::string_view bytes) const;
  // Constant-time comparison of `mac` with Sign(bytes).
  bool Verify(std::string_view bytes, std::string_view mac) const;

 private:
  std::string key_;
  bool public_ = true;
};

}  // namespace dynastore
