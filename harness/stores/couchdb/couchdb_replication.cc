#include "harness/stores/couchdb/couchdb_replication.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "harness/base/harness_error.h"
#include "harness/stores/daemon_table.h"

namespace faultline {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// One request's deadline: a paused or cut-off server must not stall a round.
constexpr milliseconds kRequest{500};
// Markers kept per source: far more than kStale / kRound.
constexpr size_t kWrittenKept = 64;

std::string MarkerId(const std::string& node) { return "faultline-marker-" + node; }

}  // namespace

CouchdbReplication::CouchdbReplication(std::map<std::string, std::string> nodes, int port, std::string database)
    : nodes_(std::move(nodes)), port_(port), database_(std::move(database)) {}

CouchdbReplication::~CouchdbReplication() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

CouchdbDocuments& CouchdbReplication::Docs(const std::string& node) {
  auto& d = docs_[node];
  if (!d) d = std::make_unique<CouchdbDocuments>(nodes_.at(node), port_, database_);
  return *d;
}

bool CouchdbReplication::StartPull(const std::string& target, const std::string& source) {
  const json job = {
      {"source", fmt::format("http://{}/{}", HostPort(nodes_.at(source), port_), PercentEncode(database_))},
      {"target", database_},
      {"continuous", true}};
  CouchdbReply r = Docs(target).Call("POST", "/_replicate", job.dump(), Clock::now() + kRequest);
  // A timeout may still have started it: count it as started, so it is not doubled at once.
  if (r.status == CouchdbReply::Status::kFailed) return false;
  started_[{target, source}] = Clock::now();
  ++jobs_started_;
  return true;
}

void CouchdbReplication::Establish(const std::string& node) {
  std::lock_guard lock(round_mu_);
  for (const auto& [t, ta] : nodes_) {
    for (const auto& [s, sa] : nodes_) {
      if (t != s && (node.empty() || node == t || node == s)) StartPull(t, s);
    }
  }
}

void CouchdbReplication::Round() {
  std::set<std::string> down;  // no answer this round: skip its other requests
  for (const auto& [s, address] : nodes_) {
    json marker = {{"round", next_round_[s] + 1}};
    if (marker_rev_.count(s)) marker["_rev"] = marker_rev_[s];
    CouchdbReply r = Docs(s).Put(MarkerId(s), marker, Clock::now() + kRequest);
    if (r.ok() && r.body.is_object() && r.body.value("rev", json()).is_string()) {
      marker_rev_[s] = r.body["rev"].get<std::string>();
      auto& written = written_[s];
      written.push_back({++next_round_[s], Clock::now()});
      if (written.size() > kWrittenKept) written.erase(written.begin());
    } else if (r.http_status == 409 || r.not_found) {
      // Our _rev is stale (a wipe, or a write that timed out but applied): learn the current one.
      CouchdbReply current = Docs(s).Get(MarkerId(s), "", Clock::now() + kRequest);
      marker_rev_.erase(s);
      if (current.ok() && current.body.is_object() && current.body.value("_rev", json()).is_string()) {
        marker_rev_[s] = current.body["_rev"].get<std::string>();
      }
    } else if (!r.ok()) {
      down.insert(s);
    }
  }
  const auto now = Clock::now();
  for (const auto& [t, ta] : nodes_) {
    if (down.count(t)) continue;
    for (const auto& [s, sa] : nodes_) {
      if (s == t) continue;
      CouchdbReply r = Docs(t).Get(MarkerId(s), "", Clock::now() + kRequest);
      if (r.ok() && r.body.is_object() && r.body.value("round", json()).is_number_integer()) {
        int64_t& seen = seen_[{t, s}];
        seen = std::max(seen, r.body["round"].get<int64_t>());
      } else if (!r.ok() && !r.not_found) {
        down.insert(t);
        break;
      }
      // The newest marker that had time to arrive.
      int64_t due = 0;
      for (const Written& w : written_[s]) {
        if (now - w.at >= kStale) due = w.round;
      }
      auto started = started_.find({t, s});
      const bool may_restart = started == started_.end() || now - started->second >= kRestartEvery;
      if (due > seen_[{t, s}] && may_restart && !down.count(s)) StartPull(t, s);
    }
  }
}

void CouchdbReplication::Supervise() {
  std::unique_lock stop(stop_mu_);
  while (!stop_cv_.wait_for(stop, kRound, [&] { return stopping_; })) {
    stop.unlock();
    {
      std::lock_guard lock(round_mu_);
      Round();
    }
    stop.lock();
  }
}

void CouchdbReplication::StartSupervisor() {
  std::lock_guard lock(stop_mu_);
  if (!supervisor_.joinable() && !stopping_) supervisor_ = std::thread([this] { Supervise(); });
}

void CouchdbReplication::WaitReplicating(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::map<std::string, int64_t> wanted;  // source -> the first round written after this call began
  {
    std::lock_guard lock(round_mu_);
    for (const auto& [s, a] : nodes_) wanted[s] = next_round_[s] + 1;
  }
  std::vector<std::string> missing;
  while (true) {
    missing.clear();
    {
      std::lock_guard lock(round_mu_);
      Round();
      for (const auto& [t, ta] : nodes_) {
        for (const auto& [s, sa] : nodes_) {
          if (t == s || seen_[{t, s}] >= wanted[s]) continue;
          missing.push_back(
              fmt::format("{} has not pulled {}'s marker (holds round {}, wants {})", t, s, seen_[{t, s}], wanted[s]));
        }
      }
    }
    if (missing.empty()) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  throw HarnessError(
      fmt::format("couchdb replication not running after {} ms: {}", timeout.count(), fmt::join(missing, "; ")));
}

int CouchdbReplication::jobs_started() const {
  std::lock_guard lock(round_mu_);
  return jobs_started_;
}

}  // namespace faultline
