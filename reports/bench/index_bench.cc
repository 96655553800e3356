// faultline-index-bench [N] [ANOMALIES]: how long the store index takes over
// N run directories (default 5000) whose results.json each carry ANOMALIES
// (default 200) lost adds, the shape a bad nightly leaves. Builds a temp
// store, times StoreIndexData and WriteStoreIndex (warm page cache: the files
// were just written), prints the figures and index.html's size, removes it.
// For comparison it also times parsing every results.json whole with
// nlohmann::json (what the index avoids).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/store_index.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::time_point since) { return std::chrono::duration<double, std::milli>(Clock::now() - since).count(); }

json FakeResults(int i, int anomalies) {
  json lost = json::array();
  for (int a = 0; a < anomalies; ++a) {
    lost.push_back({{"element", a * 7 + i},
                    {"index", a * 13},
                    {"key", "k1"},
                    {"missing_on", {"n1", "n2", "n3"}},
                    {"time", 74429399LL + a * 1000003LL}});
  }
  const bool bad = anomalies > 0 && i % 10 == 0;
  return {
      {"valid", bad ? json(false) : json(true)},
      {"summary", bad ? fmt::format("set: {} acknowledged adds lost on key k1", anomalies) : "all fine"},
      {"incomplete", false},
      {"ops", {{"ok", 836 + i}, {"fail", 44}, {"info", 0}}},
      {"checkers",
       {{"set",
         {{"valid", !bad},
          {"summary", "..."},
          {"attempt_count", 880},
          {"ok_count", 836},
          {"lost_count", bad ? anomalies : 0},
          {"recovered_count", 0},
          {"unexpected_count", 0},
          {"failed_present_count", 0},
          {"lost", lost},
          {"recovered", json::array()},
          {"unexpected", json::array()},
          {"failed_present", json::array()},
          {"per_key", {{"k1", {{"attempts", 880}, {"ok", 836}, {"lost", bad ? anomalies : 0}}}}}}},
        {"convergence", {{"valid", true}, {"summary", "..."}, {"divergent_count", 0}, {"divergent", json::array()}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int anomalies = argc > 2 ? std::atoi(argv[2]) : 200;
  std::string tmpl = (fs::temp_directory_path() / "faultline-index-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path store = tmpl;  // private (0700), removed at the end
  // Every run gets the 200-entry list (worst case for parsing); 1 in 10 is invalid.
  size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string name = fmt::format("nightly-{}", i % 12);
    const fs::path dir = store / name /
                         fmt::format("2026{:02}{:02}T{:02}{:02}{:02}.{:03}Z", 1 + i % 12, 1 + i % 28, i % 24, i % 60,
                                     (i / 60) % 60, i % 1000);
    fs::create_directories(dir);
    const json results = FakeResults(i, anomalies);
    const std::string text = results.dump(2);
    bytes += text.size();
    std::ofstream(dir / "results.json") << text;
    std::ofstream(dir / "test.json") << json{{"name", name},      {"db", "dynastore"},
                                             {"workload", "set"}, {"nemesis", "partition,kill"},
                                             {"local", 5},        {"time-limit", 60},
                                             {"seed", i}}
                                            .dump(2);
  }
  std::cout << fmt::format("{} runs, results.json {:.1f} MB in all ({:.1f} KB each)\n", n, bytes / 1e6,
                           bytes / 1e3 / n);

  auto t = Clock::now();
  const json data = faultline::StoreIndexData(store);
  std::cout << fmt::format("StoreIndexData: {:.0f} ms ({} runs listed)\n", Ms(t), data["runs"].size());
  t = Clock::now();
  faultline::WriteStoreIndex(store);
  std::cout << fmt::format("WriteStoreIndex (scan + render + write): {:.0f} ms, index.html {:.2f} MB\n", Ms(t),
                           fs::file_size(store / "index.html") / 1e6);

  t = Clock::now();
  size_t parsed = 0;
  for (const auto& name : fs::directory_iterator(store)) {
    if (!name.is_directory()) continue;
    for (const auto& run : fs::directory_iterator(name.path())) {
      std::ifstream in(run.path() / "results.json");
      std::stringstream s;
      s << in.rdbuf();
      parsed += json::parse(s.str()).size();
    }
  }
  std::cout << fmt::format("for comparison, nlohmann::json parsing every results.json whole: {:.0f} ms\n", Ms(t));
  fs::remove_all(store);
  return parsed > 0 ? 0 : 1;
}
