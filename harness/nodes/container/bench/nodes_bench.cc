// faultline-nodes-bench: what container nodes cost against namespace nodes,
// measured side by side in one invocation on this machine:
//   1. cluster start and teardown of N nodes (median of --rounds);
//   2. one command (`true`) through each kind's Remote, and `podman exec`
//      for comparison (mean of --commands);
//   3. dynastore-bench run inside one node of each kind (store and load both
//      inside, on the node's loopback), --sync off.
// Needs root and podman; every cluster it makes is removed before it exits
// (or by `faultline cleanup` if it is killed).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/container/container_environment.h"
#include "harness/nodes/local/host_tools.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::unique_ptr<Environment> Make(bool containers, int nodes) {
  LocalClusterOptions o;
  o.nodes = nodes;
  o.description = "faultline-nodes-bench";
  if (!containers) return LocalEnvironment::Create(o);
  ContainerOptions c;
  c.cluster = o;
  return ContainerEnvironment::Create(c);
}

// Mean ms of `n` calls of fn.
double MeanMs(int n, const std::function<void()>& fn) {
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) fn();
  return Ms(Clock::now() - start).count() / n;
}

// ops/s of dynastore-bench run inside the node (its own dynastore on the node's loopback).
double StoreOpsPerSec(Environment& env, const std::string& bench, double seconds) {
  Remote& r = *env.nodes()[0].remote;
  const std::string out = env.nodes()[0].dir + "/bench.json";
  r.Run({"mkdir", "-p", env.nodes()[0].dir}, std::chrono::seconds(30));
  CommandResult res = r.Run(
      {bench, "--sync", "off", "--seconds", std::to_string(seconds), "--data-root", env.nodes()[0].dir, "--json", out},
      std::chrono::seconds(int(seconds) + 120));
  if (!res.ok()) throw HarnessError("dynastore-bench failed: " + res.err + res.out);
  CommandResult json = r.Run({"cat", out}, std::chrono::seconds(30));
  auto j = nlohmann::json::parse(json.out);
  return j["results"][0].value("ops_per_sec", 0.0);
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline-nodes-bench: namespace nodes vs container nodes, side by side"};
  int nodes = 5, rounds = 3, commands = 200;
  double seconds = 5;
  std::string bench = DYNASTORE_BENCH_BIN;
  app.add_option("--nodes", nodes, "nodes per cluster")->capture_default_str();
  app.add_option("--rounds", rounds, "cluster starts per kind (median reported)")->capture_default_str();
  app.add_option("--commands", commands, "commands per Remote (mean reported)")->capture_default_str();
  app.add_option("--seconds", seconds, "dynastore-bench window; 0 skips it")->capture_default_str();
  app.add_option("--dynastore-bench", bench, "dynastore-bench binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::printf("%-28s %14s %14s\n", "", "namespaces", "containers");
    std::vector<double> start[2], teardown[2];
    for (int round = 0; round < rounds; ++round) {
      for (int kind = 0; kind < 2; ++kind) {
        auto t0 = Clock::now();
        auto env = Make(kind == 1, nodes);
        auto t1 = Clock::now();
        env->Teardown();
        start[kind].push_back(Ms(t1 - t0).count());
        teardown[kind].push_back(Ms(Clock::now() - t1).count());
      }
    }
    std::printf("%-28s %11.0f ms %11.0f ms\n", ("start " + std::to_string(nodes) + " nodes").c_str(), Median(start[0]),
                Median(start[1]));
    std::printf("%-28s %11.0f ms %11.0f ms\n", ("teardown " + std::to_string(nodes) + " nodes").c_str(),
                Median(teardown[0]), Median(teardown[1]));
    double cmd[2], exec_ms = 0, ops[2] = {0, 0};
    for (int kind = 0; kind < 2; ++kind) {
      auto env = Make(kind == 1, 1);
      Remote& r = *env->nodes()[0].remote;
      cmd[kind] = MeanMs(commands, [&] { r.Run({"true"}, std::chrono::seconds(30)); });
      if (kind == 1) {
        const std::string name = static_cast<ContainerEnvironment&>(*env).machine(0).container();
        exec_ms = MeanMs(std::max(1, commands / 10), [&] { local_internal::RunPodman({"exec", name, "true"}); });
      }
      if (seconds > 0) ops[kind] = StoreOpsPerSec(*env, bench, seconds);
      env->Teardown();
    }
    std::printf("%-28s %11.2f ms %11.2f ms\n", "one command via the Remote", cmd[0], cmd[1]);
    std::printf("%-28s %14s %11.2f ms\n", "one `podman exec`", "-", exec_ms);
    if (seconds > 0) std::printf("%-28s %10.0f op/s %9.0f op/s\n", "dynastore-bench inside", ops[0], ops[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faultline-nodes-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
