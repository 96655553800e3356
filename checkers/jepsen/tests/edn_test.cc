// The EDN reader: every accepted form, and every rejected one with the line
// and column of what is wrong.
#include "checkers/jepsen/edn.h"

#include <gtest/gtest.h>

#include <string>

namespace faultline::edn {
namespace {

using json = nlohmann::json;

Value ReadOne(std::string_view text) {
  Reader reader(text);
  Value v = reader.Read();
  EXPECT_EQ(reader.Peek(), '\0') << "text after the form in: " << text;
  return v;
}

// The message of the ParseError reading `text` throws ("" when none).
std::string ErrorOf(std::string_view text) {
  try {
    Reader reader(text);
    while (reader.Peek() != '\0') reader.Read();
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(EdnTest, Scalars) {
  EXPECT_EQ(ReadOne("nil").kind, Kind::kNil);
  EXPECT_TRUE(ReadOne("true").boolean);
  EXPECT_EQ(ReadOne("false").kind, Kind::kBool);
  EXPECT_FALSE(ReadOne("false").boolean);
  EXPECT_EQ(ReadOne("42").integer, 42);
  EXPECT_EQ(ReadOne("-7").integer, -7);
  EXPECT_EQ(ReadOne("+7").integer, 7);
  EXPECT_EQ(ReadOne("0").integer, 0);
  EXPECT_EQ(ReadOne("9223372036854775807").integer, INT64_MAX);
  EXPECT_EQ(ReadOne("-9223372036854775808").integer, INT64_MIN);
  EXPECT_EQ(ReadOne("12N").integer, 12);  // BigInt syntax, accepted when it fits
  EXPECT_EQ(ReadOne("-12N").kind, Kind::kInt);
  EXPECT_DOUBLE_EQ(ReadOne("1.5").number, 1.5);
  EXPECT_DOUBLE_EQ(ReadOne("-2e3").number, -2000);
  EXPECT_DOUBLE_EQ(ReadOne("+0.25E-1").number, 0.025);
  EXPECT_DOUBLE_EQ(ReadOne("3.").number, 3.0);
  EXPECT_EQ(ReadOne("1.5").kind, Kind::kFloat);
}

TEST(EdnTest, StringsAndEscapes) {
  EXPECT_EQ(ReadOne(R"("plain")").text, "plain");
  EXPECT_EQ(ReadOne(R"("")").text, "");
  EXPECT_EQ(ReadOne(R"("a\"b\\c\nd\te\rf\bg\fh")").text, "a\"b\\c\nd\te\rf\bg\fh");
  EXPECT_EQ(ReadOne(R"("\u00e9\u20ac")").text, "\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(ReadOne(R"("\ud83d\ude00")").text, "\xf0\x9f\x98\x80");  // a surrogate pair
  EXPECT_EQ(ReadOne("\"two\nlines\"").text, "two\nlines");
  EXPECT_EQ(ReadOne(R"("semi;colon, comma")").text, "semi;colon, comma");
}

TEST(EdnTest, KeywordsAndCollections) {
  const Value k = ReadOne(":timed-out");
  EXPECT_TRUE(k.IsKeyword("timed-out"));
  EXPECT_TRUE(ReadOne(":jepsen.history/op").IsKeyword("jepsen.history/op"));
  EXPECT_TRUE(ReadOne(":ok?").IsKeyword("ok?"));

  const Value v = ReadOne("[1 :a \"s\" nil [2 3]]");
  ASSERT_EQ(v.kind, Kind::kVector);
  ASSERT_EQ(v.items.size(), 5u);
  EXPECT_EQ(v.items[4].items[1].integer, 3);
  EXPECT_EQ(ReadOne("(1 2)").kind, Kind::kList);
  EXPECT_EQ(ReadOne("[]").items.size(), 0u);
  const Value s = ReadOne("#{1 2 3}");
  EXPECT_EQ(s.kind, Kind::kSet);
  EXPECT_EQ(s.items.size(), 3u);
  const Value m = ReadOne("{:type :ok, :value [1 4] \"k\" 2}");
  ASSERT_EQ(m.kind, Kind::kMap);
  ASSERT_NE(m.Find("type"), nullptr);
  EXPECT_TRUE(m.Find("type")->IsKeyword("ok"));
  EXPECT_EQ(m.Find("value")->items.size(), 2u);
  EXPECT_EQ(m.Find("k"), nullptr);  // a string key is not the keyword :k
  // The record tag newer Jepsen prints ops with reads as a map.
  const Value r = ReadOne("#jepsen.history.Op{:index 0, :type :invoke}");
  EXPECT_EQ(r.kind, Kind::kMap);
  EXPECT_EQ(r.Find("index")->integer, 0);
}

TEST(EdnTest, WhitespaceCommentsCommasAndDiscard) {
  const Value v = ReadOne(" ; a comment\n[1,2 ,, 3 ; inside\n #_ :dropped #_[:nested 1] 4]\n");
  ASSERT_EQ(v.items.size(), 4u);
  EXPECT_EQ(v.items[3].integer, 4);
  Reader reader("1 2\n3");
  EXPECT_EQ(reader.Read().integer, 1);
  EXPECT_EQ(reader.Read().integer, 2);
  EXPECT_EQ(reader.Read().integer, 3);
  EXPECT_EQ(reader.Peek(), '\0');
}

TEST(EdnTest, PositionsAreTracked) {
  const Value v = ReadOne("[\n  {:a 1}\n\t\"x\" :k]");
  EXPECT_EQ(v.line, 1);
  EXPECT_EQ(v.column, 1);
  EXPECT_EQ(v.items[0].line, 2);
  EXPECT_EQ(v.items[0].column, 3);
  EXPECT_EQ(v.items[1].line, 3);
  EXPECT_EQ(v.items[1].column, 2);
  EXPECT_EQ(v.items[2].column, 6);
  // A multi-line string moves the line on.
  const Value w = ReadOne("[\"a\nb\" 7]");
  EXPECT_EQ(w.items[1].line, 2);
  EXPECT_EQ(w.items[1].column, 4);
  // A reader over a field of a line starts where the field does.
  Reader field(":bad sym", 12, 30);
  field.Read();
  try {
    field.Read();
    FAIL() << "a symbol was accepted";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), 12);
    EXPECT_EQ(e.column(), 35);
  }
}

TEST(EdnTest, ToJsonAndToEdn) {
  EXPECT_EQ(ToJson(ReadOne("nil")), json(nullptr));
  EXPECT_EQ(ToJson(ReadOne(":timed-out")), json("timed-out"));
  EXPECT_EQ(ToJson(ReadOne("[1 [2 \"x\"] #{3} (4) true 1.5]")), json::parse(R"([1,[2,"x"],[3],[4],true,1.5])"));
  EXPECT_EQ(ToJson(ReadOne("{:a 1 \"b\" 2 3 :c}")), json::parse(R"({"a":1,"b":2,"3":"c"})"));
  EXPECT_EQ(ToEdn(ReadOne("{:a [1 \"x\\\"y\"], :b #{nil}}")), "{:a [1 \"x\\\"y\"], :b #{nil}}");
  EXPECT_EQ(ToEdn(ReadOne("(1 -2.5 false)")), "(1 -2.5 false)");
}

// Each rejected form names what is wrong at its line and column.
TEST(EdnTest, RejectedFormsNameLineAndColumn) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"[1 foo]", "line 1 column 4: symbol 'foo' is not supported"},
      {"\n  \\a", "line 2 column 3: character literals (\\c) are not supported"},
      {"[1/2]", "line 1 column 2: ratio 1/2 is not supported"},
      {"1.5M", "line 1 column 1: BigDecimal 1.5M is not supported"},
      {"0x1F", "line 1 column 1: hexadecimal integer 0x1F is not supported"},
      {"017", "line 1 column 1: integer 017 has a leading zero (octal)"},
      {"36rZZ", "line 1 column 1: malformed integer 36rZZ"},
      {"99999999999999999999", "line 1 column 1: integer 99999999999999999999 does not fit in 64 bits"},
      {"1e", "line 1 column 1: malformed number 1e"},
      {"##Inf", "line 1 column 1: symbolic values (##Inf, ##NaN) are not supported"},
      {"#inst \"2017-01-01\"", "line 1 column 1: tagged literal #inst is not supported"},
      {"{:a #uuid \"x\"}", "line 1 column 5: tagged literal #uuid is not supported"},
      {"#\"re\"", "line 1 column 1: reader dispatch '#\"' is not supported"},
      {"'x", "line 1 column 1: reader macro ''' is not supported"},
      {"[@a]", "line 1 column 2: reader macro '@' is not supported"},
      {"::auto", "line 1 column 1: auto-resolved keyword ::auto is not supported"},
      {": x", "line 1 column 1: ':' must be followed by a keyword name"},
      {"[1 2", "line 1 column 1: a vector opened here is not closed"},
      {"{:a 1\n :b}", "line 1 column 1: map has a key without a value"},
      {"[1 2)", "line 1 column 5: ')' closes a vector opened at line 1 column 1, which needs ']'"},
      {"]", "line 1 column 1: unexpected ']'"},
      {"\"abc", "line 1 column 1: string opened here is not closed"},
      {"\"a\\qb\"", "line 1 column 3: unsupported string escape '\\q'"},
      {"\"\\u12\"", "line 1 column 2: \\u must be followed by 4 hex digits"},
      {"\"\\ud800x\"", "line 1 column 2: \\u escape of a lone surrogate"},
      {"#jepsen.history.Op[1]", "line 1 column 19: #jepsen.history.Op must be followed by a map"},
      {"[1 #_]", "line 1 column 6: unexpected ']'"},
      {"\x01", "line 1 column 1: unexpected character"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string message = ErrorOf(text);
    EXPECT_EQ(message.substr(0, expected.size()), expected) << "reading: " << text;
  }
  EXPECT_EQ(ErrorOf(std::string(300, '[')).substr(0, 20), "line 1 column 258: f");  // too deep
}

}  // namespace
}  // namespace faultline::edn
