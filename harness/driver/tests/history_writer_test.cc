#include "harness/driver/history_writer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Temp dirs named for this file's tests.
struct HistoryTempDir : test::TempDir {
  HistoryTempDir() : test::TempDir("faultline-history-test") {}
};

std::vector<std::string> FileLines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Ops covering every optional field and value kind.
std::vector<Op> SampleOps() {
  std::vector<Op> ops;
  auto add = [&](OpType type, int64_t process, std::string f, std::string key, nlohmann::json value,
                 std::string node = {}, std::string error = {}) {
    Op op;
    op.type = type;
    op.process = process;
    op.f = std::move(f);
    op.key = std::move(key);
    op.value = std::move(value);
    op.node = std::move(node);
    op.error = std::move(error);
    ops.push_back(std::move(op));
  };
  add(OpType::kInvoke, 3, "add", "k1", 17);
  add(OpType::kOk, 3, "add", "k1", 17, "n2");
  add(OpType::kInfo, kNemesisProcess, "start-partition", "", {{"n1", {"n3", "n4"}}});
  add(OpType::kInvoke, 0, "read", "k2", nullptr, "n1");
  add(OpType::kOk, 0, "read", "k2", {1, 5, 17}, "n1");
  add(OpType::kFail, 12, "add", "k\"weird\\key\n", -4, "n3", "refused: \x01 \xc3\xa9 \xff");
  add(OpType::kInfo, 12, "add", "k3", 2.5, "n3", "timed out");
  add(OpType::kOk, 1, "cas", "k4", "a string value", "n1");
  add(OpType::kOk, 1, "cas", "k4", uint64_t(18446744073709551615ull), "n1");
  return ops;
}

TEST(HistoryWriterTest, LinesAreByteIdenticalToToJsonLineAndRoundTrip) {
  HistoryTempDir dir;
  const std::vector<Op> ops = SampleOps();
  {
    HistoryWriter writer(dir.file(), Clock::now());
    for (size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      EXPECT_EQ(writer.Append(op.type, op.process, op.f, op.key, op.value, op.node, op.error), int64_t(i));
    }
    EXPECT_EQ(writer.ops_written(), int64_t(ops.size()));
    writer.Close();
  }
  const std::vector<std::string> lines = FileLines(dir.file());
  ASSERT_EQ(lines.size(), ops.size());
  HistoryReadResult read = ReadHistory(dir.file());
  ASSERT_EQ(read.ops.size(), ops.size());
  EXPECT_TRUE(read.warnings.empty());
  for (size_t i = 0; i < ops.size(); ++i) {
    Op expected = ops[i];
    expected.index = int64_t(i);
    expected.time = read.ops[i].time;
    EXPECT_EQ(lines[i], ToJsonLine(expected));
    const Op& got = read.ops[i];
    EXPECT_EQ(got.index, int64_t(i));
    EXPECT_EQ(got.type, expected.type);
    EXPECT_EQ(got.process, expected.process);
    EXPECT_EQ(got.f, expected.f);
    EXPECT_EQ(got.key, expected.key);
    EXPECT_EQ(got.node, expected.node);
    if (expected.error.find('\xff') == std::string::npos) {
      EXPECT_EQ(got.error, expected.error);  // invalid UTF-8 comes back replaced
    }
    EXPECT_EQ(got.value, expected.value);
  }
}

TEST(HistoryWriterTest, ConcurrentAppendsGetIncreasingIndicesAndTimes) {
  HistoryTempDir dir;
  constexpr int kThreads = 4, kPerThread = 20000;
  {
    HistoryWriter writer(dir.file(), Clock::now(), HistoryWriter::Options{5ms});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) writer.Append(OpType::kInvoke, t, "add", "k1", i);
      });
    }
    for (auto& thread : threads) thread.join();
    writer.Sync();
  }
  HistoryReadResult read = ReadHistory(dir.file());
  ASSERT_EQ(read.ops.size(), size_t(kThreads * kPerThread));
  std::vector<int64_t> next_value(kThreads, 0);
  for (size_t i = 0; i < read.ops.size(); ++i) {
    const Op& op = read.ops[i];
    ASSERT_EQ(op.index, int64_t(i));
    if (i > 0) {
      ASSERT_GE(op.time, read.ops[i - 1].time);
    }
    ASSERT_GE(op.process, 0);
    ASSERT_LT(op.process, kThreads);
    ASSERT_EQ(op.value, next_value[op.process]++);  // each thread's ops in its own order
  }
}

