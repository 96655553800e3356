#include "checkers/history.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "checkers/history_line.h"
#include "testing/history_builder.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

using test::TempDir;
using test::WriteFile;

Op MakeOp(OpType type, int64_t process, nlohmann::json value) {
  Op op;
  op.index = 7;
  op.time = 123456789;
  op.type = type;
  op.process = process;
  op.f = "add";
  op.key = "k1";
  op.value = std::move(value);
  return op;
}

void ExpectSameOp(const Op& a, const Op& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.process, b.process);
  EXPECT_EQ(a.f, b.f);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.error, b.error);
}

TEST(HistoryTest, OpTypeNames) {
  EXPECT_EQ(OpTypeName(OpType::kInvoke), "invoke");
  EXPECT_EQ(OpTypeName(OpType::kOk), "ok");
  EXPECT_EQ(OpTypeName(OpType::kFail), "fail");
  EXPECT_EQ(OpTypeName(OpType::kInfo), "info");
}

TEST(HistoryTest, ToJsonLineFieldOrderAndOmissions) {
  Op op = MakeOp(OpType::kInvoke, 3, 17);
  EXPECT_EQ(ToJsonLine(op),
            R"({"index":7,"time":123456789,"type":"invoke","process":3,"f":"add","key":"k1","value":17})");
  op.type = OpType::kOk;
  op.node = "n2";
  EXPECT_EQ(ToJsonLine(op),
            R"({"index":7,"time":123456789,"type":"ok","process":3,"f":"add","key":"k1","value":17,"node":"n2"})");
  op.type = OpType::kInfo;
  op.error = "timed out";
  EXPECT_EQ(ToJsonLine(op), R"({"index":7,"time":123456789,"type":"info","process":3,"f":"add","key":"k1",)"
                            R"("value":17,"node":"n2","error":"timed out"})");
  Op nemesis = MakeOp(OpType::kInfo, kNemesisProcess, {{"n1", {"n3", "n4"}}});
  nemesis.f = "start-partition";
  nemesis.key.clear();
  EXPECT_EQ(ToJsonLine(nemesis), R"({"index":7,"time":123456789,"type":"info","process":"nemesis",)"
                                 R"("f":"start-partition","value":{"n1":["n3","n4"]}})");
  Op read = MakeOp(OpType::kInvoke, 0, nullptr);
  read.f = "read";
  EXPECT_EQ(ToJsonLine(read), R"({"index":7,"time":123456789,"type":"invoke","process":0,"f":"read","key":"k1"})");
}

TEST(HistoryTest, StringEscapingMatchesNlohmann) {
  // Every ASCII byte, plus UTF-8 and invalid UTF-8 (replaced, never thrown).
  std::string all;
  for (int c = 1; c < 128; ++c) all.push_back(static_cast<char>(c));
  for (const std::string& s :
       {all, std::string("h\xc3\xa9llo \"w\"\n"), std::string("bad \xff\xfe utf8"), std::string("nul\0inside", 10)}) {
    std::string ours;
    AppendJsonString(ours, s);
    EXPECT_EQ(ours, nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    EXPECT_NO_THROW(ParseOpLine(fmt::format(R"({{"index":0,"time":0,"type":"ok","process":0,"f":{}}})", ours)));
  }
}

TEST(HistoryTest, RoundTripsAllValueKinds) {
  for (const nlohmann::json& value :
       {nlohmann::json(17), nlohmann::json(-5), nlohmann::json(uint64_t(18446744073709551615ull)), nlohmann::json(2.5),
        nlohmann::json("text \"quoted\"\t"), nlohmann::json(true), nlohmann::json::array({1, 2, 3}),
        nlohmann::json::array(), nlohmann::json{{"a", {1, "b", nullptr}}, {"c", {{"d", false}}}}}) {
    Op op = MakeOp(OpType::kOk, 4, value);
    op.node = "n5";
    op.error = "err \\ \x01";
    Op parsed = ParseOpLine(ToJsonLine(op));
    ExpectSameOp(parsed, op);
    EXPECT_EQ(ToJsonLine(parsed), ToJsonLine(op));
  }
  Op nemesis = MakeOp(OpType::kInfo, kNemesisProcess, nullptr);
  EXPECT_EQ(ParseOpLine(ToJsonLine(nemesis)).process, kNemesisProcess);
}

TEST(HistoryTest, ParseIgnoresUnknownFieldsAndAcceptsNulls) {
  Op op = ParseOpLine(R"({"time":5,"index":1,"type":"fail","process":2,"f":"add","key":null,"extra":[1],)"
                      R"("node":null,"error":"x","value":null})");
  EXPECT_EQ(op.index, 1);
  EXPECT_EQ(op.time, 5);
  EXPECT_EQ(op.type, OpType::kFail);
  EXPECT_TRUE(op.key.empty());
  EXPECT_TRUE(op.node.empty());
  EXPECT_TRUE(op.value.is_null());
  EXPECT_EQ(op.error, "x");
}

std::string ParseError(std::string_view line) {
  try {
    ParseOpLine(line);
  } catch (const HistoryError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HistoryTest, ParseErrorsNameTheField) {
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":"done","process":0,"f":"add"})"),
            R"("type" must be one of invoke, ok, fail, info, got "done")");
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":3,"process":0,"f":"add"})"),
            R"("type" must be one of invoke, ok, fail, info, got an integer)");
  EXPECT_EQ(ParseError(R"({"index":"0","time":0,"type":"ok","process":0,"f":"add"})"),
            R"("index" must be an integer (int64), got a string)");
  EXPECT_EQ(ParseError(R"({"index":0,"time":1.5,"type":"ok","process":0,"f":"add"})"),
            R"("time" must be an integer (int64), got a non-integer number)");
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":"ok","process":"x","f":"add"})"),
            R"("process" must be an integer or "nemesis", got "x")");
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":"ok","process":[1],"f":"add"})"),
            R"("process" must be an integer or "nemesis", got an array)");
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":"ok","process":0,"f":"add","key":5})"),
            R"("key" must be a string, got an integer)");
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":"ok","process":0,"f":"add","node":{}})"),
            R"("node" must be a string, got an object)");
  EXPECT_EQ(ParseError(R"({"index":0,"time":0,"type":"ok","process":0})"), R"(missing "f")");
  EXPECT_EQ(ParseError(R"({"time":0,"type":"ok","process":0,"f":"add"})"), R"(missing "index")");
  EXPECT_EQ(ParseError(R"([1,2])"), "a history line must be a JSON object, got an array");
  EXPECT_NE(ParseError(R"({"index":0,"time":0,)").find("invalid JSON"), std::string::npos);
}

