#include "store/node_stats.h"

namespace dynastore {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
}  // namespace

const char* NodeStats::RouteName(Route route) {
  switch (route) {
    case Route::kGetKv:
      return "GET /kv";
    case Route::kPutKv:
      return "PUT /kv";
    case Route::kDeleteKv:
      return "DELETE /kv";
    case Route::kGetStatus:
      return "GET /status";
    case Route::kOther:
      return "other";
  }
  return "other";
}

NodeStats::NodeStats() : started_(std::chrono::steady_clock::now()) {}

void NodeStats::ConnectionOpened() {
  open_connections_.fetch_add(1, kRelaxed);
  accepted_connections_.fetch_add(1, kRelaxed);
}

void NodeStats::ConnectionClosed() { open_connections_.fetch_sub(1, kRelaxed); }

void NodeStats::AcceptFailed() { accept_errors_.fetch_add(1, kRelaxed); }

void NodeStats::RecordResponse(Route route, unsigned status) {
  if (status < 200) return;
  by_route_[static_cast<size_t>(route)].fetch_add(1, kRelaxed);
  const size_t cls = status / 100;
  if (cls < by_class_.size()) by_class_[cls].fetch_add(1, kRelaxed);
}

double NodeStats::UptimeSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

nlohmann::json NodeStats::ToJson() const {
  nlohmann::json by_route = nlohmann::json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < kRouteCount; ++i) {
    const uint64_t n = by_route_[i].load(kRelaxed);
    by_route[RouteName(static_cast<Route>(i))] = n;
    total += n;
  }
  nlohmann::json by_status = {
      {"2xx", by_class_[2].load(kRelaxed)},
      {"3xx", by_class_[3].load(kRelaxed)},
      {"4xx", by_class_[4].load(kRelaxed)},
      {"5xx", by_class_[5].load(kRelaxed)},
  };
  // Rounded to milliseconds so the field reads well.
  const double uptime = static_cast<double>(static_cast<int64_t>(UptimeSeconds() * 1000)) / 1000;
  return {
      {"uptime_s", uptime},
      {"connections", open_connections_.load(kRelaxed)},
      {"connections_accepted", accepted_connections_.load(kRelaxed)},
      {"accept_errors", accept_errors_.load(kRelaxed)},
      {"requests", {{"total", total}, {"by_route", by_route}, {"by_status", by_status}}},
  };
}

}  // namespace dynastore
