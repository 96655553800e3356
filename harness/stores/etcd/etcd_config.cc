#include "harness/stores/etcd/etcd_config.h"

#include <fmt/format.h>

#include "harness/stores/daemon_database.h"

namespace faultline {

EtcdConfig ParseEtcdConfig(const ConfigFields& e, bool selected, int /*node_count*/) {
  EtcdConfig s;
  s.client_port = e.Int("client-port");
  s.peer_port = e.Int("peer-port");
  s.binary = e.String("binary");
  s.serializable_reads = e.Bool("serializable-reads");
  s.args = e.Strings("args");
  if (!selected) return s;
  CheckPort(e.Name("client-port"), s.client_port);
  CheckPort(e.Name("peer-port"), s.peer_port);
  if (s.client_port == s.peer_port) {
    FailConfig(fmt::format("\"etcd.client-port\" and \"etcd.peer-port\" must differ (both {})", s.client_port));
  }
  if (s.binary.empty()) FailConfig("\"etcd.binary\" must not be empty");
  // These the adapter sets itself from the node list; a second value would
  // silently win or make etcd refuse to start.
  static const char* const kOwned[] = {"--name",
                                       "--data-dir",
                                       "--listen-client-urls",
                                       "--advertise-client-urls",
                                       "--listen-peer-urls",
                                       "--initial-advertise-peer-urls",
                                       "--initial-cluster",
                                       "--initial-cluster-state",
                                       "--initial-cluster-token"};
  for (const char* owned : kOwned) {
    if (SetsFlag(s.args, owned)) {
      FailConfig(fmt::format("\"etcd.args\" must not set {}: faultline sets it from the node list", owned));
    }
  }
  return s;
}

nlohmann::json ToJson(const EtcdConfig& c) {
  return {{"client-port", c.client_port},
          {"peer-port", c.peer_port},
          {"binary", c.binary},
          {"serializable-reads", c.serializable_reads},
          {"args", c.args}};
}

}  // namespace faultline
