#include "store/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace dynastore {
namespace {

// The fast path of PUT bodies must take exactly the common shape and leave
// everything else to nlohmann (which gives the API's errors): a body it
// takes wrongly would store a different value than the slow path would.
TEST(ParsePlainPutBody, TakesTheCommonShapeInAnyOrderWithWhitespace) {
  PlainPutBody out;
  ASSERT_TRUE(ParsePlainPutBody(R"({"value":"v1"})", out));
  EXPECT_EQ(out.value, "v1");
  EXPECT_FALSE(out.context);

  ASSERT_TRUE(ParsePlainPutBody(" {\n \"context\" : \"tok-en_1\" ,\t\"value\": \"żółć 🦀\" } \n", out));
  EXPECT_EQ(out.value, "żółć 🦀");
  ASSERT_TRUE(out.context);
  EXPECT_EQ(*out.context, "tok-en_1");

  ASSERT_TRUE(ParsePlainPutBody(R"({"value":"","context":null})", out));
  EXPECT_EQ(out.value, "");
  EXPECT_FALSE(out.context);

  ASSERT_TRUE(ParsePlainPutBody(R"({"value":"x","context":""})", out));
  ASSERT_TRUE(out.context);
  EXPECT_EQ(*out.context, "");
}

TEST(ParsePlainPutBody, LeavesEveryOtherBodyToTheFullParser) {
  const std::string cases[] = {
      "",                              // empty
      "[]",                            // not an object
      R"("value")",                    // not an object
      R"({})",                         // no value
      R"({"context":"c"})",            // no value
      R"({"value":"a\"b"})",           // an escape
      R"({"value":"\u00e9"})",         // an escape
      R"({"val\u0075e":"a"})",         // an escaped key
      R"({"value":"a","value":"b"})",  // repeated: nlohmann keeps the last
      R"({"value":"a","context":null,"context":"c"})",
      R"({"value":"a","extra":1})",              // unknown member
      R"({"value":1})",                          // not a string
      R"({"value":null})",                       // not a string
      R"({"value":"a","context":5})",            // context neither string nor null
      R"({"value":"a"} {})",                     // trailing content
      R"({"value":"a"}})",                       // trailing content
      R"({"value":"a")",                         // truncated
      "{\"value\":\"tab\there\"}",               // a raw control character
      "{\"value\":\"bad \xff utf-8\"}",          // invalid UTF-8
      "{\"value\":\"a\",\"context\":\"\xc3\"}",  // invalid UTF-8 in the context
  };
  for (const std::string& body : cases) {
    PlainPutBody out;
    EXPECT_FALSE(ParsePlainPutBody(body, out)) << body;
  }
}

}  // namespace
}  // namespace dynastore
