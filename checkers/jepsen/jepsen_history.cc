#include "checkers/jepsen/jepsen_history.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace faultline {

namespace {

using edn::Kind;
using edn::Value;

[[noreturn]] void FailAt(int32_t line, int32_t column, const std::string& what) {
  throw HistoryError(fmt::format("line {} column {}: {}", line, column, what));
}
[[noreturn]] void FailAt(const Value& at, const std::string& what) { FailAt(at.line, at.column, what); }

// [k v] with k an integer, string or keyword; for cas v must be [old new].
bool IsTuple(const Value* v, std::string_view f) {
  if (v == nullptr || v->kind != Kind::kVector || v->items.size() != 2) return false;
  const Kind k = v->items[0].kind;
  if (k != Kind::kInt && k != Kind::kString && k != Kind::kKeyword) return false;
  const Value& inner = v->items[1];
  return f != "cas" || (inner.kind == Kind::kVector && inner.items.size() == 2);
}

std::string KeyText(const Value& k) { return k.kind == Kind::kInt ? std::to_string(k.integer) : k.text; }

OpType TypeOf(const Value* v, int32_t line, int32_t column) {
  if (v == nullptr) FailAt(line, column, "op has no :type");
  if (v->kind == Kind::kKeyword) {
    if (v->text == "invoke") return OpType::kInvoke;
    if (v->text == "ok") return OpType::kOk;
    if (v->text == "fail") return OpType::kFail;
    if (v->text == "info") return OpType::kInfo;
  }
  FailAt(*v, fmt::format(":type must be :invoke, :ok, :fail or :info, got {}", edn::ToEdn(*v)));
}

int64_t ProcessOf(const Value* v, int32_t line, int32_t column) {
  if (v == nullptr) FailAt(line, column, "op has no :process");
  if (v->kind == Kind::kInt && v->integer >= 0) return v->integer;
  if (v->IsKeyword("nemesis")) return kNemesisProcess;
  FailAt(*v, fmt::format(":process must be an integer >= 0 or :nemesis, got {}", edn::ToEdn(*v)));
}

std::string FOf(const Value* v, int32_t line, int32_t column) {
  if (v == nullptr) FailAt(line, column, "op has no :f");
  if (v->kind == Kind::kKeyword || v->kind == Kind::kString) return v->text;
  FailAt(*v, fmt::format(":f must be a keyword or a string, got {}", edn::ToEdn(*v)));
}

}  // namespace

std::optional<JepsenFormat> ParseJepsenFormat(std::string_view name) {
  if (name == "jepsen-edn") return JepsenFormat::kEdn;
  if (name == "jepsen-log") return JepsenFormat::kLog;
  return std::nullopt;
}

std::string JepsenOpMapper::ErrorText(const Value& value) {
  if (value.kind == Kind::kString || value.kind == Kind::kKeyword) return value.text;
  return edn::ToEdn(value);
}

Op JepsenOpMapper::MapEdn(const Value& op) {
  if (op.kind != Kind::kMap) {
    FailAt(op, fmt::format("expected an op map {{:type ...}}, got {}", edn::KindName(op.kind)));
  }
  Fields fields;
  fields.line = op.line;
  fields.column = op.column;
  const Value* time = nullptr;
  const Value* index = nullptr;
  const std::pair<std::string_view, const Value**> known[] = {
      {"process", &fields.process}, {"type", &fields.type}, {"f", &fields.f},  {"value", &fields.value},
      {"error", &fields.error},     {"time", &time},        {"index", &index},
  };
  for (size_t i = 0; i + 1 < op.items.size(); i += 2) {
    const Value& key = op.items[i];
    if (key.kind != Kind::kKeyword) continue;
    for (const auto& [name, slot] : known) {
      if (key.text != name) continue;
      if (*slot != nullptr) FailAt(key, fmt::format("duplicate key :{} in op map", name));
      *slot = &op.items[i + 1];
    }
  }
  if (fields.value != nullptr && fields.value->kind == Kind::kNil) fields.value = nullptr;
  if (fields.error != nullptr && fields.error->kind == Kind::kNil) fields.error = nullptr;
  if (index != nullptr && index->kind != Kind::kInt) {
    FailAt(*index, fmt::format(":index must be an integer, got {}", edn::ToEdn(*index)));
  }
  if (time != nullptr) {
    if (time->kind != Kind::kInt) FailAt(*time, fmt::format(":time must be an integer, got {}", edn::ToEdn(*time)));
    fields.time = time->integer;
  }
  return Map(fields);
}

