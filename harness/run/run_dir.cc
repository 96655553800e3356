#include "harness/run/run_dir.h"

#include <fmt/format.h>

#include <chrono>
#include <system_error>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "reports/run_files.h"

namespace faultline {
namespace fs = std::filesystem;

fs::path MakeRunDir(const fs::path& store_dir, const std::string& test_name) {
  for (int attempt = 0;; ++attempt) {
    const fs::path dir = store_dir / test_name / UtcStamp();
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    if (ec) throw HarnessError(fmt::format("cannot create {}: {}", dir.parent_path().string(), ec.message()));
    // create_directory is false for an existing dir: two runs in the same
    // millisecond get different directories.
    if (fs::create_directory(dir, ec)) {
      fs::create_directory(dir / "nodes", ec);
      if (ec) throw HarnessError(fmt::format("cannot create {}: {}", (dir / "nodes").string(), ec.message()));
      // The new entries survive a crash (the files in it are fsynced as they are made).
      for (const fs::path& d : {dir, dir.parent_path(), store_dir}) FsyncDir(d);
      return dir;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (ec || attempt > 1000) throw HarnessError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
}

namespace {
void ReplaceSymlink(const fs::path& link, const fs::path& target) {
  const fs::path tmp = link.string() + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_directory_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) throw HarnessError(fmt::format("cannot point {} at {}: {}", link.string(), target.string(), ec.message()));
}
}  // namespace

void UpdateLatestLinks(const fs::path& store_dir, const fs::path& run_dir) {
  // Relative targets, so a store directory can be moved or copied whole.
  ReplaceSymlink(run_dir.parent_path() / "latest", run_dir.filename());
  ReplaceSymlink(store_dir / "latest", run_dir.parent_path().filename() / run_dir.filename());
}

}  // namespace faultline
