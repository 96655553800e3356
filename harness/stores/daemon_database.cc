#include "harness/stores/daemon_database.h"

#include <algorithm>

namespace faultline {

void DaemonDatabase::Restart(const NodeInfo& node) {
  Start(node);
  WaitHealthy(node, restart_timeout_);
}

bool SetsFlag(const std::vector<std::string>& args, std::string_view flag) {
  return std::any_of(args.begin(), args.end(), [flag](std::string_view a) {
    return a == flag || (a.starts_with(flag) && a.size() > flag.size() && a[flag.size()] == '=');
  });
}

}  // namespace faultline
