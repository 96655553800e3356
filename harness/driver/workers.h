// WorkerPool: the main phase's client workers. One thread per worker takes
// ops from the Generator until it runs dry (time limit, max_ops, Stop()),
// sleeps until each op's scheduled time, and records it in the history:
// an invoke line, the client call, then the completion line (ok / fail /
// info, with the worker's node).
//
// Process ids: worker i of n starts as process i. After an op ends in info
// (unknown outcome) the worker continues as process current + n, so a
// process whose op ended in info never invokes again and ids never collide.
//
// A client that throws (it should not) gives an info completion carrying the
// exception's message. Any other exception in a worker (from the generator,
// the workload or the history) stops the generator, ends that worker and is
// kept for error(): the rig, not the store, failed.
//
// Ownership: the pool owns the clients; the generator and the history must
// outlive it. Start() once; Join() is idempotent and may be called from a
// thread other than the one that calls counters(). Not copyable.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/api/client.h"
#include "harness/driver/generator.h"
#include "harness/driver/history_writer.h"

namespace faultline {

// Live counts of the pool's ops; readable from any thread at any time.
struct WorkerCounters {
  std::atomic<int64_t> invoked{0}, ok{0}, fail{0}, info{0};
};

struct WorkerSpec {
  std::unique_ptr<Client> client;
  std::string node;  // recorded as the completion's "node"
};

class WorkerPool {
 public:
  WorkerPool(Generator& generator, HistoryWriter& history, std::vector<WorkerSpec> workers);
  ~WorkerPool();  // Join()s

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start();
  // Waits for every worker to finish. Never throws; see error().
  void Join();

  const WorkerCounters& counters() const { return counters_; }
  // A process id no worker has used (valid after Join).
  int64_t next_free_process() const;
  // The first exception that ended a worker (not a client's), or null. Valid after Join.
  std::exception_ptr error() const;

 private:
  void RunWorker(size_t i);

  Generator& generator_;
  HistoryWriter& history_;
  std::vector<WorkerSpec> workers_;
  std::vector<int64_t> processes_;  // processes_[i]: worker i's current id; written only by worker i
  std::vector<std::thread> threads_;
  std::mutex join_mu_;
  WorkerCounters counters_;
  mutable std::mutex error_mu_;
  std::exception_ptr error_;  // guarded by error_mu_
};

}  // namespace faultline
