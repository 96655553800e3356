// HistoryBuilder: histories for checker tests, op by op, with consecutive
// indices and times.
#pragma once

#include <filesystem>
#include <string>

#include "checkers/history.h"

namespace faultline::test {

// Short names for a history's op types, used by every checker test.
inline constexpr OpType kOk = OpType::kOk, kFail = OpType::kFail, kInfo = OpType::kInfo, kInvoke = OpType::kInvoke;
inline constexpr int64_t kMs = 1'000'000;  // nanoseconds in a millisecond (history times)

// Appends ops with consecutive indices and times.
class HistoryBuilder {
 public:
  HistoryBuilder& Add(OpType type, int64_t process, std::string f, std::string key, nlohmann::json value,
                      std::string node = {}, std::string error = {}) {
    Op op;
    op.index = static_cast<int64_t>(history_.size());
    op.time = op.index * 1000;
    op.type = type;
    op.process = process;
    op.f = std::move(f);
    op.key = std::move(key);
    op.value = std::move(value);
    op.node = std::move(node);
    op.error = std::move(error);
    history_.push_back(std::move(op));
    return *this;
  }
  // An add invoked and completed by `process`.
  HistoryBuilder& AddOp(int64_t process, const std::string& key, int64_t element, OpType outcome,
                        const std::string& node = "n1") {
    Add(OpType::kInvoke, process, "add", key, element);
    return Add(outcome, process, "add", key, element, node);
  }
  // A final read of `key` on `node` returning `elements`.
  HistoryBuilder& Read(int64_t process, const std::string& key, const std::string& node, nlohmann::json elements,
                       OpType outcome = OpType::kOk) {
    Add(OpType::kInvoke, process, "read", key, nullptr, node);
    return Add(outcome, process, "read", key, outcome == OpType::kOk ? elements : nlohmann::json(), node);
  }
  const History& history() const { return history_; }

 private:
  History history_;
};

}  // namespace faultline::test
