#include "harness/driver/workers.h"

#include <algorithm>
#include <chrono>

namespace faultline {

namespace {

// Sleeps are sliced so a Stop() (Ctrl-C) is noticed quickly.
constexpr auto kSleepSlice = std::chrono::milliseconds(50);

}  // namespace

WorkerPool::WorkerPool(Generator& generator, HistoryWriter& history, std::vector<WorkerSpec> workers)
    : generator_(generator), history_(history), workers_(std::move(workers)) {
  processes_.resize(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) processes_[i] = static_cast<int64_t>(i);
}

WorkerPool::~WorkerPool() { Join(); }

void WorkerPool::Start() {
  std::lock_guard lock(join_mu_);
  if (!threads_.empty()) return;
  threads_.reserve(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) threads_.emplace_back([this, i] { RunWorker(i); });
}

void WorkerPool::Join() {
  std::lock_guard lock(join_mu_);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

int64_t WorkerPool::next_free_process() const {
  // Every id a worker used is at most its current one.
  int64_t highest = -1;
  for (int64_t process : processes_) highest = std::max(highest, process);
  return highest + 1;
}

std::exception_ptr WorkerPool::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

void WorkerPool::RunWorker(size_t i) {
  WorkerSpec& worker = workers_[i];
  const int64_t stride = static_cast<int64_t>(workers_.size());
  int64_t process = processes_[i];
  try {
    while (std::optional<ScheduledOp> scheduled = generator_.Next()) {
      bool stopped = false;
      for (auto now = std::chrono::steady_clock::now(); now < scheduled->at; now = std::chrono::steady_clock::now()) {
        if ((stopped = generator_.stopped())) break;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(scheduled->at - now, kSleepSlice));
      }
      if (stopped || generator_.stopped()) break;
      const Invocation& op = scheduled->op;
      history_.Append(OpType::kInvoke, process, op.f, op.key, op.value);
      counters_.invoked.fetch_add(1, std::memory_order_relaxed);
      Completion completion;
      try {
        completion = worker.client->Invoke(op);
      } catch (const std::exception& e) {
        completion = Completion{OpType::kInfo, nullptr, std::string("client threw: ") + e.what()};
      } catch (...) {
        completion = Completion{OpType::kInfo, nullptr, "client threw a non-standard exception"};
      }
      if (completion.type == OpType::kInvoke) {
        completion = Completion{OpType::kInfo, nullptr, "client returned \"invoke\" as a completion"};
      }
      history_.Append(completion.type, process, op.f, op.key, completion.value, worker.node, completion.error);
      switch (completion.type) {
        case OpType::kOk:
          counters_.ok.fetch_add(1, std::memory_order_relaxed);
          break;
        case OpType::kFail:
          counters_.fail.fetch_add(1, std::memory_order_relaxed);
          break;
        default:
          counters_.info.fetch_add(1, std::memory_order_relaxed);
          process += stride;  // an info op's process never invokes again
          processes_[i] = process;
      }
    }
  } catch (...) {
    {
      std::lock_guard lock(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
    generator_.Stop();
  }
}

}  // namespace faultline
