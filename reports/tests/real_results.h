// results.json and test.json shapes copied from real `faultline run`s (3 local
// nodes, dynastore; the invalid one with --dynastore-arg=--lww, keys 1,
// concurrency 12), long lists cut to a few entries with their counts to match.
// Shared by the junit.xml and store index tests.
#pragma once

#include <nlohmann/json.hpp>

namespace faultline::test {

inline nlohmann::json RealTestJson() {
  return nlohmann::json::parse(R"js({
  "clock-skew-ms": 30000, "clock-strobe-period-ms": 1000, "concurrency": 12, "convergence-timeout": 30.0,
  "db": "dynastore",
  "dynastore": {"args": ["--lww"], "binary": "", "n": 3, "partitions": 64, "r": 2, "sync": true, "w": 2},
  "grudge": null, "keys": 1, "leave-db-running": false, "local": 3, "loss-probability": 0.3, "name": "lww-set",
  "nemesis": "none", "nemesis-interval": 10.0,
  "nemesis-partitions": ["halves", "random-halves", "one", "majorities-ring", "bridge"],
  "nemesis-targets": ["one", "minority", "majority", "all"], "nodes": [], "op-timeout-ms": 1000, "quiesce": 1.0,
  "rate": 300.0, "seed": 3441935132, "store-dir": "/tmp/suite-eng/store", "subnet": "", "test-count": 1,
  "time-limit": 3.0, "workload": "set"})js");
}

inline nlohmann::json RealConvergence() {
  return nlohmann::json::parse(R"js({"converged_after_s": 0.003994551, "divergent": [], "divergent_count": 0,
  "final_heal_time": 4018762653, "key_count": 5, "malformed_count": 0, "rounds": 1,
  "summary": "all 5 keys agree on every replica, 0.004 s after the final heal (1 round)", "unreadable": [],
  "unreadable_count": 0, "valid": true})js");
}

inline nlohmann::json RealStats() {
  return nlohmann::json::parse(R"js({"availability": {"during_faults": null, "healthy": 0.9505813953488372,
  "ops_during_faults": 0, "ops_healthy": 344}, "by_f": {"add": {"fail": 17, "info": 0, "latency_ms": {"max": 3.739,
  "p50": 1.528, "p90": 2.171, "p99": 2.875, "p999": 3.739}, "ok": 307}}, "no_ok": [], "siblings": {"dynamo_paper":
  {"1": 99.94, "2": 0.00057, "3": 0.00047, "4": 9e-05}, "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5+": 0,
  "empty": 0}, "percent": {"1": null, "2": null, "3": null, "4": null, "5+": null, "empty": null}, "reads": 0},
  "summary": "344 client ops, every f completed ok at least once; availability n/a during faults, 95.1% healthy",
  "valid": true})js");
}

inline nlohmann::json RealValidResults() {
  nlohmann::json r = nlohmann::json::parse(R"js({"checkers": {"set": {"attempt_count": 324, "fail_count": 17,
  "failed_present": [], "failed_present_count": 0, "final_read_count": 15, "info_count": 0,
  "keys_without_final_read": [], "lost": [], "lost_count": 0, "malformed_count": 0, "ok_count": 307,
  "per_key": {"k1": {"attempts": 65, "failed_present": 0, "final_reads": 3, "lost": 0, "ok": 61, "recovered": 0,
  "unexpected": 0}}, "recovered": [{"element": 5, "index": 20, "key": "k1", "present_on": ["n1"]}],
  "recovered_count": 1, "summary": "all 307 acknowledged adds present in the final reads of every node",
  "unexpected": [], "unexpected_count": 0, "valid": true}},
  "incomplete": false, "ops": {"fail": 17, "info": 0, "ok": 327},
  "summary": "set: all 307 acknowledged adds present in the final reads of every node; convergence: all 5 keys agree on every replica, 0.004 s after the final heal (1 round); stats: 344 client ops, every f completed ok at least once; availability n/a during faults, 95.1% healthy",
  "valid": true})js");
  r["checkers"]["convergence"] = RealConvergence();
  r["checkers"]["stats"] = RealStats();
  return r;
}

inline nlohmann::json RealInvalidResults() {
  nlohmann::json r = nlohmann::json::parse(R"js({"checkers": {"set": {"attempt_count": 880, "fail_count": 44,
  "failed_present": [], "failed_present_count": 0, "final_read_count": 3, "info_count": 0,
  "keys_without_final_read": [], "lost": [
    {"element": 21, "index": 43, "key": "k1", "missing_on": ["n1", "n2", "n3"], "time": 74429399},
    {"element": 35, "index": 72, "key": "k1", "missing_on": ["n1", "n2", "n3"], "time": 127031625},
    {"element": 36, "index": 75, "key": "k1", "missing_on": ["n1", "n2", "n3"], "time": 130000000}],
  "lost_count": 3, "malformed_count": 0, "ok_count": 836,
  "per_key": {"k1": {"attempts": 880, "failed_present": 0, "final_reads": 3, "lost": 3, "ok": 836, "recovered": 0,
  "unexpected": 0}}, "recovered": [], "recovered_count": 0,
  "summary": "3 acknowledged adds lost on key k1 (missing on n1, n2, n3)", "unexpected": [], "unexpected_count": 0,
  "valid": false}}, "incomplete": false, "ops": {"fail": 44, "info": 0, "ok": 840},
  "summary": "set: 3 acknowledged adds lost on key k1 (missing on n1, n2, n3)", "valid": false})js");
  r["checkers"]["convergence"] = RealConvergence();
  r["checkers"]["stats"] = RealStats();
  return r;
}

// Interrupted by SIGINT mid-run: checkers ran on what was recorded, the run is unknown.
inline nlohmann::json RealInterruptedResults() {
  nlohmann::json r = RealValidResults();
  r["incomplete"] = true;
  r["valid"] = "unknown";
  r["summary"] = "the run stopped before its final reads, so the history cannot be judged";
  r["checkers"]["set"]["valid"] = "unknown";
  r["checkers"]["set"]["final_read_count"] = 0;
  r["checkers"]["set"]["summary"] = "no final read succeeded, so none of the 307 acknowledged adds could be checked";
  return r;
}

// The harness failed before any history was checked.
inline nlohmann::json RealHarnessFailureResults() {
  return nlohmann::json::parse(
      R"js({"checkers": {}, "error": "node n2: dynastore did not start within 20 s (see nodes/n2/dynastore.log)",
  "incomplete": true, "ops": {"fail": 0, "info": 0, "ok": 0},
  "summary": "the harness failed: node n2: dynastore did not start within 20 s (see nodes/n2/dynastore.log)",
  "valid": "unknown"})js");
}

// A counter run whose final read is out of range (counter checker shape).
inline nlohmann::json RealCounterInvalidResults() {
  return nlohmann::json::parse(R"js({"checkers": {"counter": {"add_count": 120, "error_count": 1,
  "errors": [{"index": 250, "key": "k1", "lower": 40, "node": "n2", "time": 5100000000, "upper": 44, "value": 39}],
  "fail_count": 2, "final_read_count": 3, "info_count": 1, "keys_without_final_read": [], "malformed_count": 0,
  "ok_count": 117, "per_key": {}, "summary": "1 final read out of the range the adds allow on key k1 (e.g. n2 read 39 of k1, expected 40 to 44)",
  "valid": false}}, "incomplete": false, "ops": {"fail": 2, "info": 1, "ok": 120},
  "summary": "counter: 1 final read out of the range the adds allow on key k1 (e.g. n2 read 39 of k1, expected 40 to 44)",
  "valid": false})js");
}

}  // namespace faultline::test
