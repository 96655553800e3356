#include "checkers/linearizable/lin_history.h"

#include <algorithm>
#include <utility>

namespace faultline {

int32_t ValueTable::Intern(const nlohmann::json& value) {
  auto [it, inserted] = ids_.try_emplace(value.dump(), static_cast<int32_t>(values_.size()));
  if (inserted) values_.push_back(value);
  return it->second;
}

void LinHistoryBuilder::Add(const Op& op) {
  const int64_t pos = pos_++;
  if (op.process == kNemesisProcess) return;
  if (op.type == OpType::kInvoke) {
    LinOp lin;
    if (op.f == "read") {
      lin.f = LinF::kRead;
    } else if (op.f == "write") {
      lin.f = LinF::kWrite;
      lin.a = values_.Intern(op.value);
    } else if (op.f == "cas" && op.value.is_array() && op.value.size() == 2) {
      lin.f = LinF::kCas;
      lin.a = values_.Intern(op.value[0]);
      lin.b = values_.Intern(op.value[1]);
    } else {
      ++ignored_;
      return;
    }
    auto [kit, fresh] = key_ids_.try_emplace(op.key, static_cast<uint32_t>(keys_.size()));
    if (fresh) keys_.push_back(LinKey{op.key, {}, {}});
    lin.process = op.process;
    lin.invoke_pos = pos;
    lin.invoke_index = op.index;
    lin.invoke_time = op.time;
    LinKey& key = keys_[kit->second];
    // A process invoking again leaves its previous op unfinished: it stays info.
    pending_[op.process] = Pending{kit->second, static_cast<uint32_t>(key.ops.size())};
    key.ops.push_back(lin);
    ++kept_;
    return;
  }
  auto it = pending_.find(op.process);
  if (it == pending_.end()) {
    ++ignored_;  // a completion without its invoke
    return;
  }
  const Pending pending = it->second;
  pending_.erase(it);
  Complete(op, keys_[pending.key], keys_[pending.key].ops[pending.op]);
}

void LinHistoryBuilder::Complete(const Op& op, LinKey& key, LinOp& lin) {
  lin.type = op.type;
  lin.complete_pos = pos_ - 1;
  lin.complete_index = op.index;
  lin.complete_time = op.time;
  if (lin.f != LinF::kRead || op.type != OpType::kOk) return;
  if (!op.value.is_array()) {
    lin.a = values_.Intern(op.value);
    return;
  }
  // Several siblings: not a register's value. One sibling is that value.
  std::vector<int32_t> values;
  for (const nlohmann::json& v : op.value) values.push_back(values_.Intern(v));
  if (values.size() == 1) {
    lin.a = values[0];
    return;
  }
  lin.siblings = static_cast<int32_t>(key.siblings.size());
  key.siblings.push_back(std::move(values));
}

std::vector<LinKey> LinHistoryBuilder::TakeKeys() { return std::move(keys_); }

nlohmann::json LinOpJson(const LinOp& op, const LinKey& key, const ValueTable& values) {
  nlohmann::json j;
  j["process"] = op.process;
  switch (op.f) {
    case LinF::kRead:
      j["f"] = "read";
      if (op.siblings >= 0) {
        nlohmann::json arr = nlohmann::json::array();
        for (int32_t v : key.siblings[static_cast<size_t>(op.siblings)]) arr.push_back(values.Value(v));
        j["value"] = std::move(arr);
      } else {
        j["value"] = op.type == OpType::kOk ? values.Value(op.a) : nlohmann::json();
      }
      break;
    case LinF::kWrite:
      j["f"] = "write";
      j["value"] = values.Value(op.a);
      break;
    case LinF::kCas:
      j["f"] = "cas";
      j["value"] = nlohmann::json::array({values.Value(op.a), values.Value(op.b)});
      break;
  }
  j["type"] = OpTypeName(op.type);
  j["invoke_index"] = op.invoke_index;
  j["complete_index"] = op.complete_index >= 0 ? nlohmann::json(op.complete_index) : nlohmann::json();
  j["invoke_time"] = op.invoke_time;
  j["complete_time"] = op.complete_time >= 0 ? nlohmann::json(op.complete_time) : nlohmann::json();
  return j;
}

}  // namespace faultline
