// EtcdClient: one workload's operations against one etcd member, through
// its JSON gateway (EtcdGateway). Reads are linearizable ranges unless the
// config asks for serializable ones ("etcd": {"serializable-reads": true}),
// which the member answers from its own state, possibly stale.
//
// Workloads (history formats in workloads/*_workload.h):
//   cas-register (the value stored is the JSON text of the register's value)
//     read K          range K → the value, null when missing
//     write K v       put K v                                 ok value v
//     cas K [old,new] txn: compare VALUE(K) == old, then put K new → ok when
//                     the compare held; fail "K does not hold old" otherwise
//   set               one key per element under the key's prefix "K/":
//     add K e         put "K/e" = e                           ok value e
//     read K          range over the prefix → sorted integers
//   register (rmw; the lost-update checker applies as on any store)
//     rmw K {"write":id}  range K, then txn: compare MOD(K) == the
//                     mod_revision read (0: missing), then put K id → ok
//                     {"read":[id read or none],"write":id}; fail when K
//                     changed in between (etcd refused the write)
//     read K          range K → [id] or []
//   counter           read-modify-write guarded by mod_revision, retried
//     add K d         until it applies or the op's deadline passes
//     read K          range K → the integer (0 when missing)
// Outcomes (EtcdGateway says which): a read that did not answer is a fail
// (it changed nothing); a put or txn is a fail when etcd certainly did not
// apply it (refused connection, request rejected before Raft), and info
// when it may have (a timeout, a dropped connection after sending,
// "context deadline exceeded", "leader changed", a 5xx).
//
// ReadReplicas(K): a serializable range of K (a set: of its prefix) on every
// member → node name → ["<value>@<mod_revision>", ...] sorted, so replicas
// are compared by value and revision.
//
// Not thread-safe: one per worker.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "harness/api/client.h"
#include "harness/api/database.h"
#include "harness/stores/etcd/etcd_config.h"
#include "harness/stores/etcd/etcd_gateway.h"

namespace faultline {

// Why etcd cannot run op `f` of workload `kind`: never ("").
std::string EtcdUnsupported(const EtcdConfig& config, WorkloadKind kind, std::string_view f);

class EtcdClient : public Client {
 public:
  // `address` is this client's member; `members` maps every member's node
  // name to its address (for replica reads); all serve on config.client_port.
  // Throws HarnessError for a ClientOptions::workload it does not know.
  EtcdClient(std::string address, const EtcdConfig& config, ClientOptions options,
             std::map<std::string, std::string> members = {});
  Completion Invoke(const Invocation& op) override;
  std::optional<ReplicaRead> ReadReplicas(const std::string& key) override;

 private:
  using Deadline = EtcdGateway::Clock::time_point;
  // Range of K (or of its set prefix) on `gateway`; a non-ok reply is returned as is.
  EtcdReply Read(EtcdGateway& gateway, const std::string& key, bool serializable, Deadline deadline);
  Completion CasRegister(const Invocation& op, Deadline deadline);
  Completion Set(const Invocation& op, Deadline deadline);
  Completion Register(const Invocation& op, Deadline deadline);
  Completion Counter(const Invocation& op, Deadline deadline);
  EtcdGateway& MemberGateway(const std::string& name);

  ClientOptions options_;
  EtcdConfig config_;
  EtcdGateway gateway_;
  std::map<std::string, std::string> members_;
  std::map<std::string, std::unique_ptr<EtcdGateway>> member_gateways_;
};

}  // namespace faultline
