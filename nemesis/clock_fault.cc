#include "nemesis/clock_fault.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "nemesis/fault_nodes.h"

namespace faultline {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kCommandTimeout{10000};
// The strobe thread sleeps in slices this long, so Stop does not wait a period.
constexpr milliseconds kStrobeSlice{20};

// Where Debian (per architecture) and source installs put the library.
const std::vector<std::string>& FaketimeCandidates() {
  static const std::vector<std::string> paths = {
      "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/faketime/libfaketime.so.1",
      "/usr/lib64/faketime/libfaketime.so.1",
      "/usr/local/lib/faketime/libfaketime.so.1",
  };
  return paths;
}

Remote& RemoteOf(const NodeInfo& node) {
  if (node.remote == nullptr) throw HarnessError(fmt::format("node {} has no remote", node.name));
  return *node.remote;
}

// The first line of `out` that ends with libfaketime.so.1, or "".
std::string FirstLibraryLine(const std::string& out) {
  std::istringstream lines(out);
  const std::string suffix = "/libfaketime.so.1";
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > suffix.size() && line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return line;
    }
  }
  return "";
}

// libfaketime's path on the node: a known path, else what dpkg installed.
std::string FindFaketime(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  std::vector<std::string> ls = {"ls", "-1", "--"};
  ls.insert(ls.end(), FaketimeCandidates().begin(), FaketimeCandidates().end());
  // ls prints the paths that exist even when it fails for the others.
  std::string path = FirstLibraryLine(remote.Run(ls, kCommandTimeout).out);
  if (path.empty()) {
    CommandResult r = remote.Run({"dpkg", "-L", "libfaketime"}, kCommandTimeout);
    if (r.ok()) path = FirstLibraryLine(r.out);
  }
  if (path.empty()) {
    throw HarnessError(fmt::format(
        "clock faults need libfaketime on node {}, not found (looked in {} and `dpkg -L libfaketime`): install the "
        "Debian package faketime (scripts/setup does)",
        node.name, fmt::join(FaketimeCandidates(), ", ")));
  }
  return path;
}

// libfaketime's relative-offset syntax in seconds with ms precision:
// "+60.000", "-0.250". A bare "0" would be read as an absolute date.
std::string OffsetText(int64_t offset_ms) {
  const uint64_t magnitude = offset_ms < 0 ? -static_cast<uint64_t>(offset_ms) : offset_ms;
  return fmt::format("{}{}.{:03}", offset_ms < 0 ? '-' : '+', magnitude / 1000, magnitude % 1000);
}

}  // namespace

std::string ClockFile(const NodeInfo& node) { return node.dir + "/faketime.rc"; }

