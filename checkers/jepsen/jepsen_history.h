// Jepsen histories as faultline ops (README "faultline check", "Jepsen
// histories"): history.edn (a vector of op maps, or op maps one after another,
// e.g. one per line) and the op lines of jepsen.log
// ("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]"). Every checker and the
// report then work on them as on a faultline history.
//
// The mapping, op by op (Jepsen ops are maps with :type :process :f :value,
// :time and :index optional; other keys are ignored):
//   :type :invoke/:ok/:fail/:info → type; anything else is an error.
//   :process N (N >= 0) → process N; :nemesis → kNemesisProcess.
//   :f :read → f "read" (a keyword loses its colon; a string stays).
//   :value → value as JSON (edn::ToJson: keywords become strings without the
//     colon, vectors/lists/sets arrays, nil null).
//   Independent keys: when the first client op holds an independent-key
//     tuple [k v] (k an integer, string or keyword; for :f :cas v must be
//     [old new]), the history is keyed: every client invoke and ok must then
//     hold one, key = k as text (3 → "3", :a → "a", "x" → "x") and value = v.
//     Otherwise the history is one register (or set, ...): every client op
//     gets key kJepsenSingleKey. A cas whose value is [1 4] is therefore old
//     1, new 4, as in Knossos/Porcupine's etcd logs.
//   A fail or info completion of a client op carries its invoke's key and
//     value (Jepsen writes e.g. :timed-out there; faultline's crashed write is
//     the written value); a completion value that differs becomes the op's
//     error when it has no :error. An ok write/cas completion with value nil
//     carries its invoke's value too.
//   :error → error (a string as is, a keyword without colon, else EDN text).
//   :index is checked to be an integer but ops are numbered by position
//     (0, 1, ...), as faultline's index must run.
//   :time (nanoseconds) is kept when every op has one; when no op has one,
//     op i gets time i ms (synthetic, strictly increasing); a mix is an error.
//     jepsen.log lines that start with a timestamp ("2017-03-01 12:34:56,789")
//     get its time since the first op's (made strictly increasing by file
//     order); lines without one get synthetic times.
//   Nemesis ops keep their f, except a bare :start/:stop, which become
//     "start-nemesis"/"stop-nemesis" so the report shades the fault window.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checkers/history.h"
#include "checkers/jepsen/edn.h"

namespace faultline {

enum class JepsenFormat { kEdn, kLog };

// "jepsen-edn" / "jepsen-log"; nullopt for any other name.
std::optional<JepsenFormat> ParseJepsenFormat(std::string_view name);

// The key of every client op of a history without independent keys.
inline constexpr std::string_view kJepsenSingleKey = "k1";

// Synthetic time step when a history has no times: op i at i * kJepsenSyntheticStepNs.
inline constexpr int64_t kJepsenSyntheticStepNs = 1'000'000;

// Maps Jepsen ops onto faultline Ops, in history order (it keeps the state the
// mapping needs: the position, whether the history is keyed, each process's
// pending invoke). Errors throw HistoryError "line L column C: ...".
class JepsenOpMapper {
 public:
  // The fields of one op as read from either format. `where` points at the op
  // (its map, or the log line) for messages; `time` is nullopt when absent.
  struct Fields {
    const edn::Value* process = nullptr;
    const edn::Value* type = nullptr;
    const edn::Value* f = nullptr;
    const edn::Value* value = nullptr;  // nullptr: nil
    const edn::Value* error = nullptr;  // nullptr: none
    std::optional<int64_t> time;
    int32_t line = 0, column = 0;
  };

  // One op map of history.edn.
  Op MapEdn(const edn::Value& op);
  // One op from its fields (history.edn or a jepsen.log line).
  Op Map(const Fields& fields);
  // The error text for a :error value or a displaced completion value.
  static std::string ErrorText(const edn::Value& value);

 private:
  struct Pending {
    std::string key;
    nlohmann::json value;  // as mapped (the tuple's v when keyed)
  };
  enum class Keyed { kUndecided, kYes, kNo };
  enum class Times { kUndecided, kGiven, kSynthetic };

  void SetKeyAndValue(const Fields& fields, Op& op);
  void SetTime(const Fields& fields, Op& op);

  int64_t next_index_ = 0;
  Keyed keyed_ = Keyed::kUndecided;
  int32_t keyed_line_ = 0;  // the op that decided it, for messages
  Times times_ = Times::kUndecided;
  std::unordered_map<int64_t, Pending> pending_;  // process → its invoke's key and value
};

// Calls `fn` for every op of a Jepsen history held in `text`, in order.
// Throws HistoryError "line L column C: ..." for anything malformed. A
// malformed last line without a trailing newline (a crashed writer) is
// skipped with a warning instead, in the per-line forms (maps one after
// another; jepsen.log). jepsen.log lines without "jepsen.util - " followed by
// a tab-separated op are other log lines and are skipped.
void ForEachJepsenOp(std::string_view text, JepsenFormat format, const std::function<void(const Op&)>& fn,
                     std::vector<std::string>* warnings);

// The same on a file; messages are prefixed with the file's name.
void ForEachJepsenOpInFile(const std::filesystem::path& path, JepsenFormat format,
                           const std::function<void(const Op&)>& fn, std::vector<std::string>* warnings);

// Convenience for tests and small histories: every op in memory.
History ReadJepsenHistory(std::string_view text, JepsenFormat format, std::vector<std::string>* warnings = nullptr);

}  // namespace faultline