Op JepsenOpMapper::Map(const Fields& fields) {
  Op op;
  op.type = TypeOf(fields.type, fields.line, fields.column);
  op.process = ProcessOf(fields.process, fields.line, fields.column);
  op.f = FOf(fields.f, fields.line, fields.column);
  op.index = next_index_++;
  SetTime(fields, op);
  if (fields.error != nullptr) op.error = ErrorText(*fields.error);
  if (op.process == kNemesisProcess) {
    if (op.f == "start" || op.f == "stop") op.f += "-nemesis";  // a fault named "nemesis": the report shades it
    if (fields.value != nullptr) op.value = edn::ToJson(*fields.value);
    return op;
  }
  SetKeyAndValue(fields, op);
  return op;
}

void JepsenOpMapper::SetTime(const Fields& fields, Op& op) {
  if (fields.time) {
    if (times_ == Times::kSynthetic) FailAt(fields.line, fields.column, "op has a :time but earlier ops have none");
    times_ = Times::kGiven;
    op.time = *fields.time;
  } else {
    if (times_ == Times::kGiven) FailAt(fields.line, fields.column, "op has no :time but earlier ops have one");
    times_ = Times::kSynthetic;
    op.time = op.index * kJepsenSyntheticStepNs;
  }
}

void JepsenOpMapper::SetKeyAndValue(const Fields& fields, Op& op) {
  const Value* value = fields.value;
  std::optional<std::string> invoke_key;  // of the invoke an ok completes
  if (op.type != OpType::kInvoke) {
    const auto pending = pending_.find(op.process);
    if (pending != pending_.end()) {
      // A fail/info completion (and an ok write/cas that echoes nothing) stands for its invoke's value.
      if (op.type != OpType::kOk || (value == nullptr && op.f != "read")) {
        if (value != nullptr && op.error.empty()) {
          const bool same = keyed_ == Keyed::kYes
                                ? IsTuple(value, op.f) && KeyText(value->items[0]) == pending->second.key &&
                                      edn::ToJson(value->items[1]) == pending->second.value
                                : edn::ToJson(*value) == pending->second.value;
          if (!same) op.error = ErrorText(*value);
        }
        op.key = std::move(pending->second.key);
        op.value = std::move(pending->second.value);
        pending_.erase(pending);
        return;
      }
      invoke_key = std::move(pending->second.key);
      pending_.erase(pending);
    }
  }
  bool split = false;  // value is a tuple taken apart
  {
    const bool decides = op.type == OpType::kInvoke || op.type == OpType::kOk;
    if (keyed_ == Keyed::kUndecided && decides) {
      keyed_ = IsTuple(value, op.f) ? Keyed::kYes : Keyed::kNo;
      keyed_line_ = fields.line;
    }
    if (keyed_ == Keyed::kYes) {
      if (IsTuple(value, op.f)) {
        split = true;
      } else if (decides) {
        FailAt(value != nullptr ? value->line : fields.line, value != nullptr ? value->column : fields.column,
               fmt::format("{} value {} is not an independent-key tuple [key value]{}, but the history is keyed "
                           "(decided by the op at line {})",
                           op.f, value != nullptr ? edn::ToEdn(*value) : "nil",
                           op.f == "cas" ? " with value [old new]" : "", keyed_line_));
      }  // else a fail/info completion without its invoke: kept whole, without a key
    } else {
      op.key = kJepsenSingleKey;
    }
  }
  if (split) {
    op.key = KeyText(value->items[0]);
    op.value = edn::ToJson(value->items[1]);
    if (invoke_key && *invoke_key != op.key) {
      FailAt(*value, fmt::format("completion of key {} by process {}, whose invoke was of key {}", op.key, op.process,
                                 *invoke_key));
    }
  } else if (value != nullptr) {
    op.value = edn::ToJson(*value);
  }
  if (op.type == OpType::kInvoke) pending_[op.process] = Pending{op.key, op.value};
}

