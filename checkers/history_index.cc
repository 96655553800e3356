#include "checkers/history_index.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>

namespace faultline {

std::string HistoryIndexReport::Describe() const {
  std::vector<std::string> parts;
  const auto list = [](const std::vector<int64_t>& first, bool more) {
    return fmt::format("{}{}", fmt::join(first, ", "), more ? ", ..." : "");
  };
  if (missing_count > 0) {
    parts.push_back(fmt::format("{} index value{} missing ({})", missing_count, missing_count == 1 ? "" : "s",
                                list(missing, missing_count > int64_t(missing.size()))));
  }
  if (duplicate_count > 0) {  // duplicates are values, the count is lines: "..." only when the list is full
    parts.push_back(fmt::format("{} line{} with an index already seen ({})", duplicate_count,
                                duplicate_count == 1 ? "" : "s", list(duplicates, duplicates.size() == kListed)));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

void HistoryIndexCheck::Add(int64_t index) {
  // Fast path: the next index of the run the previous one joined (a well-formed history).
  if (last_ != runs_.end() && index == last_->second + 1) {
    auto next = std::next(last_);
    if (next != runs_.end() && next->first == index + 1) {  // closes a hole: merge the runs
      last_->second = next->second;
      runs_.erase(next);
    } else {
      last_->second = index;
    }
    return;
  }
  auto after = runs_.upper_bound(index);  // first run starting after index
  if (after != runs_.begin()) {
    auto before = std::prev(after);
    if (index <= before->second) {
      ++duplicate_count_;
      auto at = std::lower_bound(duplicates_.begin(), duplicates_.end(), index);
      if (at == duplicates_.end() || *at != index) duplicates_.insert(at, index);
      if (duplicates_.size() > HistoryIndexReport::kListed) duplicates_.pop_back();
      last_ = before;
      return;
    }
    if (index == before->second + 1) {
      last_ = before;
      Add(index);  // the fast path extends it
      return;
    }
  }
  if (after != runs_.end() && after->first == index + 1) {
    const int64_t end = after->second;
    runs_.erase(after);
    last_ = runs_.emplace(index, end).first;
    return;
  }
  last_ = runs_.emplace(index, index).first;
}

HistoryIndexReport HistoryIndexCheck::Finish() const {
  HistoryIndexReport report;
  report.duplicate_count = duplicate_count_;
  report.duplicates = duplicates_;
  int64_t expected = 0;  // the lowest index not yet accounted for
  for (const auto& [first, last] : runs_) {
    if (first > expected) {
      report.missing_count += first - expected;
      for (int64_t i = expected; i < first && report.missing.size() < HistoryIndexReport::kListed; ++i) {
        report.missing.push_back(i);
      }
    }
    expected = std::max(expected, last + 1);
  }
  return report;
}

}  // namespace faultline
