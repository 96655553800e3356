// The `linearizable` checker: is each key's history of a register
// (read/write) or cas-register (read/write/cas) linearizable? README
// "Checkers"; issue 17.
//
// Input ops (others, and the nemesis's, are ignored):
//   invoke {"f":"read","key":K,"value":null}   ok value V (null = absent), or an array of siblings
//   invoke {"f":"write","key":K,"value":V}     ok / fail / info
//   invoke {"f":"cas","key":K,"value":[OLD,NEW]}  ok = applied; fail = did not apply; info = unknown
// V is any JSON scalar. A completion belongs to its process's pending invoke;
// an invoke never completed is info. ok ops took effect between invoke and
// completion; info ops at any point after their invoke, or never; fail ops
// never; failed and info reads constrain nothing. Registers start absent (null).
//
// Keys are independent (P-compositionality): each is searched on its own
// (lin_search.h), in parallel on `threads` threads. Unless `all_keys`, the
// first non-linearizable key stops the others (they are not counted as
// checked). A read that returned several siblings is an anomaly of its own
// ("siblings": a register has one value), reported with the writes of those
// values; the key's search leaves that read out. Under the register model a
// key with cas ops is unknown ("cas needs the cas-register model").
//
// Budget per key: `time_limit_s` and `memory_mb` (the search's own memory;
// `threads` keys run at once, so the checker's peak is up to threads times
// that). Past it the key is unknown with the reason and the configurations explored.
//
// Verdict: false if a key is non-linearizable or has siblings; else unknown
// if a key is unknown; else true (also for no register ops at all).
// details (results.json; LIN-WORK's report diagram reads it):
//   {"model": "cas-register"|"register",
//    "keys": {"checked","linearizable","non_linearizable","unknown","siblings"},
//    "anomalies": [  at most 20: non-linearizable keys first, then siblings, each by key
//      {"type":"nonlinearizable","key","sentence","op","prefix":[{"op","state"}],
//       "states_before":[V],"concurrent":[op],"window":{"start_ns","end_ns"},"window_ops":[op]},
//      {"type":"siblings","key","sentence","op","writes":[op]}],
//    "unknown_keys": [{"key","reason","explored"}],
//    "explored": total configurations, "peak_search_bytes": the largest key's search memory}
// An op is {"process","f","value","type","invoke_index","complete_index","invoke_time","complete_time"}
// (lin_history.h LinOpJson). "checked" = linearizable + non_linearizable + unknown.
#pragma once

#include <cstdint>
#include <memory>

#include "checkers/checker.h"

namespace faultline {

enum class LinModel { kRegister, kCasRegister };

struct LinearizableOptions {
  LinModel model = LinModel::kCasRegister;
  double time_limit_s = 10;  // per key
  int64_t memory_mb = 512;   // per key
  bool all_keys = false;
  int threads = 0;  // 0 = std::thread::hardware_concurrency()
};

std::unique_ptr<Checker> MakeLinearizableChecker(LinearizableOptions options);

}  // namespace faultline