namespace {

// A parse error in the last line of a text without a trailing newline: a
// crashed writer's truncated line, skipped with a warning.
bool InTruncatedLastLine(std::string_view text, size_t offset) {
  if (text.empty() || text.back() == '\n') return false;
  const size_t last_newline = text.rfind('\n');
  return last_newline == std::string_view::npos || offset > last_newline;
}

void ForEachEdnOp(std::string_view text, const std::function<void(const Op&)>& fn, std::vector<std::string>* warnings) {
  edn::Reader reader(text);
  JepsenOpMapper mapper;
  const char first = reader.Peek();
  if (first == '[' || first == '(') {  // one vector (or list) of op maps: it must be whole
    const int32_t line = reader.line(), column = reader.column();
    const char close = first == '[' ? ']' : ')';
    reader.Consume(first);
    while (!reader.Consume(close)) {
      if (reader.Peek() == '\0') FailAt(line, column, fmt::format("the history's '{}' is not closed", first));
      fn(mapper.MapEdn(reader.Read()));
    }
    if (reader.Peek() != '\0') reader.Fail(fmt::format("text after the history's closing '{}'", close));
    return;
  }
  while (reader.Peek() != '\0') {  // op maps one after another (one per line, as Jepsen writes them)
    const size_t start = reader.offset();
    Value op;
    try {
      op = reader.Read();
    } catch (const edn::ParseError& e) {
      if (!InTruncatedLastLine(text, start)) throw;
      if (warnings != nullptr) warnings->push_back(fmt::format("{} (a truncated last line, skipped)", e.what()));
      return;
    }
    fn(mapper.MapEdn(op));
  }
}

// "2017-03-01 12:34:56,789" (or '.' before the milliseconds, 'T' between
// date and time) at the start of a log line, as nanoseconds since the epoch.
std::optional<int64_t> LogTimestamp(std::string_view line) {
  if (line.size() < 23) return std::nullopt;
  static constexpr std::string_view kPattern = "dddd-dd-dd dd:dd:dd,ddd";
  int64_t n[7] = {};
  int field = 0;
  for (size_t i = 0; i < kPattern.size(); ++i) {
    const char c = line[i];
    if (kPattern[i] == 'd') {
      if (c < '0' || c > '9') return std::nullopt;
      n[field] = n[field] * 10 + (c - '0');
    } else {
      const bool ok = c == kPattern[i] || (i == 10 && c == 'T') || (i == 19 && c == '.');
      if (!ok) return std::nullopt;
      ++field;
    }
  }
  using namespace std::chrono;
  const year_month_day date{year(static_cast<int>(n[0])), month(static_cast<unsigned>(n[1])),
                            day(static_cast<unsigned>(n[2]))};
  if (!date.ok()) return std::nullopt;
  const int64_t days = sys_days(date).time_since_epoch().count();
  return (((days * 24 + n[3]) * 60 + n[4]) * 60 + n[5]) * 1'000'000'000 + n[6] * 1'000'000;
}

// Reads one tab-separated field of an op line as one EDN form; `column` is
// the field's 1-based column in the line.
Value ReadField(std::string_view field, int32_t line, int32_t column, std::string_view what) {
  edn::Reader reader(field, line, column);
  if (reader.Peek() == '\0') FailAt(line, column, fmt::format("the {} field is empty", what));
  Value v = reader.Read();
  if (reader.Peek() != '\0') reader.Fail(fmt::format("unexpected text after the {}", what));
  return v;
}

// Whether the text after "jepsen.util - " is an op with space-aligned
// fields ("3   :invoke :cas    [1 2]": a process, integer or :nemesis, then
// an op type), not a log message.
bool IsSpacedOpLine(std::string_view rest) {
  auto token = [&rest]() {
    const size_t b = rest.find_first_not_of(' ');
    if (b == std::string_view::npos) return std::string_view();
    const size_t e = rest.find(' ', b);
    const std::string_view t = rest.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b);
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e);
    return t;
  };
  const std::string_view process = token();
  const bool is_process =
      process == ":nemesis" || (!process.empty() && process.find_first_not_of("0123456789") == std::string_view::npos);
  const std::string_view type = token();
  return is_process && (type == ":invoke" || type == ":ok" || type == ":fail" || type == ":info");
}

