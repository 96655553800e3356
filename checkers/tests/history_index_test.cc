#include "checkers/history_index.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

HistoryIndexReport CheckIndices(const std::vector<int64_t>& indices) {
  HistoryIndexCheck check;
  for (int64_t i : indices) check.Add(i);
  return check.Finish();
}

TEST(HistoryIndexTest, ConsecutiveFromZeroIsClean) {
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < 1000; ++i) indices.push_back(i);
  const HistoryIndexReport r = CheckIndices(indices);
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.Describe(), "");
  EXPECT_TRUE(CheckIndices({}).clean());
}

TEST(HistoryIndexTest, OutOfOrderButCompleteIsClean) {
  EXPECT_TRUE(CheckIndices({3, 1, 0, 2, 5, 4}).clean());
  EXPECT_TRUE(CheckIndices({0, 2, 4, 1, 3}).clean());  // holes closed later merge the runs
}

TEST(HistoryIndexTest, HolesAreCountedAndNamed) {
  const HistoryIndexReport r = CheckIndices({0, 1, 2, 5, 6, 9});
  EXPECT_EQ(r.missing_count, 4);
  EXPECT_EQ(r.missing, (std::vector<int64_t>{3, 4, 7, 8}));
  EXPECT_EQ(r.duplicate_count, 0);
  EXPECT_EQ(r.Describe(), "4 index values missing (3, 4, 7, 8)");
}

TEST(HistoryIndexTest, AMissingStartIsAHole) {
  const HistoryIndexReport r = CheckIndices({1, 2, 3});  // the format counts from 0
  EXPECT_EQ(r.missing_count, 1);
  EXPECT_EQ(r.missing, (std::vector<int64_t>{0}));
}

TEST(HistoryIndexTest, DuplicatesAreCountedAndNamed) {
  const HistoryIndexReport r = CheckIndices({0, 1, 2, 2, 3, 1, 4, 2});
  EXPECT_EQ(r.duplicate_count, 3);
  EXPECT_EQ(r.duplicates, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.missing_count, 0);
  EXPECT_EQ(r.Describe(), "3 lines with an index already seen (1, 2)");
}

TEST(HistoryIndexTest, OnlyTheFirstFewAreListedButAllCounted) {
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < 100; i += 2) indices.push_back(i);  // every odd index missing
  for (int64_t i = 0; i < 30; ++i) indices.push_back(0);
  const HistoryIndexReport r = CheckIndices(indices);
  EXPECT_EQ(r.missing_count, 49);
  EXPECT_EQ(r.missing.size(), HistoryIndexReport::kListed);
  EXPECT_EQ(r.missing.front(), 1);
  EXPECT_EQ(r.duplicate_count, 30);
  EXPECT_EQ(r.duplicates, (std::vector<int64_t>{0}));
  EXPECT_EQ(r.Describe(),
            "49 index values missing (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, ...), "
            "30 lines with an index already seen (0)");
}

}  // namespace
}  // namespace faultline
