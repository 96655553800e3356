#include "checkers/jepsen/edn.h"

#include <fmt/format.h>

#include <charconv>

namespace faultline::edn {

namespace {

constexpr int kMaxDepth = 256;  // deeper nesting is not a history; it would only risk the stack

// Character classes by table lookup: the scanner's inner loops ask per character.
enum CharClass : uint8_t { kSpace = 1, kDigit = 2, kAlpha = 4, kTokenPunct = 8 };
struct CharTable {
  uint8_t of[256] = {};
  constexpr CharTable() {
    for (char c : std::string_view(" ,\n\t\r\f")) of[static_cast<uint8_t>(c)] = kSpace;
    for (int c = '0'; c <= '9'; ++c) of[c] = kDigit;
    for (int c = 'a'; c <= 'z'; ++c) of[c] = kAlpha;
    for (int c = 'A'; c <= 'Z'; ++c) of[c] = kAlpha;
    // The other characters EDN allows in symbols and keywords.
    for (char c : std::string_view(".*+!-_?$%&=<>/':#")) of[static_cast<uint8_t>(c)] = kTokenPunct;
  }
};
constexpr CharTable kChars;
uint8_t ClassOf(char c) { return kChars.of[static_cast<uint8_t>(c)]; }
bool IsSpace(char c) { return ClassOf(c) == kSpace; }
bool IsDigit(char c) { return ClassOf(c) == kDigit; }
bool IsAlnum(char c) { return (ClassOf(c) & (kDigit | kAlpha)) != 0; }
bool IsTokenChar(char c) { return (ClassOf(c) & (kDigit | kAlpha | kTokenPunct)) != 0; }

int HexDigit(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void PrintString(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  out += '"';
}

void Print(std::string& out, const Value& v) {
  switch (v.kind) {
    case Kind::kNil:
      out += "nil";
      return;
    case Kind::kBool:
      out += v.boolean ? "true" : "false";
      return;
    case Kind::kInt:
      out += std::to_string(v.integer);
      return;
    case Kind::kFloat:
      out += fmt::format("{}", v.number);
      return;
    case Kind::kString:
      PrintString(out, v.text);
      return;
    case Kind::kKeyword:
      out += ':';
      out += v.text;
      return;
    case Kind::kVector:
    case Kind::kList:
    case Kind::kMap:
    case Kind::kSet:
      break;
  }
  const char* open = v.kind == Kind::kVector ? "[" : v.kind == Kind::kList ? "(" : v.kind == Kind::kMap ? "{" : "#{";
  const char close = v.kind == Kind::kVector ? ']' : v.kind == Kind::kList ? ')' : '}';
  out += open;
  for (size_t i = 0; i < v.items.size(); ++i) {
    if (i > 0) out += (v.kind == Kind::kMap && i % 2 == 0) ? ", " : " ";
    Print(out, v.items[i]);
  }
  out += close;
}

}  // namespace

const Value* Value::Find(std::string_view name) const {
  if (kind != Kind::kMap) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].IsKeyword(name)) return &items[i + 1];
  }
  return nullptr;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kNil:
      return "nil";
    case Kind::kBool:
      return "a boolean";
    case Kind::kInt:
      return "an integer";
    case Kind::kFloat:
      return "a float";
    case Kind::kString:
      return "a string";
    case Kind::kKeyword:
      return "a keyword";
    case Kind::kVector:
      return "a vector";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
      return "a map";
    case Kind::kSet:
      return "a set";
  }
  return "an unknown form";
}

std::string ToEdn(const Value& value) {
  std::string out;
  Print(out, value);
  return out;
}

