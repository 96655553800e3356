#include "harness/nodes/container/container_environment.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <future>
#include <map>
#include <sstream>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/host_tools.h"
#include "harness/nodes/local/process_spawn.h"

namespace faultline {
namespace {

using local_internal::RunPodman;
using local_internal::Trimmed;

// No default ulimits: podman would raise RLIMIT_NOFILE, which a VM without
// CAP_SYS_RESOURCE cannot.
constexpr char kContainersConf[] = "[containers]\ndefault_ulimits = []\n";

// `podman run` of node n: named after its namespace and joined to it.
std::vector<std::string> PodmanRunArgs(const LocalNode& n, const std::string& dir, const std::string& nodes_root,
                                       const ContainerOptions& options) {
  std::vector<std::string> args = {"run", "--detach", "--name", n.netns, "--hostname", n.name, "--network",
                                   "ns:/run/netns/" + n.netns,
                                   // catatonit as pid 1 reaps orphans; -P: nothing else to run
                                   "--init", "--volume", dir + ":" + kContainerNodeDir,
                                   // The other nodes' directories stay out of sight (an overlay of
                                   // the host's root would show them); notmpcopyup: nothing of
                                   // them is copied into it either.
                                   "--tmpfs", nodes_root + ":rw,size=64k,mode=0700,notmpcopyup"};
  if (!options.memory.empty()) args.insert(args.end(), {"--memory", options.memory});
  if (options.cpus > 0) args.insert(args.end(), {"--cpus", fmt::format("{:.3f}", options.cpus)});
  if (options.image.empty()) {
    args.insert(args.end(), {"--rootfs", "/:O"});
  } else {
    args.push_back(options.image);
  }
  args.insert(args.end(), {"/run/podman-init", "-P"});
  return args;
}

// Each node's container (named after its namespace): its init pid and
// --cpus limit, from one `podman inspect` of them all (~0.1 CPU-s a call,
// whatever the count). A container podman does not know is missing from the
// result; `error` then says why.
struct Inspected {
  int pid = 0;
  double cpus = 0;
};
std::map<std::string, Inspected> InspectAll(const LocalCluster& cluster, const std::string& conf, std::string* error) {
  std::vector<std::string> args = {"inspect", "--format", "{{.Name}} {{.State.Pid}} {{.HostConfig.NanoCpus}}"};
  for (const LocalNode& n : cluster.nodes()) args.push_back(n.netns);
  CommandResult r = RunPodman(args, conf);
  *error = r.ok()        ? std::string("podman inspect did not list it")
           : r.timed_out ? std::string("podman inspect timed out")
                         : Trimmed(r.err);
  std::map<std::string, Inspected> found;
  std::istringstream lines(r.out);
  std::string name;
  Inspected i;
  long long nano_cpus = 0;
  while (lines >> name >> i.pid >> nano_cpus) {
    i.cpus = double(nano_cpus) / 1e9;
    found[name] = i;
  }
  return found;
}

}  // namespace

void RequireContainerSupport(const std::string& image) {
  std::vector<std::string> missing;
  for (const char* tool : {"podman", "runc", "nsenter"}) {
    if (ResolveExecutable(tool).empty()) missing.push_back(tool);
  }
  if (!missing.empty()) {
    throw HarnessError(
        fmt::format("container nodes need podman, runc and nsenter on PATH; missing: {}. Install them with "
                    "`apt-get install podman runc util-linux` (or scripts/setup), or run without --containers",
                    fmt::join(missing, ", ")));
  }
  if (!image.empty() && !RunPodman({"image", "exists", image}).ok()) {
    throw HarnessError("container image \"" + image +
                       "\" is not in podman's local store (no registry is used): load it first with "
                       "`podman load -i FILE.tar`, `podman import` or `podman build`");
  }
}

std::unique_ptr<ContainerEnvironment> ContainerEnvironment::Create(const ContainerOptions& options) {
  if (options.cpus < 0) throw HarnessError(fmt::format("--node-cpus must be positive, not {}", options.cpus));
  RequireContainerSupport(options.image);
  std::unique_ptr<ContainerEnvironment> env(new ContainerEnvironment());
  env->image_ = options.image;
  env->local_ = LocalEnvironment::Create(options.cluster);
  try {
    env->StartContainers(options);
  } catch (const std::exception& e) {
    std::string what = e.what();
    try {
      env->local_->Teardown();  // the recorded containers go first
    } catch (const std::exception& cleanup) {
      what += "; removing the partial cluster also failed: " + std::string(cleanup.what());
    }
    throw HarnessError("cannot create container nodes: " + what);
  }
  return env;
}

void ContainerEnvironment::StartContainers(const ContainerOptions& options) {
  LocalCluster& cluster = local_->cluster();
  const std::filesystem::path root = cluster.nodes_root();
  const std::string conf = (root / "containers.conf").string();
  WriteNewFile(conf, kContainersConf, 0600);
  const size_t count = cluster.nodes().size();
  for (size_t i = 0; i < count; ++i) {
    std::error_code ec;
    std::filesystem::create_directory(cluster.node_dir(i), ec);  // in the private root: no one can be there first
    if (ec) throw HarnessError("cannot create node directory " + cluster.node_dir(i) + ": " + ec.message());
    cluster.RecordContainer(cluster.nodes()[i].netns);
  }
  // Podman takes most of a node's start: start them all at once.
  std::vector<std::future<CommandResult>> runs;
  for (size_t i = 0; i < count; ++i) {
    runs.push_back(std::async(std::launch::async, [&, i] {
      return RunPodman(PodmanRunArgs(cluster.nodes()[i], cluster.node_dir(i), root.string(), options), conf);
    }));
  }
  std::vector<std::string> errors;
  for (size_t i = 0; i < count; ++i) {
    CommandResult r;
    try {
      r = runs[i].get();
    } catch (const std::exception& e) {
      r.err = e.what();
    }
    if (!r.ok()) {
      errors.push_back(cluster.nodes()[i].name + ": " + (r.timed_out ? std::string("timed out") : Trimmed(r.err)));
    }
  }
  if (!errors.empty())
    throw HarnessError(fmt::format("podman could not start every node: {}", fmt::join(errors, "; ")));
  // The init pids now, in one call, rather than one `podman inspect` per
  // node when each is first entered; a node missing here is looked up then.
  std::string ignored;
  const std::map<std::string, Inspected> inspected = InspectAll(cluster, conf, &ignored);
  std::vector<int> pids;
  for (const LocalNode& n : cluster.nodes()) pids.push_back(inspected.count(n.netns) ? inspected.at(n.netns).pid : 0);
  AddNodes(conf, std::vector<double>(count, options.cpus), pids);
}

void ContainerEnvironment::AddNodes(const std::string& conf, const std::vector<double>& cpus,
                                    const std::vector<int>& pids) {
  LocalCluster& cluster = local_->cluster();
  for (size_t i = 0; i < cluster.nodes().size(); ++i) {
    const LocalNode& n = cluster.nodes()[i];
    machines_.push_back(std::make_unique<ContainerNode>(n.name, n.netns, conf, cpus[i], pids[i]));
    remotes_.push_back(std::make_unique<ContainerRemote>(*machines_.back(), cluster.node_dir(i), kContainerNodeDir));
    nodes_.push_back(NodeInfo{n.name, n.address, kContainerNodeDir, remotes_.back().get(), machines_.back().get(),
                              &cluster.remote(i)});
  }
}

std::unique_ptr<ContainerEnvironment> ContainerEnvironment::Attach(const std::string& run_id) {
  std::unique_ptr<ContainerEnvironment> env(new ContainerEnvironment());
  env->local_ = std::make_unique<LocalEnvironment>(LocalCluster::Attach(run_id));
  env->local_->Release();  // attached: never removed from here
  LocalCluster& cluster = env->local_->cluster();
  std::string error;
  const std::map<std::string, Inspected> inspected = InspectAll(cluster, {}, &error);
  std::vector<double> cpus;
  std::vector<int> pids;
  for (const LocalNode& n : cluster.nodes()) {
    auto it = inspected.find(n.netns);
    if (it == inspected.end())
      throw HarnessError("cluster " + run_id + " has no container for " + n.name + ": " + error);
    // The limit it was made with (podman keeps it; a starve changed only the cgroup).
    cpus.push_back(it->second.cpus);
    pids.push_back(it->second.pid);
  }
  env->AddNodes((cluster.nodes_root() / "containers.conf").string(), cpus, pids);
  return env;
}

ContainerEnvironment::~ContainerEnvironment() = default;

std::string ContainerEnvironment::Describe() const {
  return local_->Describe() + " (Podman containers, " +
         (image_.empty() ? std::string("overlay of the host's root") : "image " + image_) + ")";
}

}  // namespace faultline
