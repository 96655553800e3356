#include "checkers/history.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "checkers/history_line.h"

namespace faultline {

using namespace std::string_view_literals;

namespace {

// The history line's fields, for the "missing" check.
enum Field : unsigned { kIndex = 1, kTime = 2, kType = 4, kProcess = 8, kF = 16 };

std::string_view ElementTypeName(simdjson::dom::element_type type) {
  using simdjson::dom::element_type;
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
      return "an integer";
    case element_type::DOUBLE:
      return "a non-integer number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "an unknown JSON type";
}

nlohmann::json ToNlohmann(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::INT64:
      return int64_t(e.get_int64().value_unsafe());
    case element_type::UINT64:
      return uint64_t(e.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return e.get_double().value_unsafe();
    case element_type::STRING:
      return std::string(e.get_string().value_unsafe());
    case element_type::BOOL:
      return e.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      return nullptr;
    case element_type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      simdjson::dom::array array;
      if (e.get_array().get(array)) return out;
      out.get_ref<nlohmann::json::array_t&>().reserve(array.size());
      for (simdjson::dom::element item : array) out.push_back(ToNlohmann(item));
      return out;
    }
    case element_type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      simdjson::dom::object object;
      if (e.get_object().get(object)) return out;
      for (auto field : object) out[std::string(field.key)] = ToNlohmann(field.value);
      return out;
    }
  }
  return nullptr;
}

[[noreturn]] void WrongType(std::string_view field, std::string_view expected, simdjson::dom::element e) {
  throw HistoryError(fmt::format("\"{}\" must be {}, got {}", field, expected, ElementTypeName(e.type())));
}

int64_t GetInteger(std::string_view field, simdjson::dom::element e) {
  if (e.type() != simdjson::dom::element_type::INT64) WrongType(field, "an integer (int64)", e);
  return e.get_int64().value_unsafe();
}

// A string field that may also be absent or null (then empty).
void GetOptionalString(std::string_view field, simdjson::dom::element e, std::string& out) {
  if (e.is_null()) {
    out.clear();
    return;
  }
  if (!e.is_string()) WrongType(field, "a string", e);
  out.assign(e.get_string().value_unsafe());
}

