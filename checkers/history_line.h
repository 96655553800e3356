// The one serializer of history lines, shared by ToJsonLine (checkers) and
// HistoryWriter (harness) so both produce byte-identical lines. Internal to
// the history format; checkers should use history.h.
//
// A line is  {"index":I,"time":T,<tail>  where <tail> is what
// AppendOpLineTail appends: "type", "process", "f", then "key", "value",
// "node", "error" when present, and the closing brace (no newline).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "checkers/history.h"

namespace faultline {

// Appends `s` as a JSON string literal (quotes included). Control characters
// are escaped as nlohmann::json does; invalid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

// Appends a JSON value: integers and plain strings on a fast path, anything
// else through nlohmann::json::dump (invalid UTF-8 replaced, not thrown).
void AppendJsonValue(std::string& out, const nlohmann::json& value);

// Appends the line from "type" on (see above).
void AppendOpLineTail(std::string& out, OpType type, int64_t process, std::string_view f, std::string_view key,
                      const nlohmann::json& value, std::string_view node, std::string_view error);

}  // namespace faultline