nlohmann::json ToJson(const Value& v) {
  switch (v.kind) {
    case Kind::kNil:
      return nullptr;
    case Kind::kBool:
      return v.boolean;
    case Kind::kInt:
      return v.integer;
    case Kind::kFloat:
      return v.number;
    case Kind::kString:
    case Kind::kKeyword:
      return v.text;
    case Kind::kVector:
    case Kind::kList:
    case Kind::kSet: {
      nlohmann::json out = nlohmann::json::array();
      out.get_ref<nlohmann::json::array_t&>().reserve(v.items.size());
      for (const Value& item : v.items) out.push_back(ToJson(item));
      return out;
    }
    case Kind::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (size_t i = 0; i + 1 < v.items.size(); i += 2) {
        const Value& key = v.items[i];
        const bool named = key.kind == Kind::kString || key.kind == Kind::kKeyword;
        out[named ? key.text : ToEdn(key)] = ToJson(v.items[i + 1]);
      }
      return out;
    }
  }
  return nullptr;
}

ParseError::ParseError(int32_t line, int32_t column, const std::string& what)
    : std::runtime_error(fmt::format("line {} column {}: {}", line, column, what)), line_(line), column_(column) {}

Reader::Reader(std::string_view text, int32_t first_line, int32_t first_column)
    : text_(text), line_(first_line), column_base_(first_column) {}

void Reader::Fail(const std::string& what) const { throw ParseError(line(), column(), what); }

void Reader::SkipSpace() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c == '\n') {
      NewLine(++pos_);
    } else if (IsSpace(c)) {
      ++pos_;
    } else if (c == ';') {
      const size_t end = text_.find('\n', pos_);
      pos_ = end == std::string_view::npos ? text_.size() : end;
    } else if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '_') {
      pos_ += 2;
      ReadAt(0);  // discarded
    } else {
      return;
    }
  }
}

