// JSON text helpers for the HTTP API's hot path: UTF-8 validation, and
// string escaping that writes exactly what nlohmann's dump() writes, so
// replies built by hand stay byte-identical to those built with nlohmann.
#pragma once

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

}  // namespace dynastore
