// The per-key input of the linearizable checker: register ops (read, write,
// cas) paired invoke -> completion, values interned to small ints. Internal to
// checkers/linearizable.
//
// LinHistoryBuilder streams a history (Add in file order) and keeps one
// LinOp per invoke, grouped by key. Pairing: a completion belongs to its
// process's pending invoke; an invoke never completed is info (it may have
// taken effect). Ops of the nemesis, of other f's and malformed ones
// (a cas whose value is not [OLD, NEW]) are not kept (counted in `ignored`).
// Not thread-safe while building; the result is read-only afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkers/history.h"

namespace faultline {

enum class LinF : uint8_t { kRead, kWrite, kCas };

// Interned value 0 is nil (JSON null: the key is absent), the register's initial state.
inline constexpr int32_t kNilValue = 0;

// One op of a key. Positions are file order (the real-time order of the
// history: A precedes B iff A.complete_pos < B.invoke_pos).
struct LinOp {
  LinF f = LinF::kRead;
  OpType type = OpType::kInfo;  // completion: ok, fail or info (info also when it never completed)
  int32_t a = kNilValue;        // read: value read (ok); write: value; cas: OLD
  int32_t b = kNilValue;        // cas: NEW
  int32_t siblings = -1;        // an ok read that returned several values: index into LinKey::siblings
  int64_t process = 0;
  int64_t invoke_pos = 0, complete_pos = -1;      // -1: never completed
  int64_t invoke_index = 0, complete_index = -1;  // the ops' "index" fields
  int64_t invoke_time = 0, complete_time = -1;
};

struct LinKey {
  std::string name;
  std::vector<LinOp> ops;                      // in invoke order
  std::vector<std::vector<int32_t>> siblings;  // the sibling values of reads that returned several
};

// Interns JSON scalars (and nil) to dense ints; 0 is null.
class ValueTable {
 public:
  ValueTable() { Intern(nullptr); }
  int32_t Intern(const nlohmann::json& value);
  const nlohmann::json& Value(int32_t id) const { return values_[static_cast<size_t>(id)]; }
  size_t size() const { return values_.size(); }

 private:
  std::unordered_map<std::string, int32_t> ids_;  // by the value's JSON text
  std::vector<nlohmann::json> values_;
};

class LinHistoryBuilder {
 public:
  void Add(const Op& op);
  // Keys in the order they first appeared. Call once, after the last Add.
  std::vector<LinKey> TakeKeys();
  ValueTable& values() { return values_; }
  int64_t ignored() const { return ignored_; }
  int64_t kept() const { return kept_; }  // invokes kept

 private:
  struct Pending {
    uint32_t key;
    uint32_t op;
  };
  void Complete(const Op& op, LinKey& key, LinOp& lin);

  ValueTable values_;
  std::vector<LinKey> keys_;
  std::unordered_map<std::string, uint32_t> key_ids_;
  std::unordered_map<int64_t, Pending> pending_;  // by process
  int64_t pos_ = 0;
  int64_t ignored_ = 0;
  int64_t kept_ = 0;
};

// The op as results.json shows it: {"process","f","value","type","invoke_index",
// "complete_index","invoke_time","complete_time"} (times in ns; null when none).
nlohmann::json LinOpJson(const LinOp& op, const LinKey& key, const ValueTable& values);

}  // namespace faultline