std::string Lines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    Op op = MakeOp(i % 2 ? OpType::kOk : OpType::kInvoke, i / 2, i);
    op.index = i;
    op.time = i * 10;
    out += ToJsonLine(op) + "\n";
  }
  return out;
}

TEST(HistoryTest, ReadHistoryReadsEveryLine) {
  TempDir dir;
  WriteFile(dir.path() / "history.jsonl", Lines(20));
  HistoryReadResult result = ReadHistory(dir.path() / "history.jsonl");
  ASSERT_EQ(result.ops.size(), 20u);
  EXPECT_TRUE(result.warnings.empty());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(result.ops[i].index, i);
    EXPECT_EQ(result.ops[i].value, i);
  }
}

TEST(HistoryTest, ReadHistoryEmptyFileIsEmptyHistory) {
  TempDir dir;
  WriteFile(dir.path() / "history.jsonl", "");
  HistoryReadResult result = ReadHistory(dir.path() / "history.jsonl");
  EXPECT_TRUE(result.ops.empty());
  EXPECT_TRUE(result.warnings.empty());
}

TEST(HistoryTest, ReadHistoryLastLineWithoutNewlineIsKept) {
  TempDir dir;
  std::string content = Lines(3);
  content.pop_back();
  WriteFile(dir.path() / "history.jsonl", content);
  HistoryReadResult result = ReadHistory(dir.path() / "history.jsonl");
  EXPECT_EQ(result.ops.size(), 3u);
  EXPECT_TRUE(result.warnings.empty());
}

TEST(HistoryTest, ReadHistorySkipsTruncatedLastLineWithWarning) {
  TempDir dir;
  std::string content = Lines(5) + R"({"index":5,"time":50,"type":"in)";
  WriteFile(dir.path() / "history.jsonl", content);
  HistoryReadResult result = ReadHistory(dir.path() / "history.jsonl");
  EXPECT_EQ(result.ops.size(), 5u);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_NE(result.warnings[0].find("line 6"), std::string::npos) << result.warnings[0];
}

TEST(HistoryTest, ReadHistoryRejectsBadMiddleLineWithItsNumber) {
  TempDir dir;
  std::string lines = Lines(20);
  // Replace line 17 (1-based) with a line of the wrong type.
  size_t pos = 0;
  for (int i = 0; i < 16; ++i) pos = lines.find('\n', pos) + 1;
  size_t end = lines.find('\n', pos);
  lines.replace(pos, end - pos, R"({"index":16,"time":160,"type":"maybe","process":1,"f":"add"})");
  WriteFile(dir.path() / "history.jsonl", lines);
  try {
    ReadHistory(dir.path() / "history.jsonl");
    FAIL() << "expected HistoryError";
  } catch (const HistoryError& e) {
    EXPECT_NE(std::string(e.what()).find("history.jsonl line 17: \"type\" must be one of invoke, ok, fail, info"),
              std::string::npos)
        << e.what();
  }
  // A broken last line WITH its newline is not a crash artefact either.
  WriteFile(dir.path() / "history.jsonl", Lines(2) + "{\"index\":2,\n");
  EXPECT_THROW(ReadHistory(dir.path() / "history.jsonl"), HistoryError);
}

