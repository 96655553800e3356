// Parse speed of the Jepsen readers: generates an N-op independent-key
// cas-register history in both formats (history.edn lines as Jepsen writes
// them, and jepsen.log op lines), then times reading each into faultline ops.
// Usage: faultline-jepsen-parse-bench [OPS] [--write DIR]   (default 1000000)
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "checkers/jepsen/jepsen_history.h"

namespace {

using faultline::JepsenFormat;

// Pairs of invoke/completion lines from 20 processes over 100 keys.
void Generate(int64_t ops, std::string& edn, std::string& log) {
  std::mt19937_64 rng(42);
  static const char* kFs[] = {"read", "write", "cas"};
  static const char* kTypes[] = {"ok", "ok", "ok", "fail", "info"};
  int64_t time = 0;
  for (int64_t i = 0; i + 1 < ops; i += 2) {
    const int process = static_cast<int>(rng() % 20);
    const int key = static_cast<int>(rng() % 100);
    const char* f = kFs[rng() % 3];
    const char* type = kTypes[rng() % 5];
    const int a = static_cast<int>(rng() % 5), b = static_cast<int>(rng() % 5);
    const std::string invoke_value = f == std::string("read")  ? fmt::format("[{} nil]", key)
                                     : f == std::string("cas") ? fmt::format("[{} [{} {}]]", key, a, b)
                                                               : fmt::format("[{} {}]", key, a);
    const std::string done_value = f == std::string("read") ? fmt::format("[{} {}]", key, a) : invoke_value;
    time += 1000 + static_cast<int64_t>(rng() % 100000);
    edn += fmt::format("{{:index {}, :time {}, :type :invoke, :process {}, :f :{}, :value {}}}\n", i, time, process, f,
                       invoke_value);
    log += fmt::format("INFO  jepsen.util - {}\t:invoke\t:{}\t{}\n", process, f, invoke_value);
    time += 1000 + static_cast<int64_t>(rng() % 100000);
    edn += fmt::format("{{:index {}, :time {}, :type :{}, :process {}, :f :{}, :value {}}}\n", i + 1, time, type,
                       process, f, done_value);
    log += fmt::format("INFO  jepsen.util - {}\t:{}\t:{}\t{}\n", process, type, f, done_value);
  }
}

void Time(const std::string& name, const std::string& text, JepsenFormat format) {
  const auto start = std::chrono::steady_clock::now();
  int64_t count = 0, checksum = 0;
  faultline::ForEachJepsenOp(
      text, format,
      [&](const faultline::Op& op) {
        ++count;
        checksum += static_cast<int64_t>(op.key.size()) + op.time % 7;
      },
      nullptr);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{}: {} ops, {:.1f} MB in {:.2f} s: {:.0f} ops/s, {:.0f} MB/s (checksum {})\n", name, count,
             static_cast<double>(text.size()) / 1e6, s, static_cast<double>(count) / s,
             static_cast<double>(text.size()) / 1e6 / s, checksum);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t ops = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  std::string edn, log;
  Generate(ops, edn, log);
  if (argc > 3 && std::string(argv[2]) == "--write") {
    std::ofstream(std::string(argv[3]) + "/history.edn") << edn;
    std::ofstream(std::string(argv[3]) + "/jepsen.log") << log;
  }
  Time("history.edn", edn, JepsenFormat::kEdn);
  Time("history.edn as one vector", "[" + edn + "]", JepsenFormat::kEdn);
  Time("jepsen.log", log, JepsenFormat::kLog);
  return 0;
}
