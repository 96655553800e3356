#include "store/json_text.h"

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace dynastore {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and code points beyond Unicode.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

bool AppendJsonString(std::string& out, std::string_view s) {
  if (!IsValidUtf8(s)) return false;
  out.push_back('"');
  size_t run = 0;  // start of the current unescaped run
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out.append(buf, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
  return true;
}

namespace {

// A string member the fast path takes as it is: valid UTF-8 and no byte
// JSON forbids raw (escapes were ruled out before parsing).
bool Plain(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  return IsValidUtf8(s);
}

}  // namespace

bool ParsePlainPutBody(std::string_view body, PlainPutBody& out) {
  if (body.find('\\') != std::string_view::npos) return false;  // escapes: nlohmann decodes them
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;  // simdjson reads up to SIMDJSON_PADDING bytes past the end
  padded.assign(body);
  padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(padded.data(), padded.size(), padded.capacity()).get(doc) || doc.get_object().get(object)) {
    return false;
  }
  out = PlainPutBody{};
  bool have_value = false, have_context = false;
  for (auto field : object) {
    std::string_view key;
    simdjson::ondemand::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) return false;
    if (key == "value" && !have_value) {
      have_value = true;
      if (value.get_string().get(out.value) || !Plain(out.value)) return false;
    } else if (key == "context" && !have_context) {
      have_context = true;
      bool is_null = false;
      if (value.is_null().get(is_null)) return false;
      if (is_null) continue;
      std::string_view context;
      if (value.get_string().get(context) || !Plain(context)) return false;
      out.context = context;
    } else {
      return false;  // unknown or repeated: nlohmann says which
    }
  }
  // Nothing may follow the object: simdjson 3.0 says so by having no
  // location left in the document.
  return have_value && doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

}  // namespace dynastore
