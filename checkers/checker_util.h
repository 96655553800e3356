// Helpers the checkers share: the words of their summaries and the nemesis's
// fault names. Internal to checkers/ (the harness uses checker.h).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

// "1 key" / "3 keys": `n` with the noun that agrees with it.
std::string CountOf(int64_t n, std::string_view one, std::string_view many);

// "key k1" / "keys k1, k2" / "7 keys" (more than five are only counted). `keys` is non-empty.
std::string KeysText(const std::vector<std::string>& keys);

// How a final read's node is named in details: "(unnamed node)" for an empty one.
std::string NodeName(const std::string& node);

// The unknown-verdict summary when no final read succeeded at all and
// `ok_count` acknowledged adds were to be checked.
std::string NoFinalReadAtAllSummary(int64_t ok_count);

// What a nemesis op does to a fault, by its f: "start-X" opens fault X,
// "stop-X" and "heal-X" close it; any other f does neither.
struct FaultChange {
  enum Kind { kNone, kOpen, kClose };
  Kind kind = kNone;
  std::string_view fault;  // X, a view into the f given
};
FaultChange FaultChangeOf(std::string_view f);

}  // namespace faultline
