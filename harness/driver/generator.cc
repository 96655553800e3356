#include "harness/driver/generator.h"

namespace faultline {

namespace {

// How far the schedule may fall behind now before it restarts from now.
constexpr std::chrono::seconds kMaxLag(1);

}  // namespace

Generator::Generator(Workload& workload, GeneratorOptions options, std::chrono::steady_clock::time_point start)
    : workload_(workload),
      options_(options),
      deadline_(start + options.time_limit),
      rng_(options.seed),
      next_at_(start) {}

std::optional<ScheduledOp> Generator::Next() {
  if (stopped_.load(std::memory_order_relaxed)) return std::nullopt;
  std::lock_guard lock(mu_);
  if (options_.max_ops != 0 && sequence_ >= options_.max_ops) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now >= deadline_) return std::nullopt;
  // The gap is drawn even when the rate is unlimited, so the workload sees
  // the same RNG stream (and makes the same ops) whatever the rate.
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  std::chrono::steady_clock::time_point at = now;
  if (options_.rate > 0) {
    const auto gap = std::chrono::nanoseconds(static_cast<int64_t>(unit * 2e9 / options_.rate));
    at = next_at_ + gap;
    if (now - at > kMaxLag) at = now;
    next_at_ = at;
    if (at >= deadline_) return std::nullopt;
  }
  ScheduledOp scheduled{workload_.Next(rng_), at, sequence_++};
  return scheduled;
}

void Generator::Stop() { stopped_.store(true); }

bool Generator::stopped() const { return stopped_.load(); }

std::chrono::steady_clock::time_point Generator::deadline() const { return deadline_; }

}  // namespace faultline
