#include "harness/stores/etcd/etcd_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "harness/base/harness_error.h"

namespace faultline {

namespace {

using json = nlohmann::json;

Completion Fail(std::string error, json value = nullptr) { return {OpType::kFail, std::move(value), std::move(error)}; }

// A put or txn that did not answer ok: fail when etcd certainly did not
// apply it, info when it may have.
Completion WriteNotOk(const EtcdReply& r, json value) {
  return {r.status == EtcdReply::Status::kFailed ? OpType::kFail : OpType::kInfo, std::move(value), r.error};
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Shown(std::string_view s) { return s.size() > 60 ? std::string(s.substr(0, 60)) + "..." : std::string(s); }

// The set's prefix: "K/" (element keys "K/17").
std::string SetPrefix(const std::string& key) { return key + "/"; }

}  // namespace

std::string EtcdUnsupported(const EtcdConfig& /*config*/, WorkloadKind /*kind*/, std::string_view /*f*/) { return ""; }

EtcdClient::EtcdClient(std::string address, const EtcdConfig& config, ClientOptions options,
                       std::map<std::string, std::string> members)
    : options_(std::move(options)),
      config_(config),
      gateway_(std::move(address), config.client_port),
      members_(std::move(members)) {
  const WorkloadKind w = options_.workload;
  if (w != WorkloadKind::kSet && w != WorkloadKind::kRegister && w != WorkloadKind::kCounter &&
      w != WorkloadKind::kCasRegister) {
    throw HarnessError(fmt::format("etcd client: unknown workload kind {}", static_cast<int>(w)));
  }
}

Completion EtcdClient::Invoke(const Invocation& op) {
  const Deadline deadline = EtcdGateway::Clock::now() + options_.op_timeout;
  switch (options_.workload) {
    case WorkloadKind::kCasRegister:
      return CasRegister(op, deadline);
    case WorkloadKind::kSet:
      return Set(op, deadline);
    case WorkloadKind::kRegister:
      return Register(op, deadline);
    case WorkloadKind::kCounter:
      return Counter(op, deadline);
  }
  return Fail("etcd client: unknown workload");
}

EtcdReply EtcdClient::Read(EtcdGateway& gateway, const std::string& key, bool serializable, Deadline deadline) {
  if (options_.workload == WorkloadKind::kSet) {
    const std::string prefix = SetPrefix(key);
    return gateway.Range(prefix, EtcdPrefixEnd(prefix), serializable, deadline);
  }
  return gateway.Range(key, "", serializable, deadline);
}

Completion EtcdClient::CasRegister(const Invocation& op, Deadline deadline) {
  if (op.f == "read") {
    EtcdReply r = Read(gateway_, op.key, config_.serializable_reads, deadline);
    if (!r.ok()) return Fail(r.error);
    if (r.kvs.empty()) return {OpType::kOk, nullptr, ""};
    json value = json::parse(r.kvs[0].value, nullptr, false);
    if (value.is_discarded()) value = r.kvs[0].value;  // not ours: shown as the text it is
    return {OpType::kOk, std::move(value), ""};
  }
  if (op.f == "write") {
    EtcdReply r = gateway_.Put(op.key, op.value.dump(), deadline);
    if (!r.ok()) return WriteNotOk(r, op.value);
    return {OpType::kOk, op.value, ""};
  }
  if (op.f == "cas") {
    if (!op.value.is_array() || op.value.size() != 2) {
      return Fail(fmt::format("cas needs a value [old, new], got {}", op.value.dump()), op.value);
    }
    EtcdCompare compare{EtcdCompare::Target::kValue, op.key, op.value[0].dump(), 0};
    EtcdReply r = gateway_.Txn(compare, op.key, op.value[1].dump(), deadline);
    if (!r.ok()) return WriteNotOk(r, op.value);
    if (!r.succeeded) return Fail(fmt::format("{} does not hold {}", op.key, op.value[0].dump()), op.value);
    return {OpType::kOk, op.value, ""};
  }
  return Fail(fmt::format("etcd client does not support f={} (workload cas-register)", op.f));
}

Completion EtcdClient::Set(const Invocation& op, Deadline deadline) {
  if (op.f == "add") {
    if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
    const std::string element = std::to_string(op.value.get<int64_t>());
    EtcdReply r = gateway_.Put(SetPrefix(op.key) + element, element, deadline);
    if (!r.ok()) return WriteNotOk(r, op.value);
    return {OpType::kOk, op.value, ""};
  }
  if (op.f == "read") {
    EtcdReply r = Read(gateway_, op.key, config_.serializable_reads, deadline);
    if (!r.ok()) return Fail(r.error);
    std::set<int64_t> elements;
    for (const EtcdKv& kv : r.kvs) {
      auto e = ParseInt(kv.value);
      if (!e) return Fail(fmt::format("{} holds a value that is not an integer: {}", Shown(kv.key), Shown(kv.value)));
      elements.insert(*e);
    }
    return {OpType::kOk, json(std::vector<int64_t>(elements.begin(), elements.end())), ""};
  }
  return Fail(fmt::format("etcd client does not support f={} (workload set)", op.f));
}

Completion EtcdClient::Register(const Invocation& op, Deadline deadline) {
  if (op.f == "read") {
    EtcdReply r = Read(gateway_, op.key, config_.serializable_reads, deadline);
    if (!r.ok()) return Fail(r.error);
    json ids = json::array();
    if (!r.kvs.empty()) {
      auto id = ParseInt(r.kvs[0].value);
      if (!id) return Fail(fmt::format("{} holds a value that is not a write id: {}", op.key, Shown(r.kvs[0].value)));
      ids.push_back(*id);
    }
    return {OpType::kOk, std::move(ids), ""};
  }
  if (op.f != "rmw") return Fail(fmt::format("etcd client does not support f={} (workload register)", op.f));
  if (!op.value.is_object() || !op.value.contains("write") || !op.value["write"].is_number_integer()) {
    return Fail(fmt::format("rmw needs a value {{\"write\":<integer>}}, got {}", op.value.dump()));
  }
  const int64_t id = op.value["write"].get<int64_t>();
  json value = {{"write", id}};
  EtcdReply read = Read(gateway_, op.key, config_.serializable_reads, deadline);
  if (!read.ok()) return Fail(read.error, value);  // nothing written yet
  json ids = json::array();
  int64_t mod_revision = 0;
  if (!read.kvs.empty()) {
    auto seen = ParseInt(read.kvs[0].value);
    if (!seen)
      return Fail(fmt::format("{} holds a value that is not a write id: {}", op.key, Shown(read.kvs[0].value)), value);
    ids.push_back(*seen);
    mod_revision = read.kvs[0].mod_revision;
  }
  value = {{"read", ids}, {"write", id}};
  EtcdCompare guard{EtcdCompare::Target::kModRevision, op.key, "", mod_revision};
  EtcdReply r = gateway_.Txn(guard, op.key, std::to_string(id), deadline);
  if (!r.ok()) return WriteNotOk(r, value);
  if (!r.succeeded)
    return Fail(fmt::format("{} changed since it was read (mod_revision {})", op.key, mod_revision), value);
  return {OpType::kOk, value, ""};
}

Completion EtcdClient::Counter(const Invocation& op, Deadline deadline) {
  const auto read_value = [&](const EtcdReply& r, int64_t* total, std::string* error) {
    *total = 0;
    if (r.kvs.empty()) return true;
    auto v = ParseInt(r.kvs[0].value);
    if (!v) {
      *error = fmt::format("{} holds a value that is not an integer: {}", op.key, Shown(r.kvs[0].value));
      return false;
    }
    *total = *v;
    return true;
  };
  if (op.f == "read") {
    EtcdReply r = Read(gateway_, op.key, config_.serializable_reads, deadline);
    if (!r.ok()) return Fail(r.error);
    int64_t total = 0;
    std::string error;
    if (!read_value(r, &total, &error)) return Fail(error);
    return {OpType::kOk, total, ""};
  }
  if (op.f != "add") return Fail(fmt::format("etcd client does not support f={} (workload counter)", op.f));
  if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
  const int64_t delta = op.value.get<int64_t>();
  // A guarded txn that lost a race certainly did not apply: read and try again.
  std::string last = "no attempt before the deadline";
  while (EtcdGateway::Clock::now() < deadline) {
    EtcdReply r = gateway_.Range(op.key, "", false, deadline);  // the base must be current, whatever reads use
    if (!r.ok()) return Fail(r.error, delta);
    int64_t total = 0;
    if (!read_value(r, &total, &last)) return Fail(last, delta);
    EtcdCompare guard{EtcdCompare::Target::kModRevision, op.key, "", r.kvs.empty() ? 0 : r.kvs[0].mod_revision};
    EtcdReply put = gateway_.Txn(guard, op.key, std::to_string(total + delta), deadline);
    if (!put.ok()) return WriteNotOk(put, delta);
    if (put.succeeded) return {OpType::kOk, delta, ""};
    last = fmt::format("{} kept changing between read and write", op.key);
  }
  return Fail(last, delta);
}

EtcdGateway& EtcdClient::MemberGateway(const std::string& name) {
  auto& g = member_gateways_[name];
  if (!g) g = std::make_unique<EtcdGateway>(members_.at(name), config_.client_port);
  return *g;
}

std::optional<ReplicaRead> EtcdClient::ReadReplicas(const std::string& key) {
  ReplicaRead out;
  for (const auto& [name, address] : members_) {
    EtcdReply r = Read(MemberGateway(name), key, true, EtcdGateway::Clock::now() + options_.op_timeout);
    if (!r.ok()) {
      out.error += fmt::format("{}cannot read replica {}: {}", out.error.empty() ? "" : "; ", name, r.error);
      continue;
    }
    std::vector<std::string> entries;
    for (const EtcdKv& kv : r.kvs) entries.push_back(fmt::format("{}@{}", kv.value, kv.mod_revision));
    std::sort(entries.begin(), entries.end());
    out.replicas[name] = json(entries);
  }
  return out;
}

}  // namespace faultline