class LogReader {
 public:
  LogReader(const std::function<void(const Op&)>& fn) : fn_(fn) {}

  // One line; `number` 1-based. Lines that are not op lines are skipped.
  void Line(std::string_view line, int32_t number) {
    static constexpr std::string_view kMarker = "jepsen.util - ";
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t marker = line.find(kMarker);
    if (marker == std::string_view::npos) return;
    const size_t start = marker + kMarker.size();
    const std::string_view rest = line.substr(start);
    if (rest.find('\t') == std::string_view::npos) {
      if (IsSpacedOpLine(rest)) SpacedLine(line, rest, number, start);
      return;  // else a message, not an op
    }
    size_t tabs[3];
    size_t at = 0;
    for (size_t& tab : tabs) {
      tab = rest.find('\t', at);
      if (tab == std::string_view::npos) {
        FailAt(number, static_cast<int32_t>(start + 1),
               "an op line needs 4 tab-separated fields after \"jepsen.util - \": process, type, f, value");
      }
      at = tab + 1;
    }
    auto column = [&](size_t offset) { return static_cast<int32_t>(start + offset + 1); };
    const Value process = ReadField(rest.substr(0, tabs[0]), number, column(0), "process");
    const Value type = ReadField(rest.substr(tabs[0] + 1, tabs[1] - tabs[0] - 1), number, column(tabs[0] + 1), "type");
    const Value f = ReadField(rest.substr(tabs[1] + 1, tabs[2] - tabs[1] - 1), number, column(tabs[1] + 1), "f");
    // The value, then optionally a tab and the error text.
    const std::string_view tail = rest.substr(tabs[2] + 1);
    edn::Reader reader(tail, number, column(tabs[2] + 1));
    if (reader.Peek() == '\0') FailAt(number, column(tabs[2] + 1), "the value field is empty");
    const Value value = reader.Read();
    size_t end = reader.offset();
    while (end < tail.size() && tail[end] == ' ') ++end;
    Value error;
    if (end < tail.size()) {
      if (tail[end] != '\t') FailAt(number, column(tabs[2] + 1 + end), "unexpected text after the value");
      error.kind = Kind::kString;
      error.text = tail.substr(end + 1);
    }
    Emit(process, type, f, value, error, line, number, column(0));
  }

  // A log line padded with spaces: the fields are consecutive EDN forms, and
  // whatever follows the value is the op's error text.
  void SpacedLine(std::string_view line, std::string_view rest, int32_t number, size_t start) {
    const int32_t column = static_cast<int32_t>(start + 1);
    edn::Reader reader(rest, number, column);
    const Value process = reader.Read();
    const Value type = reader.Read();
    if (reader.Peek() == '\0') FailAt(number, column + int32_t(reader.offset()), "the f field is missing");
    const Value f = reader.Read();
    if (reader.Peek() == '\0') FailAt(number, column + int32_t(reader.offset()), "the value field is empty");
    const Value value = reader.Read();
    size_t end = reader.offset();
    while (end < rest.size() && rest[end] == ' ') ++end;
    Value error;
    if (end < rest.size()) {
      error.kind = Kind::kString;
      error.text = rest.substr(end);
    }
    Emit(process, type, f, value, error, line, number, column);
  }

