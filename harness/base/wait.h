// Small concurrency helpers of the harness: polling until a condition holds,
// and running one task per node on threads of its own.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace faultline {

// Polls `done` every `poll` until it holds or `timeout` passes; returns
// whether it held (checked once more at the deadline).
template <typename Pred>
bool WaitFor(Pred done, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
             std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

// Polls `round` (per node, what keeps it from being ready; "" when it is)
// every `poll` until every entry is "" or the next poll would pass `deadline`.
// Returns the last round: all "" when every node got ready.
template <typename Round>
std::vector<std::string> PollUntilAllReady(Round round, std::chrono::steady_clock::time_point deadline,
                                           std::chrono::milliseconds poll) {
  while (true) {
    std::vector<std::string> why = round();
    if (std::all_of(why.begin(), why.end(), [](const std::string& w) { return w.empty(); })) return why;
    if (std::chrono::steady_clock::now() + poll >= deadline) return why;
    std::this_thread::sleep_for(poll);
  }
}

// Runs fn(0) .. fn(n-1), each on its own thread (a command per node costs a
// few ms of start-up or a network round trip; nodes in a row would add up).
// Returns each index's exception message, "" where fn returned.
inline std::vector<std::string> RunInParallel(size_t n, const std::function<void(size_t)>& fn) {
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

// The non-empty messages of RunInParallel.
inline std::vector<std::string> Failures(const std::vector<std::string>& errors) {
  std::vector<std::string> failed;
  for (const auto& e : errors) {
    if (!e.empty()) failed.push_back(e);
  }
  return failed;
}

}  // namespace faultline
