#include "harness/run/environment_factory.h"

#include "harness/nodes/container/container_environment.h"
#include "harness/nodes/local/local_environment.h"
#include "harness/nodes/ssh/ssh_environment.h"

namespace faultline {

std::unique_ptr<Environment> MakeEnvironment(const TestConfig& config, const std::filesystem::path& run_dir) {
  if (!config.nodes.empty()) return std::make_unique<SshEnvironment>(config.name, config.nodes, config.ssh);
  LocalClusterOptions options;
  options.nodes = config.local;
  options.subnet = config.subnet;
  // A cluster left running on purpose must survive this process's exit
  // (`faultline cleanup` removes only crashed runs' clusters).
  options.manual = config.leave_db_running;
  // "<test name> <run dir>": `faultline heal` finds the run's test.json by it.
  options.description = config.name + " " + std::filesystem::absolute(run_dir).string();
  if (config.containers) {
    ContainerOptions containers;
    containers.cluster = options;
    containers.image = config.image;
    containers.memory = config.node_memory;
    containers.cpus = config.node_cpus;
    return ContainerEnvironment::Create(containers);
  }
  return LocalEnvironment::Create(options);
}

}  // namespace faultline