TEST(HistoryWriterTest, FlusherWritesWithoutSync) {
  HistoryTempDir dir;
  HistoryWriter writer(dir.file(), Clock::now(), HistoryWriter::Options{20ms});
  writer.Append(OpType::kInvoke, 0, "add", "k1", 1);
  // The flusher runs every 20 ms; give it (much) more than that.
  const auto give_up = Clock::now() + 5s;
  while (std::filesystem::file_size(dir.file()) == 0 && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(FileLines(dir.file()).size(), 1u);
}

TEST(HistoryWriterTest, SyncWritesAtOnce) {
  HistoryTempDir dir;
  HistoryWriter writer(dir.file(), Clock::now(), HistoryWriter::Options{std::chrono::hours(1)});
  writer.Append(OpType::kInvoke, 0, "add", "k1", 1);
  writer.Append(OpType::kOk, 0, "add", "k1", 1, "n1");
  writer.Sync();
  EXPECT_EQ(FileLines(dir.file()).size(), 2u);
}

TEST(HistoryWriterTest, CloseIsIdempotentAndLaterAppendsAreDropped) {
  HistoryTempDir dir;
  HistoryWriter writer(dir.file(), Clock::now());
  writer.Append(OpType::kInvoke, 0, "add", "k1", 1);
  writer.Close();
  EXPECT_NO_THROW(writer.Close());
  EXPECT_EQ(writer.Append(OpType::kOk, 0, "add", "k1", 1), -1);
  EXPECT_EQ(writer.ops_written(), 1);
  EXPECT_EQ(FileLines(dir.file()).size(), 1u);
}

TEST(HistoryWriterTest, UncreatableFileThrowsNamingThePath) {
  HistoryTempDir dir;
  const auto path = dir.file().parent_path() / "no-such-dir" / "history.jsonl";
  try {
    HistoryWriter writer(path, Clock::now());
    FAIL() << "expected HarnessError";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(HistoryWriterTest, WriteErrorsAreReportedNotLost) {
  // /dev/full: every write() fails with ENOSPC, as on a full disk.
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  HistoryWriter writer("/dev/full", Clock::now());
  writer.Append(OpType::kInvoke, 0, "add", "k1", 1);
  try {
    writer.Sync();
    FAIL() << "expected HarnessError";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos) << e.what();
  }
  EXPECT_THROW(writer.Close(), HarnessError);
  EXPECT_NO_THROW(writer.Close());  // idempotent; the destructor will not throw either
}

// A real full file system: a 64 KiB tmpfs (needs root to mount), unmounted on destruction.
class SmallTmpfs {
 public:
  SmallTmpfs() {
    if (::geteuid() == 0 && ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=64k") == 0) mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  std::filesystem::path file() const { return dir_.file(); }

 private:
  HistoryTempDir dir_;
  bool mounted_ = false;
};

// Appends sample lines until the writer has failed (or the guard runs out);
// only the background flusher writes.
void AppendUntilFull(HistoryWriter& writer) {
  for (int64_t i = 0; i < 10'000'000 && !writer.failed(); ++i) {
    writer.Append(OpType::kOk, i % 7, "add", "k1", i, "n1");
    if (i % 1000 == 999) std::this_thread::sleep_for(1ms);
  }
}

TEST(HistoryWriterTest, AFullDiskStopsTheWriterAtItsLastWholeLine) {
  SmallTmpfs fs;
  if (!fs.mounted()) GTEST_SKIP() << "needs root to mount a tmpfs";
  HistoryWriter writer(fs.file(), Clock::now());
  std::string error;
  try {
    for (int64_t i = 0; i < 10'000'000; ++i) {
      writer.Append(OpType::kOk, i % 7, "add", "k1", i, "n1");
      if (i % 1000 == 999) writer.Sync();  // throws at the first failed write
    }
    FAIL() << "64 KiB never filled up";
  } catch (const HarnessError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  EXPECT_NE(error.find(fs.file().string()), std::string::npos) << error;
  // Nothing more is taken once it failed: later ops are dropped, not half-written.
  EXPECT_EQ(writer.Append(OpType::kOk, 0, "add", "k1", 1, "n1"), -1);
  EXPECT_THROW(writer.Close(), HarnessError);
  std::ifstream in(fs.file(), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the history ends with a torn line";
  size_t lines = 0;
  for (const std::string& line : FileLines(fs.file())) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    ++lines;
  }
  EXPECT_GT(lines, 100u);
}

TEST(HistoryWriterTest, TheFirstWriteErrorIsReportedAtOnceToTheOwner) {
  SmallTmpfs fs;
  if (!fs.mounted()) GTEST_SKIP() << "needs root to mount a tmpfs";
  std::mutex mu;
  std::vector<std::string> reported;
  HistoryWriter::Options options;
  options.flush_interval = 5ms;
  options.on_error = [&](const std::string& e) {
    std::lock_guard lock(mu);
    reported.push_back(e);
  };
  HistoryWriter writer(fs.file(), Clock::now(), options);
  AppendUntilFull(writer);
  ASSERT_TRUE(writer.failed());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(reported.size(), 1u);  // once, before anyone called Sync() or Close() for it
    EXPECT_NE(reported[0].find("No space left on device"), std::string::npos) << reported[0];
  }
  EXPECT_THROW(writer.Close(), HarnessError);
}

TEST(HistoryWriterTest, KilledWriterLeavesAReadableHistory) {
  HistoryTempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Append forever with the default 100 ms flush, until SIGKILL.
    HistoryWriter writer(dir.file(), Clock::now());
    for (int64_t i = 0;; ++i) {
      writer.Append(i % 2 ? OpType::kOk : OpType::kInvoke, i % 7, "add", "k1", i / 2, i % 2 ? "n1" : "");
      if (i % 100 == 0) std::this_thread::sleep_for(1ms);
    }
  }
  // Once the first flush reached the file, let it run ~300 ms more, then kill it.
  const auto give_up = Clock::now() + 10s;
  std::error_code ec;
  while (Clock::now() < give_up && std::filesystem::file_size(dir.file(), ec) == 0) {
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(300ms);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  HistoryReadResult read = ReadHistory(dir.file());
  EXPECT_LE(read.warnings.size(), 1u);
  EXPECT_GT(read.ops.size(), 1000u);  // ~300 ms at up to 100 ops/ms, 3 flushes
  std::cout << "history of the killed writer: " << read.ops.size() << " ops, " << read.warnings.size() << " warnings\n";
  for (size_t i = 0; i < read.ops.size(); ++i) ASSERT_EQ(read.ops[i].index, int64_t(i));
}

}  // namespace
}  // namespace faultline
