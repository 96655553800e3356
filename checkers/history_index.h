// HistoryIndexCheck: are a history's "index" values 0, 1, 2, ... each exactly
// once (README "History format": the position in the file, from 0)? A hole is
// a line the writer lost, a duplicate one it wrote twice: either way the
// history is not the run's whole record, so its verdict cannot be trusted.
//
// Streaming: Add each op's index in file order (any order works); memory is
// O(runs of consecutive indices), one run for a well-formed history. One
// history per object; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faultline {

struct HistoryIndexReport {
  static constexpr size_t kListed = 10;  // how many of each kind are named
  int64_t missing_count = 0;             // index values in [0, highest] never seen
  int64_t duplicate_count = 0;           // lines whose index an earlier line already had
  std::vector<int64_t> missing;          // the first kListed, ascending
  std::vector<int64_t> duplicates;       // the smallest kListed duplicated values, ascending

  bool clean() const { return missing_count == 0 && duplicate_count == 0; }
  // "3 index values missing (5, 9, 12), 1 duplicated (7)"; empty when clean.
  std::string Describe() const;
};

class HistoryIndexCheck {
 public:
  void Add(int64_t index);
  HistoryIndexReport Finish() const;

 private:
  std::map<int64_t, int64_t> runs_;  // first index -> last index of a run of consecutive seen indices
  std::map<int64_t, int64_t>::iterator last_ = runs_.end();  // the run the previous index joined
  int64_t duplicate_count_ = 0;
  std::vector<int64_t> duplicates_;  // the smallest kListed seen so far, sorted
};

}  // namespace faultline
