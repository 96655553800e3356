// NodeStats: the counters one dynastore node reports at GET /status
// (doc/http_api.md): requests by route and by status class, open and
// accepted connections, accept failures, uptime.
//
// Thread-safe: every counter is a relaxed atomic, bumped by whichever server
// thread finishes the event; a snapshot is a consistent-enough view for
// monitoring, not an atomic cut across counters. The owner (the daemon, or a
// test) must keep it alive longer than the HttpServer and HttpApi using it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace dynastore {

class NodeStats {
 public:
  // What a request asked for, as far as the router could tell. A request the
  // server rejected before routing (e.g. an unparsable header) is kOther.
  enum class Route { kGetKv, kPutKv, kDeleteKv, kGetStatus, kOther };
  static constexpr size_t kRouteCount = 5;
  // The label /status uses for a route: "GET /kv", ..., "other".
  static const char* RouteName(Route route);

  NodeStats();
  NodeStats(const NodeStats&) = delete;
  NodeStats& operator=(const NodeStats&) = delete;

  void ConnectionOpened();
  void ConnectionClosed();
  void AcceptFailed();
  // One response sent (interim 1xx responses are not counted).
  void RecordResponse(Route route, unsigned status);

  int64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  double UptimeSeconds() const;

  // {"uptime_s", "connections", "connections_accepted", "accept_errors",
  //  "requests": {"total", "by_route": {...}, "by_status": {"2xx","4xx","5xx"}}}
  nlohmann::json ToJson() const;

 private:
  using Counter = std::atomic<uint64_t>;
  const std::chrono::steady_clock::time_point started_;
  std::atomic<int64_t> open_connections_{0};
  Counter accepted_connections_{0};
  Counter accept_errors_{0};
  std::array<Counter, kRouteCount> by_route_{};
  // Index = status / 100 (0..5); 0 and 1 stay zero, 3 is unused today.
  std::array<Counter, 6> by_class_{};
};

}  // namespace dynastore
