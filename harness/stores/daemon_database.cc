#include "harness/stores/daemon_database.h"

namespace faultline {

void DaemonDatabase::Restart(const NodeInfo& node) {
  Start(node);
  WaitHealthy(node, restart_timeout_);
}

}  // namespace faultline
