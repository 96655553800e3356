// History: the operations a test recorded, in the public JSONL format of
// ARCHITECTURE.md ("History"), README "History format". One Op per line:
//   {"index":0,"time":1203456,"type":"invoke","process":3,"f":"add","key":"k1","value":17}
// Checkers are pure functions of a History; this header is all they see.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

// invoke: an op started. ok: it took effect. fail: it certainly did not.
// info: unknown (it may take effect later); its process never invokes again.
enum class OpType { kInvoke, kOk, kFail, kInfo };

std::string_view OpTypeName(OpType type);  // "invoke", "ok", "fail", "info"

// Process ids are integers; the nemesis is the string "nemesis" in the file.
inline constexpr int64_t kNemesisProcess = -1;

struct Op {
  int64_t index = 0;
  int64_t time = 0;  // nanoseconds since the test started (monotonic)
  OpType type = OpType::kInvoke;
  int64_t process = 0;  // kNemesisProcess for the nemesis
  std::string f;
  std::string key;       // empty when the line has none
  nlohmann::json value;  // null when the line has none
  std::string node;      // node that served it; empty when absent
  std::string error;     // why it failed / is unknown; empty when absent
};

using History = std::vector<Op>;

// Serializes one op as its JSONL line, without the trailing newline.
std::string ToJsonLine(const Op& op);

struct HistoryReadResult {
  History ops;
  std::vector<std::string> warnings;  // e.g. a truncated last line skipped
};

// Parses one line. Throws HistoryError naming what is wrong.
Op ParseOpLine(std::string_view line);

// Reads a whole history file into memory (ForEachOp in strict mode,
// collecting the ops). A truncated last line (a crashed writer) is skipped
// with a warning; any other malformed line throws HistoryError naming the
// file, the line number and the problem.
HistoryReadResult ReadHistory(const std::filesystem::path& path);

// Streams a history file: calls `fn` for each op in file order, reading the
// file in chunks (memory O(chunk + longest line), whatever the file's size).
// A truncated last line is skipped with a warning, as ReadHistory does. Any
// other malformed line throws HistoryError ("<file> line N: ...") unless
// `lenient`: then it is skipped with a warning "<file> line N: skipped: ..."
// and reading continues; `skipped_lines`, when non-null, counts those lines
// (not the truncated last one). Warnings are appended to `warnings` when
// non-null. Exceptions thrown by `fn` propagate. The Op passed to `fn` is only
// valid during the call.
void ForEachOp(const std::filesystem::path& path, const std::function<void(const Op&)>& fn,
               std::vector<std::string>* warnings, bool lenient = false, int64_t* skipped_lines = nullptr);

class HistoryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace faultline
