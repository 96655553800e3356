// faultline-history-gen: writes a synthetic history in the public format
// (README "History format"), correct by construction, to benchmark and test
// the checkers on histories of any size:
//   faultline-history-gen --ops N --workload register|set|counter --out FILE
//                         [--keys K] [--processes P] [--seed S]
// P processes interleave invokes and completions (ok, some info, some fail;
// a process whose op ended in info is replaced by a new process id); the
// nemesis starts and stops a partition every few thousand ops. Then: a
// heal, final reads of every key from each of 5 nodes, consistent with a
// correct store, and two replica-read rounds (a few keys diverge in round 0,
// every key agrees in round 1). Deterministic for a given seed. The store
// model per workload:
//   register  Dynamo with causal contexts: a write replaces the versions its
//             read saw and keeps the concurrent ones (siblings)
//   set       every ok add is present; info adds are present or not
//   counter   the total is the sum of ok deltas plus some info deltas
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kNodes = 5;
constexpr int kReplicas = 3;

class Out {
 public:
  explicit Out(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) throw std::runtime_error("cannot open " + path + " for writing");
    buffer_.reserve(kFlushAt + (1 << 20));
  }
  ~Out() {
    if (file_ != nullptr) std::fclose(file_);
  }
  // Starts a line: {"index":I,"time":T,"type":"...","process":P,"f":"..."
  void Begin(int64_t time, const char* type, int64_t process, const char* f) {
    fmt::format_to(std::back_inserter(buffer_), R"({{"index":{},"time":{},"type":"{}","process":{},"f":"{}")", index_++,
                   time, type, process, f);
  }
  void BeginNemesis(int64_t time, const char* f) {
    fmt::format_to(std::back_inserter(buffer_), R"({{"index":{},"time":{},"type":"info","process":"nemesis","f":"{}")",
                   index_++, time, f);
  }
  std::string& buffer() { return buffer_; }
  void End() {
    buffer_ += "}\n";
    if (buffer_.size() >= kFlushAt) Flush();
  }
  void Flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      throw std::runtime_error("write failed");
    }
    buffer_.clear();
  }
  void Close() {
    Flush();
    if (std::fclose(file_) != 0) throw std::runtime_error("close failed");
    file_ = nullptr;
  }
  int64_t lines() const { return index_; }

 private:
  static constexpr size_t kFlushAt = size_t{8} << 20;
  std::FILE* file_;
  std::string buffer_;
  int64_t index_ = 0;
};

void AppendIds(std::string& out, const std::vector<int64_t>& ids) {
  out += '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    fmt::format_int text(ids[i]);
    out.append(text.data(), text.size());
  }
  out += ']';
}

