// HttpApi: dynastore's public HTTP/1.1 API (doc/http_api.md is the contract),
// independent of the transport. It turns one complete, already-parsed request
// into one response: routes /kv/{key} and /status, validates keys, bodies and
// contexts, calls the Coordinator, and renders JSON. The transport
// (HttpServer) handles sockets, limits on the wire, timeouts and keep-alive.
//
// Thread-safe: Handle may be called concurrently from any thread. It does not
// own the Coordinator or NodeStats; both must outlive it.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "store/context_key.h"
#include "store/coordinator.h"
#include "store/node_stats.h"

namespace dynastore {

// Beast (Boost 1.74) speaks boost::string_view; the rest of dynastore std.
inline std::string_view StdView(boost::beast::string_view s) { return {s.data(), s.size()}; }

// The daemon's version, reported by /status and `dynastore --version`.
inline constexpr std::string_view kDynastoreVersion = "0.1.0";

struct HttpApiOptions {
  std::string node_id;
  bool sync = true;  // reported by /status: are writes fsynced before the ack?
  // Longest key accepted, in bytes after percent-decoding.
  size_t max_key_bytes = 1024;
  // Wall clock in ms since the epoch, reported as wall_clock_ms (the harness
  // reads it to measure clock skew). Default: the system clock.
  std::function<int64_t()> clock_ms;
  // Replicas per key: the largest ?r= / ?w= accepted.
  int n = 1;
  // Cluster views the node adds to /status (members, faults, anti-entropy,
  // ...), GET /ring, and GET /admin/digest (one JSON object per line).
  std::function<nlohmann::json()> status_extra;
  std::function<nlohmann::json()> ring;
  std::function<std::string()> digests;
  // Signs the context tokens the API hands out and checks those it gets.
  ContextKey context_key{};
};

class HttpApi {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  HttpApi(HttpApiOptions options, Coordinator& coordinator, NodeStats& stats);

  // Serves `request`. Calls `done` exactly once, possibly before Handle
  // returns and possibly on another thread (Coordinator callbacks run
  // anywhere). The response carries the request's HTTP version and
  // keep-alive choice; the transport may still force it to close.
  void Handle(Request request, std::function<void(Response)> done) const;

  // Which route a request is for, for the per-route counters.
  static NodeStats::Route Classify(boost::beast::http::verb method, std::string_view target);

  // An error response: {"error": code, "message": message} with the common
  // headers. `code` is one of the stable codes in doc/http_api.md.
  static Response Error(boost::beast::http::status status, std::string_view code, std::string_view message,
                        unsigned version, bool keep_alive);

 private:
  // GET /status, /ring and /admin/digest (no query parameters).
  void HandleReadOnly(const Request& request, std::string_view path, std::string_view query,
                      std::function<void(Response)>& done) const;
  void HandleStatus(const Request& request, std::function<void(Response)>& done) const;
  // `quorum` is the ?r= or ?w= given (0: the cluster default).
  void HandleGet(const Request& request, std::string key, int quorum, bool local,
                 std::function<void(Response)>& done) const;
  void HandlePut(const Request& request, std::string key, int quorum, std::function<void(Response)>& done) const;
  void HandleDelete(const Request& request, std::string key, int quorum, std::function<void(Response)>& done) const;

  HttpApiOptions options_;
  Coordinator& coordinator_;
  NodeStats& stats_;
};

}  // namespace dynastore
