// A small, strict reader of the EDN subset that Jepsen histories use (README
// "faultline check", "Jepsen histories"). No EDN library is packaged for C++
// on Debian, and the subset is small:
//   nil, true, false; integers (optional sign; an N suffix is accepted when the
//   value fits 64 bits); floats (1.5, -2e3); strings with the escapes \" \\ \n
//   \t \r \b \f \uXXXX; keywords (:f, :ns/name); vectors [..], lists (..),
//   maps {..}, sets #{..}; the record tag #jepsen.history.Op{..} (read as a
//   map: newer Jepsen prints ops that way); #_ discards the next form;
//   comments ; to end of line; commas are whitespace.
// Everything else is rejected with "line L column C: <what is wrong>": symbols,
// characters (\a), ratios (1/2), BigDecimals (1.5M), radix and octal
// integers (0x1F, 017), ##Inf/##NaN, tagged literals (#inst, #uuid, ...),
// reader macros (' ` ~ @ ^), integers beyond 64 bits.
//
// The reader works on one string_view, tracking line and column (1-based,
// columns in bytes) as it scans; there are no per-character virtual calls.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::edn {

enum class Kind : uint8_t { kNil, kBool, kInt, kFloat, kString, kKeyword, kVector, kList, kMap, kSet };

// One EDN form. Maps keep their entries in order as key, value, key, value in
// `items` (duplicate keys are not detected here).
struct Value {
  Kind kind = Kind::kNil;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;          // a string's contents; a keyword's name without ':' ("f", "ns/name")
  std::vector<Value> items;  // vector, list and set elements; map entries as key, value, ...
  int32_t line = 0;          // where the form starts (1-based)
  int32_t column = 0;

  bool IsKeyword(std::string_view name) const { return kind == Kind::kKeyword && text == name; }
  // A map's value for the keyword key `:name`; nullptr when absent or not a map.
  const Value* Find(std::string_view name) const;
};

// "nil", "an integer", "a keyword", "a vector", ...: for messages.
std::string_view KindName(Kind kind);

// The form printed back as EDN (keywords with ':', strings quoted): for
// messages and for map keys that are neither strings nor keywords.
std::string ToEdn(const Value& value);

// JSON of a form: nil → null, keyword → its name as a string (":timed-out" →
// "timed-out"), vector/list/set → array, map → object whose keys are the
// string or keyword name (other keys printed as EDN).
nlohmann::json ToJson(const Value& value);

// A malformed or unsupported form; what() is "line L column C: ...".
class ParseError : public std::runtime_error {
 public:
  ParseError(int32_t line, int32_t column, const std::string& what);
  int32_t line() const { return line_; }
  int32_t column() const { return column_; }

 private:
  int32_t line_;
  int32_t column_;
};

// Reads forms one after another from `text`. `first_line`/`first_column`
// give the position of text[0] (a reader over one field of a log line).
class Reader {
 public:
  explicit Reader(std::string_view text, int32_t first_line = 1, int32_t first_column = 1);

  // Skips whitespace, commas, comments and #_ discards; then the next
  // character, or '\0' at the end of the text.
  char Peek();
  // Peek() == c, consuming it.
  bool Consume(char c);
  // The next form. Throws ParseError (also at the end of the text).
  Value Read();

  int32_t line() const { return line_; }
  int32_t column() const { return static_cast<int32_t>(pos_ - line_start_) + column_base_; }
  size_t offset() const { return pos_; }
  [[noreturn]] void Fail(const std::string& what) const;  // at the current position

 private:
  void SkipSpace();
  Value ReadAt(int depth);
  void ReadCollection(Value& out, char close, int depth);
  void ReadString(Value& out);
  void ReadDispatch(Value& out, int depth);
  void ReadToken(Value& out);
  void ReadNumber(std::string_view token, Value& out);
  void NewLine(size_t next) {
    ++line_;
    line_start_ = next;
    column_base_ = 1;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int32_t line_;
  size_t line_start_ = 0;
  int32_t column_base_;
};

}  // namespace faultline::edn