char Reader::Peek() {
  SkipSpace();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool Reader::Consume(char c) {
  if (Peek() != c || pos_ >= text_.size()) return false;
  ++pos_;
  return true;
}

Value Reader::Read() { return ReadAt(0); }

Value Reader::ReadAt(int depth) {
  SkipSpace();
  if (pos_ >= text_.size()) Fail("the text ends where a form was expected");
  if (depth > kMaxDepth) Fail(fmt::format("forms nested deeper than {} levels", kMaxDepth));
  Value out;
  out.line = line();
  out.column = column();
  const char c = text_[pos_];
  switch (c) {
    case '[':
      ++pos_;
      out.kind = Kind::kVector;
      ReadCollection(out, ']', depth);
      return out;
    case '(':
      ++pos_;
      out.kind = Kind::kList;
      ReadCollection(out, ')', depth);
      return out;
    case '{':
      ++pos_;
      out.kind = Kind::kMap;
      ReadCollection(out, '}', depth);
      return out;
    case '"':
      ReadString(out);
      return out;
    case '#':
      ReadDispatch(out, depth);
      return out;
    case ']':
    case ')':
    case '}':
      Fail(fmt::format("unexpected '{}' (nothing open to close)", c));
    case '\\':
      Fail("character literals (\\c) are not supported; write a string");
    case '\'':
    case '`':
    case '~':
    case '@':
    case '^':
      Fail(fmt::format("reader macro '{}' is not supported", c));
    default:
      break;
  }
  if (!IsTokenChar(c)) {
    Fail(fmt::format("unexpected character '{}'", (static_cast<unsigned char>(c) < 0x20) ? '?' : c));
  }
  ReadToken(out);
  return out;
}

void Reader::ReadCollection(Value& out, char close, int depth) {
  const int32_t line0 = out.line, column0 = out.column;
  out.items.reserve(out.kind == Kind::kMap ? 12 : 4);
  while (true) {
    SkipSpace();
    if (pos_ >= text_.size()) {
      throw ParseError(line0, column0, fmt::format("{} opened here is not closed", KindName(out.kind)));
    }
    const char c = text_[pos_];
    if (c == close) {
      ++pos_;
      break;
    }
    if (c == ']' || c == ')' || c == '}') {
      Fail(fmt::format("'{}' closes {} opened at line {} column {}, which needs '{}'", c, KindName(out.kind), line0,
                       column0, close));
    }
    out.items.push_back(ReadAt(depth + 1));
  }
  if (out.kind == Kind::kMap && out.items.size() % 2 != 0) {
    throw ParseError(line0, column0, "map has a key without a value (an odd number of forms)");
  }
}

void Reader::ReadString(Value& out) {
  const int32_t line0 = out.line, column0 = out.column;
  ++pos_;  // the opening quote
  out.kind = Kind::kString;
  while (true) {
    // Copy the plain run up to the next quote, backslash or newline in one go.
    size_t run = pos_;
    while (run < text_.size() && text_[run] != '"' && text_[run] != '\\' && text_[run] != '\n') ++run;
    out.text.append(text_.data() + pos_, run - pos_);
    pos_ = run;
    if (pos_ >= text_.size()) throw ParseError(line0, column0, "string opened here is not closed");
    const char c = text_[pos_];
    if (c == '"') {
      ++pos_;
      return;
    }
    if (c == '\n') {  // EDN strings may span lines
      out.text += '\n';
      NewLine(++pos_);
      continue;
    }
    if (pos_ + 1 >= text_.size()) throw ParseError(line0, column0, "string opened here is not closed");
    const char e = text_[pos_ + 1];
    switch (e) {
      case '"':
        out.text += '"';
        break;
      case '\\':
        out.text += '\\';
        break;
      case 'n':
        out.text += '\n';
        break;
      case 't':
        out.text += '\t';
        break;
      case 'r':
        out.text += '\r';
        break;
      case 'b':
        out.text += '\b';
        break;
      case 'f':
        out.text += '\f';
        break;
      case 'u': {
        auto hex4 = [&](size_t at) -> int32_t {
          if (at + 4 > text_.size()) return -1;
          int32_t v = 0;
          for (size_t i = at; i < at + 4; ++i) {
            const int d = HexDigit(text_[i]);
            if (d < 0) return -1;
            v = v * 16 + d;
          }
          return v;
        };
        int32_t cp = hex4(pos_ + 2);
        if (cp < 0) Fail("\\u must be followed by 4 hex digits");
        size_t used = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair spells one code point
          const int32_t low =
              (pos_ + 7 < text_.size() && text_[pos_ + 6] == '\\' && text_[pos_ + 7] == 'u') ? hex4(pos_ + 8) : -1;
          if (low < 0xDC00 || low > 0xDFFF) Fail("\\u escape of a lone surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          used = 12;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          Fail("\\u escape of a lone surrogate");
        }
        AppendUtf8(out.text, static_cast<uint32_t>(cp));
        pos_ += used;
        continue;
      }
      default:
        Fail(fmt::format("unsupported string escape '\\{}'", e));
    }
    pos_ += 2;
  }
}

void Reader::ReadDispatch(Value& out, int depth) {
  const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
  if (next == '{') {
    pos_ += 2;
    out.kind = Kind::kSet;
    ReadCollection(out, '}', depth);
    return;
  }
  if (next == '#') Fail("symbolic values (##Inf, ##NaN) are not supported");
  if (!IsAlnum(next)) Fail(fmt::format("reader dispatch '#{}' is not supported", next == '\0' ? ' ' : next));
  size_t end = pos_ + 1;
  while (end < text_.size() && IsTokenChar(text_[end])) ++end;
  const std::string_view tag = text_.substr(pos_ + 1, end - pos_ - 1);
  if (tag != "jepsen.history.Op") {
    Fail(fmt::format("tagged literal #{} is not supported (only #jepsen.history.Op{{...}})", tag));
  }
  pos_ = end;
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != '{') Fail("#jepsen.history.Op must be followed by a map");
  ++pos_;
  out.kind = Kind::kMap;
  ReadCollection(out, '}', depth);
}

