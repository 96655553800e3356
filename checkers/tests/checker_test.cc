#include "checkers/checker.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

TEST(CheckerTest, ValidityJsonRoundTrip) {
  for (Validity v : {Validity::kTrue, Validity::kFalse, Validity::kUnknown}) {
    EXPECT_EQ(ValidityFromJson(ValidityToJson(v)), v);
  }
  EXPECT_EQ(ValidityToJson(Validity::kTrue), nlohmann::json(true));
  EXPECT_EQ(ValidityToJson(Validity::kFalse), nlohmann::json(false));
  EXPECT_EQ(ValidityToJson(Validity::kUnknown), nlohmann::json("unknown"));
  EXPECT_THROW(ValidityFromJson(nlohmann::json("maybe")), std::invalid_argument);
  EXPECT_THROW(ValidityFromJson(nlohmann::json(1)), std::invalid_argument);
}

TEST(CheckerTest, NamesAndWorst) {
  EXPECT_EQ(ValidityName(Validity::kTrue), "valid");
  EXPECT_EQ(ValidityName(Validity::kFalse), "invalid");
  EXPECT_EQ(ValidityName(Validity::kUnknown), "unknown");
  EXPECT_EQ(Worst(Validity::kTrue, Validity::kTrue), Validity::kTrue);
  EXPECT_EQ(Worst(Validity::kTrue, Validity::kUnknown), Validity::kUnknown);
  EXPECT_EQ(Worst(Validity::kUnknown, Validity::kFalse), Validity::kFalse);
  EXPECT_EQ(Worst(Validity::kFalse, Validity::kTrue), Validity::kFalse);
}

}  // namespace
}  // namespace faultline
