#include "harness/nodes/local/cluster_state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/netns_names.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr off_t kMaxStateFileBytes = off_t(1) << 20;

json ToJson(const ClusterState& s) {
  json nodes = json::array();
  for (const auto& n : s.nodes) {
    nodes.push_back({{"name", n.name}, {"netns", n.netns}, {"address", n.address}, {"host_veth", n.host_veth}});
  }
  json owner = nullptr;
  if (s.owner) owner = {{"pid", s.owner->pid}, {"start_time", s.owner->start_time}};
  return {{"run_id", s.run_id},     {"subnet", s.subnet},           {"bridge", s.bridge},         {"owner", owner},
          {"manual", s.manual},     {"description", s.description}, {"created_at", s.created_at}, {"nodes", nodes},
          {"iptables", s.iptables}, {"nodes_root", s.nodes_root},   {"containers", s.containers}};
}

ClusterState FromJson(const json& j) {
  ClusterState s;
  s.run_id = j.at("run_id").get<std::string>();
  s.subnet = j.at("subnet").get<std::string>();
  s.bridge = j.at("bridge").get<std::string>();
  if (j.contains("owner") && !j.at("owner").is_null()) {
    s.owner = ClusterOwner{j.at("owner").at("pid").get<int>(), j.at("owner").at("start_time").get<uint64_t>()};
  }
  s.manual = j.value("manual", false);
  s.description = j.value("description", "");
  s.created_at = j.value("created_at", "");
  s.nodes_root = j.value("nodes_root", "");
  for (const auto& n : j.at("nodes")) {
    s.nodes.push_back({n.at("name").get<std::string>(), n.at("netns").get<std::string>(),
                       n.at("address").get<std::string>(), n.at("host_veth").get<std::string>()});
  }
  if (j.contains("iptables")) s.iptables = j.at("iptables").get<std::vector<std::vector<std::string>>>();
  if (j.contains("containers")) s.containers = j.at("containers").get<std::vector<std::string>>();
  return s;
}

}  // namespace

fs::path ClusterStateDir() {
  const char* dir = std::getenv("FAULTLINE_STATE_DIR");
  return dir && *dir ? fs::path(dir) : fs::path("/run/faultline");
}

fs::path ClusterStatePath(const std::string& run_id) { return ClusterStateDir() / (run_id + ".json"); }

fs::path PrivateClusterStateDir() {
  const fs::path dir = ClusterStateDir();
  EnsurePrivateDir(dir);
  return dir;
}

void WriteClusterState(const ClusterState& state) {
  const fs::path file = PrivateClusterStateDir() / (state.run_id + ".json");
  fs::path tmp = file;
  tmp += ".tmp";  // one writer per run id (the cluster's creator), so a fixed name is enough
  std::error_code ec;
  fs::remove(tmp, ec);  // a killed writer's leftover
  WriteNewFile(tmp, ToJson(state).dump(2) + "\n", 0600);
  fs::rename(tmp, file, ec);
  if (ec) throw HarnessError("cannot write state file " + file.string() + ": " + ec.message());
  FsyncDir(file.parent_path());
}

std::optional<ClusterState> ReadClusterState(const fs::path& file) {
  if (!CheckPrivateDir(file.parent_path())) return std::nullopt;
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw HarnessError("cannot read state file " + file.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  const bool trusted =
      ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && st.st_size <= kMaxStateFileBytes;
  std::string text;
  char buf[8192];
  ssize_t n = 0;
  while (trusted && (n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, size_t(n));
  }
  ::close(fd);
  if (!trusted) {
    throw HarnessError("state file " + file.string() + " is not a regular file of at most 1 MiB owned by uid " +
                       std::to_string(::geteuid()) + "; not trusted (remove it if it is not faultline's)");
  }
  try {
    return FromJson(json::parse(text));
  } catch (const json::exception& e) {
    throw HarnessError("state file " + file.string() + " is not a valid faultline cluster record: " + e.what());
  }
}

std::vector<std::string> ListClusterStateIds() {
  std::vector<std::string> ids;
  std::error_code ec;
  if (!CheckPrivateDir(ClusterStateDir())) return ids;
  for (const auto& entry : fs::directory_iterator(ClusterStateDir(), ec)) {
    const fs::path& p = entry.path();
    if (p.extension() == ".json" && IsRunId(p.stem().string())) ids.push_back(p.stem().string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::optional<uint64_t> ProcessStartTime(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto paren = line.rfind(')');  // comm may contain spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  char state = 0;
  // Fields after comm start at 3 (state); start time is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return std::nullopt;
    if (i == 3) state = field[0];
    if (i == 22 && state != 'Z' && state != 'X') return std::stoull(field);
  }
  return std::nullopt;
}

ClusterOwner CurrentProcessOwner() {
  int pid = ::getpid();
  return {pid, ProcessStartTime(pid).value_or(0)};
}

bool OwnerAlive(const ClusterOwner& owner) {
  auto start = ProcessStartTime(owner.pid);
  return start && *start == owner.start_time;
}

}  // namespace faultline