TEST(HistoryTest, ReadHistoryMissingFileNamesIt) {
  TempDir dir;
  try {
    ReadHistory(dir.path() / "nope.jsonl");
    FAIL() << "expected HistoryError";
  } catch (const HistoryError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.jsonl"), std::string::npos) << e.what();
  }
}

TEST(HistoryTest, ForEachOpLenientSkipsBadMiddleLineWithItsNumber) {
  TempDir dir;
  std::string lines = Lines(20);
  size_t pos = 0;
  for (int i = 0; i < 16; ++i) pos = lines.find('\n', pos) + 1;
  size_t end = lines.find('\n', pos);
  lines.replace(pos, end - pos, "{\"index\":16,\"ti");  // line 17: garbage in the middle
  lines += R"({"index":20,"time":200,"type":"in)";      // line 21: truncated last line
  WriteFile(dir.path() / "history.jsonl", lines);
  std::vector<int64_t> indices;
  std::vector<std::string> warnings;
  ForEachOp(
      dir.path() / "history.jsonl", [&](const Op& op) { indices.push_back(op.index); }, &warnings,
      /*lenient=*/true);
  ASSERT_EQ(indices.size(), 19u);
  EXPECT_EQ(indices[15], 15);
  EXPECT_EQ(indices[16], 17);  // 16 skipped, reading went on
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("history.jsonl line 17: skipped: invalid JSON"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("history.jsonl line 21: last line skipped"), std::string::npos) << warnings[1];
  // Strict mode throws on the same file, naming the line.
  try {
    ForEachOp(
        dir.path() / "history.jsonl", [](const Op&) {}, nullptr);
    FAIL() << "expected HistoryError";
  } catch (const HistoryError& e) {
    EXPECT_NE(std::string(e.what()).find("history.jsonl line 17: "), std::string::npos) << e.what();
  }
}

TEST(HistoryTest, ForEachOpEqualsReadHistoryAcrossChunkBoundaries) {
  // Bigger than the reader's 4 MiB chunk, with lines of varied length (some
  // longer than 1 KiB) and blank lines, so lines straddle chunk boundaries.
  TempDir dir;
  std::string content;
  History written;
  int64_t n = 0;
  while (content.size() < (size_t{9} << 20)) {
    Op op;
    op.index = n;
    op.time = n * 10;
    op.type = n % 3 == 0 ? OpType::kInvoke : OpType::kOk;
    op.process = n % 7;
    op.f = "rmw";
    op.key = fmt::format("k{}", n % 13);
    op.value = {{"write", n}, {"read", std::vector<int64_t>(size_t(n % 11 == 0 ? 300 : n % 4), n)}};
    op.node = n % 2 ? "n1" : "";
    content += ToJsonLine(op);
    content += n % 1000 == 0 ? "\n\n" : "\n";
    written.push_back(std::move(op));
    ++n;
  }
  WriteFile(dir.path() / "history.jsonl", content);
  HistoryReadResult all = ReadHistory(dir.path() / "history.jsonl");
  ASSERT_EQ(int64_t(all.ops.size()), n);
  for (size_t j = 0; j < written.size(); j += 997) ExpectSameOp(all.ops[j], written[j]);
  ExpectSameOp(all.ops.back(), written.back());
  size_t i = 0;
  ForEachOp(
      dir.path() / "history.jsonl",
      [&](const Op& op) {
        ASSERT_LT(i, all.ops.size());
        ExpectSameOp(op, all.ops[i]);
        EXPECT_EQ(op.index, int64_t(i));
        ++i;
      },
      nullptr);
  EXPECT_EQ(i, all.ops.size());
}

TEST(HistoryTest, ForEachOpReadsALineLongerThanAChunk) {
  TempDir dir;
  Op op = MakeOp(OpType::kOk, 1, std::string(size_t{5} << 20, 'x'));
  WriteFile(dir.path() / "history.jsonl", ToJsonLine(op) + "\n" + ToJsonLine(MakeOp(OpType::kInvoke, 2, 3)) + "\n");
  std::vector<Op> ops;
  ForEachOp(
      dir.path() / "history.jsonl", [&](const Op& o) { ops.push_back(o); }, nullptr);
  ASSERT_EQ(ops.size(), 2u);
  ExpectSameOp(ops[0], op);
  EXPECT_EQ(ops[1].process, 2);
}

}  // namespace
}  // namespace faultline