void Reader::ReadToken(Value& out) {
  size_t end = pos_;
  while (end < text_.size() && IsTokenChar(text_[end])) ++end;
  const std::string_view token = text_.substr(pos_, end - pos_);
  const char c = token[0];
  if (IsDigit(c) || ((c == '+' || c == '-') && token.size() > 1 && IsDigit(token[1]))) {
    ReadNumber(token, out);
  } else if (c == ':') {
    const std::string_view name = token.substr(1);
    if (name.empty()) Fail("':' must be followed by a keyword name");
    if (name[0] == ':') Fail(fmt::format("auto-resolved keyword {} is not supported", token));
    if (name.front() == '/' && name.size() > 1) Fail(fmt::format("keyword {} has an empty namespace", token));
    if (name.back() == '/' && name.size() > 1) Fail(fmt::format("keyword {} has an empty name", token));
    out.kind = Kind::kKeyword;
    out.text = name;
  } else if (token == "nil") {
    out.kind = Kind::kNil;
  } else if (token == "true" || token == "false") {
    out.kind = Kind::kBool;
    out.boolean = token == "true";
  } else {
    Fail(fmt::format("symbol '{}' is not supported (write a keyword :{} or a string)", token, token));
  }
  pos_ = end;
}

void Reader::ReadNumber(std::string_view token, Value& out) {
  if (token.size() < 19 && IsDigit(token[0]) && (token.size() == 1 || token[0] != '0')) {  // fast path: 0..10^18
    int64_t v = 0;
    size_t i = 0;
    while (i < token.size() && IsDigit(token[i])) v = v * 10 + (token[i++] - '0');
    if (i == token.size()) {
      out.kind = Kind::kInt;
      out.integer = v;
      return;
    }
  }
  if (token.find('/') != std::string_view::npos) Fail(fmt::format("ratio {} is not supported", token));
  size_t i = (token[0] == '+' || token[0] == '-') ? 1 : 0;
  const std::string_view digits = token.substr(i);
  if (digits.size() > 1 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    Fail(fmt::format("hexadecimal integer {} is not supported", token));
  }
  const bool is_float = token.find_first_of(".eE") != std::string_view::npos;
  if (!is_float) {
    std::string_view body = digits;
    if (!body.empty() && body.back() == 'N') body.remove_suffix(1);  // BigInt syntax; kept only if it fits
    for (char d : body) {
      if (!IsDigit(d)) Fail(fmt::format("malformed integer {} (radix and other suffixes are not supported)", token));
    }
    if (body.size() > 1 && body[0] == '0') Fail(fmt::format("integer {} has a leading zero (octal)", token));
    // from_chars takes '-' but not '+': parse the sign separately.
    const std::string_view signed_body = token[0] == '-' ? token.substr(0, body.size() + 1) : body;
    const auto [ptr, ec] = std::from_chars(signed_body.data(), signed_body.data() + signed_body.size(), out.integer);
    if (ec != std::errc() || ptr != signed_body.data() + signed_body.size()) {
      Fail(fmt::format("integer {} does not fit in 64 bits", token));
    }
    out.kind = Kind::kInt;
    return;
  }
  if (token.back() == 'M') Fail(fmt::format("BigDecimal {} is not supported", token));
  // digits [. digits*] [e [+-] digits+], as EDN and Clojure write floats
  size_t k = 0;
  auto run = [&] {
    const size_t start = k;
    while (k < digits.size() && IsDigit(digits[k])) ++k;
    return k - start;
  };
  bool ok = run() > 0;
  if (ok && k > 1 && digits[0] == '0' && digits[1] != '.') ok = false;
  if (ok && k < digits.size() && digits[k] == '.') {
    ++k;
    run();
  }
  if (ok && k < digits.size() && (digits[k] == 'e' || digits[k] == 'E')) {
    ++k;
    if (k < digits.size() && (digits[k] == '+' || digits[k] == '-')) ++k;
    ok = run() > 0;
  }
  if (!ok || k != digits.size()) Fail(fmt::format("malformed number {}", token));
  const char* first = token[0] == '+' ? token.data() + 1 : token.data();
  const auto [ptr, ec] = std::from_chars(first, token.data() + token.size(), out.number);
  if (ec != std::errc()) Fail(fmt::format("float {} is out of range", token));
  out.kind = Kind::kFloat;
}

}  // namespace faultline::edn