struct Slot {
  int64_t process;
  bool busy = false;
  int key = 0;
  int64_t id = 0;  // register write id / set element / counter delta
  std::vector<int64_t> read;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faultline-history-gen: writes a synthetic, correct history"};
  int64_t ops = 1000000;
  std::string workload = "register", out_path;
  int keys = 100, processes = 10;
  uint64_t seed = 1;
  app.add_option("--ops", ops, "number of history lines (approximately)")->required();
  app.add_option("--workload", workload, "register, set or counter")
      ->check(CLI::IsMember({"register", "set", "counter"}));
  app.add_option("--out", out_path, "output file")->required();
  app.add_option("--keys", keys, "number of keys")->check(CLI::PositiveNumber);
  app.add_option("--processes", processes, "concurrent processes")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "RNG seed");
  CLI11_PARSE(app, argc, argv);

  try {
    std::mt19937_64 rng(seed);
    Out out(out_path);
    std::vector<std::string> key_names;
    for (int k = 0; k < keys; ++k) key_names.push_back(fmt::format("k{}", k));
    std::vector<std::vector<int64_t>> state(keys);  // register siblings / set elements, sorted
    std::vector<int64_t> totals(keys, 0);           // counter
    std::vector<Slot> slots(processes);
    for (int p = 0; p < processes; ++p) slots[p].process = p;
    int64_t next_process = processes, next_id = 1, time = 1000;
    bool partitioned = false;
    const bool reg = workload == "register", set = workload == "set";
    const char* f = reg ? "rmw" : "add";
    const int64_t final_ops = int64_t(keys) * (kNodes * 2 + 2 * 2) + 1;
    const int64_t main_ops = std::max<int64_t>(0, ops - final_ops);

    while (out.lines() < main_ops) {
      time += 1 + int64_t(rng() % 100000);  // up to 100 us apart
      if (out.lines() % 5000 == 4999) {
        partitioned = !partitioned;
        out.BeginNemesis(time, partitioned ? "start-partition" : "stop-partition");
        out.buffer() += partitioned ? R"(,"value":{"fault":"partition","n1":["n3","n4"],"n2":["n3","n4"]})"
                                    : R"(,"value":{"fault":"partition","healed":true})";
        out.End();
        continue;
      }
      Slot& slot = slots[rng() % slots.size()];
      std::string& b = out.buffer();
      if (!slot.busy) {
        slot.busy = true;
        slot.key = int(rng() % keys);
        out.Begin(time, "invoke", slot.process, f);
        fmt::format_to(std::back_inserter(b), R"(,"key":"{}","value":)", key_names[slot.key]);
        if (reg) {
          slot.id = next_id++;
          slot.read = state[slot.key];
          fmt::format_to(std::back_inserter(b), R"({{"write":{}}})", slot.id);
        } else if (set) {
          slot.id = next_id++;
          fmt::format_to(std::back_inserter(b), "{}", slot.id);
        } else {
          slot.id = int64_t(rng() % 16) - 5;
          fmt::format_to(std::back_inserter(b), "{}", slot.id);
        }
        out.End();
        continue;
      }
      slot.busy = false;
      const unsigned roll = unsigned(rng() % 100);
      const char* type = roll < 90 ? "ok" : roll < 95 ? "info" : "fail";
      const bool applied = roll < 90 || (roll < 95 && rng() % 2 == 0);
      auto& current = state[slot.key];
      if (applied) {
        if (reg) {
          std::vector<int64_t> next;
          std::set_difference(current.begin(), current.end(), slot.read.begin(), slot.read.end(),
                              std::back_inserter(next));
          next.push_back(slot.id);  // ids grow: stays sorted
          current = std::move(next);
        } else if (set) {
          current.push_back(slot.id);  // elements grow: stays sorted
        } else {
          totals[slot.key] += slot.id;
        }
      }
      out.Begin(time, type, slot.process, f);
      fmt::format_to(std::back_inserter(b), R"(,"key":"{}","value":)", key_names[slot.key]);
      if (reg) {
        if (roll < 95) {  // ok and info carry the read list; a fail's read failed
          b += R"({"read":)";
          AppendIds(b, slot.read);
          fmt::format_to(std::back_inserter(b), R"(,"write":{}}})", slot.id);
        } else {
          fmt::format_to(std::back_inserter(b), R"({{"write":{}}})", slot.id);
        }
      } else {
        fmt::format_to(std::back_inserter(b), "{}", slot.id);
      }
      fmt::format_to(std::back_inserter(b), R"(,"node":"n{}")", 1 + rng() % kNodes);
      if (roll >= 90) b += roll < 95 ? R"(,"error":"timeout")" : R"(,"error":"unavailable")";
      out.End();
      if (roll >= 90 && roll < 95) slot.process = next_process++;
    }

    // Heal, final reads from every node, replica-read rounds. Ops still in flight never complete (not applied).
    time += 1000000;
    out.BeginNemesis(time, "heal-partition");
    out.buffer() += R"(,"value":{"fault":"partition","healed":true})";
    out.End();
    const int64_t reader = next_process++;
    auto value_of = [&](int k) {
      std::string v;
      if (reg || set) {
        AppendIds(v, state[k]);
      } else {
        v = fmt::format("{}", totals[k]);
      }
      return v;
    };
    for (int k = 0; k < keys; ++k) {
      const std::string value = value_of(k);
      for (int n = 1; n <= kNodes; ++n) {
        time += 1000;
        out.Begin(time, "invoke", reader, "read");
        fmt::format_to(std::back_inserter(out.buffer()), R"(,"key":"{}","node":"n{}")", key_names[k], n);
        out.End();
        time += 50000;
        out.Begin(time, "ok", reader, "read");
        fmt::format_to(std::back_inserter(out.buffer()), R"(,"key":"{}","value":{},"node":"n{}")", key_names[k], value,
                       n);
        out.End();
      }
    }
    for (int round = 0; round < 2; ++round) {
      time += 100000000;  // rounds 100 ms apart
      for (int k = 0; k < keys; ++k) {
        // Register siblings are the values; a set or a counter is one value.
        const std::string siblings = reg ? value_of(k) : "[" + value_of(k) + "]";
        time += 1000;
        out.Begin(time, "invoke", reader, "replica-read");
        fmt::format_to(std::back_inserter(out.buffer()), R"(,"key":"{}","value":{{"round":{}}})", key_names[k], round);
        out.End();
        time += 20000;
        out.Begin(time, "ok", reader, "replica-read");
        std::string& b = out.buffer();
        fmt::format_to(std::back_inserter(b), R"(,"key":"{}","value":{{"round":{},"replicas":{{)", key_names[k], round);
        for (int r = 1; r <= kReplicas; ++r) {
          // Round 0: every tenth key's last replica still lags (empty); round 1: all agree.
          const bool lagging = round == 0 && k % 10 == 0 && r == kReplicas;
          fmt::format_to(std::back_inserter(b), R"({}"n{}":{})", r == 1 ? "" : ",", r, lagging ? "[]" : siblings);
        }
        b += "}}";
        out.End();
      }
    }
    out.Close();
    fmt::print("wrote {} ops ({} workload, {} keys, {} processes, seed {}) to {}\n", out.lines(), workload, keys,
               processes, seed, out_path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-history-gen: {}\n", e.what());
    return 2;
  }
  return 0;
}