// Parses into `op`, reusing its buffers (the streaming reader's hot path).
// `data` must be followed by simdjson::SIMDJSON_PADDING readable bytes.
void ParsePaddedInto(simdjson::dom::parser& parser, const char* data, size_t size, Op& op) {
  simdjson::dom::element doc;
  if (auto error = parser.parse(data, size, false).get(doc)) {
    throw HistoryError(fmt::format("invalid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object)) {
    throw HistoryError(fmt::format("a history line must be a JSON object, got {}", ElementTypeName(doc.type())));
  }
  op.index = op.time = op.process = 0;
  op.type = OpType::kInvoke;
  op.f.clear();
  op.key.clear();
  op.value = nullptr;
  op.node.clear();
  op.error.clear();
  unsigned seen = 0;
  for (auto field : object) {
    std::string_view name = field.key;
    simdjson::dom::element value = field.value;
    if (name == "index") {
      op.index = GetInteger(name, value);
      seen |= kIndex;
    } else if (name == "time") {
      op.time = GetInteger(name, value);
      seen |= kTime;
    } else if (name == "type") {
      std::string_view type;
      if (value.get_string().get(type)) WrongType(name, "one of invoke, ok, fail, info", value);
      if (type == "invoke") {
        op.type = OpType::kInvoke;
      } else if (type == "ok") {
        op.type = OpType::kOk;
      } else if (type == "fail") {
        op.type = OpType::kFail;
      } else if (type == "info") {
        op.type = OpType::kInfo;
      } else {
        throw HistoryError(fmt::format("\"type\" must be one of invoke, ok, fail, info, got \"{}\"", type));
      }
      seen |= kType;
    } else if (name == "process") {
      if (value.is_string()) {
        if (value.get_string().value_unsafe() != "nemesis") {
          throw HistoryError(fmt::format("\"process\" must be an integer or \"nemesis\", got \"{}\"",
                                         value.get_string().value_unsafe()));
        }
        op.process = kNemesisProcess;
      } else if (value.type() == simdjson::dom::element_type::INT64) {
        op.process = value.get_int64().value_unsafe();
        if (op.process < 0) throw HistoryError(fmt::format("\"process\" must not be negative, got {}", op.process));
      } else {
        WrongType(name, "an integer or \"nemesis\"", value);
      }
      seen |= kProcess;
    } else if (name == "f") {
      if (!value.is_string()) WrongType(name, "a string", value);
      op.f.assign(value.get_string().value_unsafe());
      seen |= kF;
    } else if (name == "key") {
      GetOptionalString(name, value, op.key);
    } else if (name == "value") {
      op.value = ToNlohmann(value);
    } else if (name == "node") {
      GetOptionalString(name, value, op.node);
    } else if (name == "error") {
      GetOptionalString(name, value, op.error);
    }
    // Other fields are ignored, so later versions of the format can add some.
  }
  if (seen != (kIndex | kTime | kType | kProcess | kF)) {
    static constexpr std::pair<unsigned, std::string_view> kRequired[] = {
        {kIndex, "index"}, {kTime, "time"}, {kType, "type"}, {kProcess, "process"}, {kF, "f"}};
    for (auto [bit, name] : kRequired) {
      if (!(seen & bit)) throw HistoryError(fmt::format("missing \"{}\"", name));
    }
  }
}

Op ParsePadded(simdjson::dom::parser& parser, const char* data, size_t size) {
  Op op;
  ParsePaddedInto(parser, data, size, op);
  return op;
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

}  // namespace

std::string_view OpTypeName(OpType type) {
  switch (type) {
    case OpType::kInvoke:
      return "invoke";
    case OpType::kOk:
      return "ok";
    case OpType::kFail:
      return "fail";
    case OpType::kInfo:
      break;
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Non-ASCII: let nlohmann validate the UTF-8 (same output as its dump()).
      out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  out.push_back('"');
  size_t plain_from = 0;
  auto flush_plain = [&](size_t to) { out.append(s.data() + plain_from, to - plain_from); };
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    flush_plain(i);
    plain_from = i + 1;
    switch (c) {
      case '"':
        out += "\\\""sv;
        break;
      case '\\':
        out += "\\\\"sv;
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    }
  }
  flush_plain(s.size());
  out.push_back('"');
}

void AppendJsonValue(std::string& out, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::number_integer: {
      fmt::format_int text(value.get<int64_t>());
      out.append(text.data(), text.size());
      return;
    }
    case nlohmann::json::value_t::number_unsigned: {
      fmt::format_int text(value.get<uint64_t>());
      out.append(text.data(), text.size());
      return;
    }
    case nlohmann::json::value_t::string:
      AppendJsonString(out, value.get_ref<const std::string&>());
      return;
    default:
      out += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

// Hot path of the writer: string_view literals, so no strlen per append.
void AppendOpLineTail(std::string& out, OpType type, int64_t process, std::string_view f, std::string_view key,
                      const nlohmann::json& value, std::string_view node, std::string_view error) {
  out += "\"type\":\""sv;
  out += OpTypeName(type);
  if (process == kNemesisProcess) {
    out += "\",\"process\":\"nemesis\",\"f\":"sv;
  } else {
    out += "\",\"process\":"sv;
    fmt::format_int text(process);
    out.append(text.data(), text.size());
    out += ",\"f\":"sv;
  }
  AppendJsonString(out, f);
  if (!key.empty()) {
    out += ",\"key\":"sv;
    AppendJsonString(out, key);
  }
  if (!value.is_null()) {
    out += ",\"value\":"sv;
    AppendJsonValue(out, value);
  }
  if (!node.empty()) {
    out += ",\"node\":"sv;
    AppendJsonString(out, node);
  }
  if (!error.empty()) {
    out += ",\"error\":"sv;
    AppendJsonString(out, error);
  }
  out.push_back('}');
}

std::string ToJsonLine(const Op& op) {
  std::string out;
  out.reserve(128);
  fmt::format_to(std::back_inserter(out), "{{\"index\":{},\"time\":{},", op.index, op.time);
  AppendOpLineTail(out, op.type, op.process, op.f, op.key, op.value, op.node, op.error);
  return out;
}

Op ParseOpLine(std::string_view line) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(line);
  return ParsePadded(parser, padded.data(), padded.size());
}

HistoryReadResult ReadHistory(const std::filesystem::path& path) {
  HistoryReadResult result;
  ForEachOp(
      path, [&](const Op& op) { result.ops.push_back(op); }, &result.warnings);
  return result;
}

void ForEachOp(const std::filesystem::path& path, const std::function<void(const Op&)>& fn,
               std::vector<std::string>* warnings, bool lenient, int64_t* skipped_lines) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    throw HistoryError(fmt::format("cannot read history {}: {}", path.string(), std::strerror(errno)));
  }
  auto warn = [&](std::string message) {
    if (warnings != nullptr) warnings->push_back(std::move(message));
  };
  // Lines are parsed in place: every line is followed by SIMDJSON_PADDING
  // readable bytes of the buffer (the next lines' or the slack at the end).
  constexpr size_t kChunk = size_t{4} << 20;
  std::vector<char> buffer(kChunk + simdjson::SIMDJSON_PADDING);
  size_t have = 0;  // bytes of buffer holding file content (a partial line carried over, then the new chunk)
  int64_t line_number = 0;
  simdjson::dom::parser parser;
  Op op;
  // `last`: the file's final line, with no newline after it.
  auto handle_line = [&](size_t start, size_t end, bool last) {
    ++line_number;
    std::string_view line(buffer.data() + start, end - start);
    if (IsBlank(line)) return;
    try {
      ParsePaddedInto(parser, line.data(), line.size(), op);
    } catch (const HistoryError& e) {
      if (last) {
        // A crashed writer leaves at most a truncated last line.
        warn(fmt::format("{} line {}: last line skipped (truncated?): {}", path.string(), line_number, e.what()));
      } else if (lenient) {
        warn(fmt::format("{} line {}: skipped: {}", path.string(), line_number, e.what()));
        if (skipped_lines != nullptr) ++*skipped_lines;
      } else {
        throw HistoryError(fmt::format("{} line {}: {}", path.string(), line_number, e.what()));
      }
      return;
    }
    fn(op);
  };
  while (true) {
    if (buffer.size() < have + kChunk + simdjson::SIMDJSON_PADDING) {
      buffer.resize(have + kChunk + simdjson::SIMDJSON_PADDING);  // a line longer than a chunk
    }
    const size_t got = std::fread(buffer.data() + have, 1, kChunk, file.get());
    if (got < kChunk && std::ferror(file.get())) {
      throw HistoryError(fmt::format("cannot read history {}: {}", path.string(), std::strerror(errno)));
    }
    const size_t scanned_from = have;
    have += got;
    size_t pos = 0;
    // Only the new bytes can hold the carried-over line's end.
    const char* search = buffer.data() + scanned_from;
    while (const char* newline = static_cast<const char*>(std::memchr(search, '\n', buffer.data() + have - search))) {
      const size_t end = size_t(newline - buffer.data());
      handle_line(pos, end, false);
      pos = end + 1;
      search = newline + 1;
    }
    if (got == 0) {
      if (pos < have) handle_line(pos, have, true);
      return;
    }
    std::memmove(buffer.data(), buffer.data() + pos, have - pos);
    have -= pos;
  }
}

}  // namespace faultline
