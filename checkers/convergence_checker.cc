#include "checkers/convergence_checker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "checkers/checker_util.h"

namespace faultline {

namespace {

struct Reading {
  int64_t round = 0;
  bool agree = false;
};

struct ConvergenceKeyState {
  std::vector<Reading> readings;  // ok ones, in file order
  int64_t last_round = -1;        // highest round recorded (ok or fail)
  bool last_ok = false;           // whether that round has an ok reading
  int64_t last_ok_round = -1;
  nlohmann::json last_replicas;  // of the ok reading at last_ok_round, values sorted; null when they agree
  std::string last_error;
};

std::optional<int64_t> RoundOf(const nlohmann::json& value) {
  if (!value.is_object()) return std::nullopt;
  auto it = value.find("round");
  if (it == value.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

// When the keys converged, as measured from the final heal (see the header).
struct Timing {
  size_t rounds = 0;
  nlohmann::json converged_after = nullptr, differed_until = nullptr;  // seconds, or null
  const char* from = "";                                               // what the seconds are measured from
};

}  // namespace

struct ConvergenceChecker::State {
  std::map<std::string, ConvergenceKeyState> keys;
  std::map<int64_t, int64_t> round_end;      // round -> time of its last completion
  std::map<int64_t, int64_t> pending_round;  // process -> round of its pending invoke
  std::optional<int64_t> last_heal, first_invoke;
  int64_t ops = 0, malformed = 0;

  void Completion(const Op& op) {
    std::optional<int64_t> round = RoundOf(op.value);
    auto pending = pending_round.find(op.process);
    if (!round && pending != pending_round.end() && pending->second >= 0) round = pending->second;
    if (pending != pending_round.end()) pending_round.erase(pending);
    ConvergenceKeyState& key = keys[op.key];
    if (!round) round = std::max<int64_t>(key.last_round, 0);  // a round-less error: counts as the latest
    int64_t& end = round_end[*round];
    end = std::max(end, op.time);
    const nlohmann::json* replicas = nullptr;
    if (op.type == OpType::kOk && op.value.is_object()) {
      auto it = op.value.find("replicas");
      if (it != op.value.end() && it->is_object()) replicas = &*it;
    }
    if (replicas == nullptr) {
      if (op.type == OpType::kOk) ++malformed;
      if (*round > key.last_round) {
        key.last_round = *round;
        key.last_ok = false;
        key.last_error = op.error.empty() ? "no replicas in the reading" : op.error;
      }
      return;
    }
    // Compare the replicas' arrays (sorted copies only of those not already sorted).
    std::vector<nlohmann::json> sorted_copies;
    sorted_copies.reserve(replicas->size());
    std::vector<const nlohmann::json*> arrays;
    for (auto it = replicas->begin(); it != replicas->end(); ++it) {
      const nlohmann::json& values = it.value();
      if (values.is_array() && !std::is_sorted(values.begin(), values.end())) {
        sorted_copies.push_back(values);
        std::sort(sorted_copies.back().begin(), sorted_copies.back().end());
        arrays.push_back(&sorted_copies.back());
      } else {
        arrays.push_back(&values);
      }
    }
    bool agree = true;
    for (size_t i = 1; i < arrays.size() && agree; ++i) agree = *arrays[i] == *arrays[0];
    // Only a divergent reading is reported, so only it is kept (a set's replicas can be large).
    nlohmann::json sorted;
    if (!agree) {
      sorted = nlohmann::json::object();
      size_t i = 0;
      for (auto it = replicas->begin(); it != replicas->end(); ++it, ++i) sorted[it.key()] = *arrays[i];
    }
    key.readings.push_back(Reading{*round, agree});
    if (*round >= key.last_round) {
      key.last_round = *round;
      key.last_ok = true;
    }
    if (*round >= key.last_ok_round) {
      key.last_ok_round = *round;
      key.last_replicas = std::move(sorted);
    }
  }

  // Finish's steps, in order.
  void JudgeLastRound(nlohmann::json& divergent, nlohmann::json& unreadable) const;
  std::optional<size_t> ConvergedRound(const std::vector<int64_t>& rounds) const;
  void Judge(const nlohmann::json& divergent, const nlohmann::json& unreadable, const Timing& timing,
             CheckResult& result) const;
};

ConvergenceChecker::ConvergenceChecker() : state_(std::make_unique<State>()) {}
ConvergenceChecker::~ConvergenceChecker() = default;

std::string ConvergenceChecker::AbsentInput() const {
  return state_->ops == 0 ? "no replica-read rounds in the history" : "";
}

void ConvergenceChecker::Add(const Op& op) {
  State& s = *state_;
  if (op.process == kNemesisProcess) {
    if (op.f.starts_with("heal")) s.last_heal = op.time;
    return;
  }
  if (op.f != "replica-read") return;
  ++s.ops;
  if (op.type == OpType::kInvoke) {
    if (!s.first_invoke) s.first_invoke = op.time;
    s.pending_round[op.process] = RoundOf(op.value).value_or(-1);
    return;
  }
  s.Completion(op);
}

// Finish's steps, in order. The last round's state of every key: its divergent and unreadable lists.
void ConvergenceChecker::State::JudgeLastRound(nlohmann::json& divergent, nlohmann::json& unreadable) const {
  for (const auto& [name, key] : keys) {
    if (!key.last_ok) {
      unreadable.push_back({{"key", name}, {"round", key.last_round}, {"error", key.last_error}});
      continue;
    }
    const auto& readings = key.readings;
    // The agreement of the last ok reading at the last round (a key read twice in a round: the later one).
    bool agree = true;
    for (auto it = readings.rbegin(); it != readings.rend(); ++it) {
      if (it->round == key.last_round) {
        agree = it->agree;
        break;
      }
    }
    if (!agree) divergent.push_back({{"key", name}, {"round", key.last_round}, {"replicas", key.last_replicas}});
  }
}

// The first round from which on every key agreed (its position in `rounds`),
// each key judged by its latest ok reading up to that round.
std::optional<size_t> ConvergenceChecker::State::ConvergedRound(const std::vector<int64_t>& rounds) const {
  std::vector<int64_t> disagreeing(rounds.size(), 0);
  for (const auto& [name, key] : keys) {
    std::vector<Reading> readings = key.readings;
    std::stable_sort(readings.begin(), readings.end(),
                     [](const Reading& a, const Reading& b) { return a.round < b.round; });
    size_t next = 0;
    std::optional<bool> state;
    for (size_t r = 0; r < rounds.size(); ++r) {
      while (next < readings.size() && readings[next].round <= rounds[r]) state = readings[next++].agree;
      if (!state.value_or(false)) ++disagreeing[r];
    }
  }
  std::optional<size_t> converged_round;
  for (size_t r = rounds.size(); r-- > 0;) {
    if (disagreeing[r] != 0) break;
    converged_round = r;
  }
  return converged_round;
}

// The verdict and its summary (see the header).
void ConvergenceChecker::State::Judge(const nlohmann::json& divergent, const nlohmann::json& unreadable,
                                      const Timing& timing, CheckResult& result) const {
  const size_t rounds = timing.rounds;
  const nlohmann::json &converged_after = timing.converged_after, &differed_until = timing.differed_until;
  const char* from = timing.from;
  if (!divergent.empty()) {
    result.valid = Validity::kFalse;
    std::vector<std::string> names;
    for (const auto& d : divergent) {
      if (names.size() == 5) break;
      names.push_back(d["key"].get<std::string>());
    }
    result.summary =
        fmt::format("{} of {} keys still diverge across replicas after {} rounds ({}{})", divergent.size(), keys.size(),
                    rounds, fmt::join(names, ", "), divergent.size() > names.size() ? ", ..." : "");
  } else if (!unreadable.empty()) {
    result.valid = Validity::kUnknown;
    result.summary = fmt::format("the last replica read of {} of {} keys failed, so their convergence is unknown",
                                 unreadable.size(), keys.size());
  } else {
    result.valid = Validity::kTrue;
    const std::string rounds_text = CountOf(int64_t(rounds), "round", "rounds");
    if (converged_after.is_null()) {
      result.summary = fmt::format("all {} keys agree on every replica ({})", keys.size(), rounds_text);
    } else if (differed_until.is_null()) {
      // Already agreeing at the first reading: when they converged before it is not known.
      result.summary = fmt::format(
          "all {} keys agree on every replica, within {:.3f} s of {} (already at the first replica-read round; {})",
          keys.size(), converged_after.get<double>(), from, rounds_text);
    } else {
      result.summary = fmt::format(
          "all {} keys agree on every replica, converged between {:.3f} s (end of the last round that differed) and "
          "{:.3f} s (end of the first that agreed) after {} ({})",
          keys.size(), differed_until.get<double>(), converged_after.get<double>(), from, rounds_text);
    }
  }
}

CheckResult ConvergenceChecker::Finish() {
  State& s = *state_;
  CheckResult result;
  if (s.ops == 0) {
    result.valid = Validity::kUnknown;
    result.summary = "the store adapter has no replica reads";
    result.details = {{"rounds", 0},
                      {"key_count", 0},
                      {"divergent", nlohmann::json::array()},
                      {"divergent_count", 0},
                      {"unreadable", nlohmann::json::array()},
                      {"unreadable_count", 0},
                      {"converged_after_s", nullptr},
                      {"final_heal_time", nullptr}};
    return result;
  }
  const std::optional<int64_t> heal = s.last_heal ? s.last_heal : s.first_invoke;
  nlohmann::json divergent = nlohmann::json::array(), unreadable = nlohmann::json::array();
  s.JudgeLastRound(divergent, unreadable);
  std::vector<int64_t> rounds;
  for (const auto& [round, end] : s.round_end) rounds.push_back(round);
  const std::optional<size_t> converged_round = s.ConvergedRound(rounds);
  // A round ends when its last reading does: convergence happened after the
  // end of the last disagreeing round (or before the first round) and by the
  // end of the first agreeing one. Only that interval is known.
  const auto since_heal = [&](int64_t time) { return nlohmann::json(double(time - *heal) / 1e9); };
  Timing timing{rounds.size(), nullptr, nullptr, s.last_heal ? "the final heal" : "the first replica read"};
  if (converged_round && heal) {
    timing.converged_after = since_heal(s.round_end[rounds[*converged_round]]);
    if (*converged_round > 0) timing.differed_until = since_heal(s.round_end[rounds[*converged_round - 1]]);
  }
  result.details = {{"rounds", rounds.size()},
                    {"key_count", s.keys.size()},
                    {"divergent_count", divergent.size()},
                    {"unreadable_count", unreadable.size()},
                    {"converged_after_s", timing.converged_after},
                    {"differed_until_s", timing.differed_until},
                    {"first_read_after_s", heal && s.first_invoke ? since_heal(*s.first_invoke) : nlohmann::json()},
                    {"measured_from", timing.from},
                    {"final_heal_time", heal ? nlohmann::json(*heal) : nlohmann::json()},
                    {"malformed_count", s.malformed}};
  s.Judge(divergent, unreadable, timing, result);
  result.details["divergent"] = std::move(divergent);
  result.details["unreadable"] = std::move(unreadable);
  return result;
}

}  // namespace faultline