  void Emit(const Value& process, const Value& type, const Value& f, const Value& value, const Value& error,
            std::string_view line, int32_t number, int32_t column) {
    JepsenOpMapper::Fields fields;
    fields.process = &process;
    fields.type = &type;
    fields.f = &f;
    fields.value = value.kind == Kind::kNil ? nullptr : &value;
    fields.error = error.text.empty() ? nullptr : &error;
    fields.line = number;
    fields.column = column;
    if (const std::optional<int64_t> stamp = LogTimestamp(line)) {
      if (!first_stamp_) first_stamp_ = *stamp;
      // Milliseconds only: equal stamps keep file order, 1 ns apart.
      last_time_ = std::max(*stamp - *first_stamp_, last_time_ + 1);
      fields.time = last_time_;
    }
    fn_(mapper_.Map(fields));
  }

 private:
  const std::function<void(const Op&)>& fn_;
  JepsenOpMapper mapper_;
  std::optional<int64_t> first_stamp_;
  int64_t last_time_ = -1;
};

void ForEachLogOp(std::string_view text, const std::function<void(const Op&)>& fn, std::vector<std::string>* warnings) {
  LogReader reader(fn);
  int32_t number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    const bool last_unterminated = end == std::string_view::npos;
    if (last_unterminated) end = text.size();
    ++number;
    try {
      reader.Line(text.substr(pos, end - pos), number);
    } catch (const std::runtime_error& e) {  // HistoryError or edn::ParseError; not the caller's exceptions
      if (!last_unterminated || !(dynamic_cast<const HistoryError*>(&e) || dynamic_cast<const edn::ParseError*>(&e))) {
        throw;
      }
      if (warnings != nullptr) warnings->push_back(fmt::format("{} (a truncated last line, skipped)", e.what()));
    }
    pos = end + 1;
  }
}

}  // namespace

void ForEachJepsenOp(std::string_view text, JepsenFormat format, const std::function<void(const Op&)>& fn,
                     std::vector<std::string>* warnings) {
  try {
    if (format == JepsenFormat::kEdn) {
      ForEachEdnOp(text, fn, warnings);
    } else {
      ForEachLogOp(text, fn, warnings);
    }
  } catch (const edn::ParseError& e) {
    throw HistoryError(e.what());
  }
}

namespace {

// A file's bytes: mapped when it is a regular non-empty file (no copy; pages
// come and go with the page cache), read into `copy` otherwise (pipes).
class FileText {
 public:
  explicit FileText(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw HistoryError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    struct stat st = {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        map_ = p;
        size_ = static_cast<size_t>(st.st_size);
        ::madvise(p, size_, MADV_SEQUENTIAL);
        ::close(fd);
        return;
      }
    }
    char buffer[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) copy_.append(buffer, static_cast<size_t>(n));
    }
    const int error = errno;
    ::close(fd);
    if (n < 0) throw HistoryError(fmt::format("{}: read error: {}", path.string(), std::strerror(error)));
  }
  ~FileText() {
    if (map_ != nullptr) ::munmap(map_, size_);
  }
  FileText(const FileText&) = delete;
  FileText& operator=(const FileText&) = delete;
  std::string_view text() const {
    return map_ != nullptr ? std::string_view(static_cast<const char*>(map_), size_) : std::string_view(copy_);
  }

 private:
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string copy_;
};

}  // namespace

void ForEachJepsenOpInFile(const std::filesystem::path& path, JepsenFormat format,
                           const std::function<void(const Op&)>& fn, std::vector<std::string>* warnings) {
  const FileText file(path);
  const std::string_view text = file.text();
  std::vector<std::string> local;
  try {
    ForEachJepsenOp(text, format, fn, &local);
  } catch (const HistoryError& e) {
    throw HistoryError(fmt::format("{} {}", path.string(), e.what()));
  }
  if (warnings != nullptr) {
    for (std::string& w : local) warnings->push_back(fmt::format("{} {}", path.string(), w));
  }
}

History ReadJepsenHistory(std::string_view text, JepsenFormat format, std::vector<std::string>* warnings) {
  History ops;
  ForEachJepsenOp(
      text, format, [&](const Op& op) { ops.push_back(op); }, warnings);
  return ops;
}

}  // namespace faultline
