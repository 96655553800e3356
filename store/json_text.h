// JSON text helpers for the HTTP API's hot path: UTF-8 validation, and
// string escaping that writes exactly what nlohmann's dump() writes, so
// replies built by hand stay byte-identical to those built with nlohmann.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dynastore {

// Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool IsValidUtf8(std::string_view s);

// Appends `s` as a JSON string exactly as nlohmann's dump() writes valid
// UTF-8: '"', '\\' and control characters escaped (\b \f \n \r \t, others as
// \u00xx), everything else verbatim. Returns false, with `out` untouched,
// if `s` is not valid UTF-8 (the caller then uses nlohmann and its
// replacement rules).
bool AppendJsonString(std::string& out, std::string_view s);

// A PUT body in its common shape: one object holding "value" (a string)
// and perhaps "context" (a string or null), and nothing else.
struct PlainPutBody {
  std::string_view value;
  std::optional<std::string_view> context;  // absent or null: none
};
// Parses `body` with simdjson when it has that shape and its strings have
// no escapes and no control characters; the views point into a buffer of
// the calling thread, valid until its next call. False for anything else,
// valid or not: the caller then parses with nlohmann, whose checks and
// error messages are the API's. It saved a lone node 3-5% of its CPU per
// op (issue 19's note).
bool ParsePlainPutBody(std::string_view body, PlainPutBody& out);

}  // namespace dynastore