Env FaketimeEnv(const NodeInfo& node) {
  // For a sanitized store: ASan insists on coming first in the link order
  // (a preloaded library would make it abort at start), and its allocator
  // reads the clock while holding a lock, on its first allocation. That read
  // runs libfaketime's lazy set-up, whose dlsym allocates: the store
  // deadlocked before main. Without release-to-OS timing the allocator does
  // not read the clock.
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
  asan_options += "verify_asan_link_order=0:allocator_release_to_os_interval_ms=-1";
  return {
      {"LD_PRELOAD", FindFaketime(node)},
      {"FAKETIME_TIMESTAMP_FILE", ClockFile(node)},
      // Only the wall clock moves: timeouts and failure detection (steady
      // clock) keep working, timestamps go wrong.
      {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
      {"DONT_FAKE_MONOTONIC", "1"},  // its name before libfaketime 0.9.7
      // The file is re-read at most once per (real) second: a rewrite takes
      // effect within 1 s for about 100 ns more per clock read.
      // FAKETIME_NO_CACHE=1 (a file read per clock read, ~16 us) cost
      // dynastore about 12% of its throughput; the default cache is 10 s.
      {"FAKETIME_CACHE_DURATION", "0"},
      {"ASAN_OPTIONS", asan_options},
  };
}

void SetClockOffset(const NodeInfo& node, int64_t offset_ms) {
  Remote& remote = RemoteOf(node);
  // In a private mkdtemp directory: a predictable name in /tmp is one a
  // local user can plant a symlink at, for root to write through.
  const PrivateTempFile local("faketime.rc", OffsetText(offset_ms) + "\n");
  remote.Upload(local.path(), ClockFile(node));  // replaces the file atomically
}

ClockFault::ClockFault(std::vector<NodeInfo> nodes, const NemesisConfig& config)
    : nodes_(std::move(nodes)), config_(config) {
  // Fail when the faults are built, not at the first clock fault mid-run.
  for (const NodeInfo& node : nodes_) FindFaketime(node);
}

ClockFault::~ClockFault() { StopStrobe(); }

void ClockFault::StopStrobe() {
  strobing_ = false;
  if (strobe_.joinable()) strobe_.join();
}

nlohmann::json ClockFault::Start(std::mt19937_64& rng) {
  StopStrobe();
  if (config_.clock_skew_ms <= 0) {
    throw HarnessError(fmt::format("clock: skew {} ms must be > 0", config_.clock_skew_ms));
  }
  const std::vector<std::string> targets = ChooseTargets("clock", nodes_, config_, rng);
  std::vector<NodeInfo> hit;
  for (const NodeInfo& node : nodes_) {
    if (std::find(targets.begin(), targets.end(), node.name) != targets.end()) hit.push_back(node);
  }
  // Recorded before writing, so Stop resets whatever was written.
  skewed_ = targets;
  const int64_t skew = config_.clock_skew_ms;

  if (rng() % 2 == 0) {
    json offsets = json::object();
    for (const NodeInfo& node : hit) {
      int64_t offset = 0;
      while (offset == 0) offset = static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * skew + 1)) - skew;
      SetClockOffset(node, offset);
      offsets[node.name] = offset;
    }
    return {{"targets", targets}, {"mode", "bump"}, {"offsets_ms", offsets}};
  }

  const milliseconds period(std::max(1, config_.clock_strobe_period_ms));
  for (const NodeInfo& node : hit) SetClockOffset(node, skew);  // a failure here is the caller's to see
  strobing_ = true;
  strobe_ = std::thread([this, hit, skew, period] {
    bool ahead = true;
    auto next = std::chrono::steady_clock::now() + period;
    while (strobing_) {
      if (std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(kStrobeSlice, next - std::chrono::steady_clock::now()));
        continue;
      }
      ahead = !ahead;
      for (const NodeInfo& node : hit) {
        try {
          SetClockOffset(node, ahead ? skew : 0);
        } catch (const std::exception&) {
          // Keep strobing the others; Stop resets every target and says so if it cannot.
        }
      }
      next += period;
    }
  });
  return {{"targets", targets}, {"mode", "strobe"}, {"delta_ms", skew}, {"period_ms", period.count()}};
}

nlohmann::json ClockFault::Stop() {
  const std::vector<std::string> skewed = std::move(skewed_);
  skewed_.clear();  // what fails is HealAll's (and Verify's) to find
  return Reset(&skewed, "clock reset");
}

nlohmann::json ClockFault::HealAll() {
  skewed_.clear();
  return Reset(nullptr, "clock heal");
}

nlohmann::json ClockFault::Reset(const std::vector<std::string>* names, const std::string& what) {
  StopStrobe();
  std::vector<std::string> reset;
  ForEachNode(nodes_, names, what, [&](const NodeInfo& node) {
    SetClockOffset(node, 0);
    reset.push_back(node.name);
  });
  return {{"reset", reset}};
}

std::vector<std::string> ClockFault::Verify() {
  std::vector<std::string> problems;
  if (strobing_) problems.push_back("clock: a strobe is still running");
  for (const NodeInfo& node : nodes_) {
    const std::string file = ClockFile(node);
    CommandResult r;
    try {
      r = RemoteOf(node).Run({"cat", file}, kCommandTimeout);
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("{}: cannot read {}: {}", node.name, file, e.what()));
      continue;
    }
    if (!r.ok()) {
      problems.push_back(fmt::format("{}: cannot read {}: {}", node.name, file,
                                     r.timed_out     ? "timed out"
                                     : r.err.empty() ? "cat failed"
                                                     : r.err));
      continue;
    }
    std::string text = r.out;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    char* end = nullptr;
    const double seconds = text.empty() ? -1 : std::strtod(text.c_str(), &end);
    const bool zero =
        !text.empty() && (text[0] == '+' || text[0] == '-') && end == text.c_str() + text.size() && seconds == 0;
    if (!zero) problems.push_back(fmt::format("{}: clock still skewed: {} says \"{}\", not +0", node.name, file, text));
  }
  return problems;
}

}  // namespace faultline
