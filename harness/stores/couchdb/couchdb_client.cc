#include "harness/stores/couchdb/couchdb_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "harness/base/harness_error.h"

namespace faultline {

namespace {

using json = nlohmann::json;

Completion Fail(std::string error, json value = nullptr) { return {OpType::kFail, std::move(value), std::move(error)}; }

std::string Shown(const json& j) {
  std::string s = j.dump();
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

// The integers a document holds: a set's "elements", a register's "value".
bool DocValues(const json& doc, WorkloadKind kind, std::set<int64_t>* out, std::string* error) {
  if (kind == WorkloadKind::kSet) {
    auto it = doc.find("elements");
    if (it == doc.end() || !it->is_array()) {
      *error = "not a set document (no \"elements\" array): " + Shown(doc);
      return false;
    }
    for (const json& e : *it) {
      if (!e.is_number_integer()) {
        *error = "a set element is not an integer: " + Shown(doc);
        return false;
      }
      out->insert(e.get<int64_t>());
    }
    return true;
  }
  auto it = doc.find("value");
  if (it == doc.end() || !it->is_number_integer()) {
    *error = "not a register document (no integer \"value\"): " + Shown(doc);
    return false;
  }
  out->insert(it->get<int64_t>());
  return true;
}

json Sorted(const std::set<int64_t>& values) { return json(std::vector<int64_t>(values.begin(), values.end())); }

}  // namespace

CouchdbClient::CouchdbClient(CouchdbClientSpec spec, ClientOptions options)
    : spec_(std::move(spec)), options_(options), docs_(spec_.address, spec_.port, spec_.database) {
  if (options_.workload != WorkloadKind::kSet && options_.workload != WorkloadKind::kRegister) {
    throw HarnessError(fmt::format("couchdb client: {}", CouchdbUnsupported({}, options_.workload, "")));
  }
}

Completion CouchdbClient::Invoke(const Invocation& op) {
  const Deadline deadline = CouchdbDocuments::Clock::now() + options_.op_timeout;
  if (spec_.create_database && !database_ready_) {
    CouchdbReply r = docs_.CreateDatabase(deadline);
    if (!r.ok()) return Fail("cannot create the database: " + r.error);
    database_ready_ = true;
  }
  return options_.workload == WorkloadKind::kSet ? Set(op, deadline) : Register(op, deadline);
}

std::optional<CouchdbClient::Read> CouchdbClient::ReadKey(const std::string& key, Deadline deadline,
                                                          std::string* error) {
  Read read;
  CouchdbReply r = docs_.Get(key, spec_.resolve_conflicts ? "open_revs=all" : "", deadline);
  if (r.not_found) return read;  // missing (or deleted): no leaves
  if (!r.ok()) {
    *error = r.error;
    return std::nullopt;
  }
  if (spec_.resolve_conflicts) {
    if (!ParseCouchdbLeaves(r.body, &read.leaves, error)) return std::nullopt;
    read.leaves = CouchdbLiveLeaves(std::move(read.leaves));
  } else {
    if (!r.body.is_object() || !r.body.contains("_rev") || !r.body["_rev"].is_string()) {
      *error = "document without _rev: " + Shown(r.body);
      return std::nullopt;
    }
    read.leaves.push_back({r.body["_rev"].get<std::string>(), false, r.body});
  }
  for (const CouchdbLeaf& leaf : read.leaves) {
    if (!DocValues(leaf.doc, options_.workload, &read.values, error)) {
      *error = fmt::format("{} revision {}: {}", key, leaf.rev, *error);
      return std::nullopt;
    }
  }
  return read;
}

Completion CouchdbClient::Write(const std::string& key, const Read& read, const json& content, json value,
                                Deadline deadline) {
  json winner = content;
  if (!read.leaves.empty()) winner["_rev"] = read.leaves[0].rev;
  CouchdbReply r = docs_.Put(key, winner, deadline);
  if (!r.ok()) {
    return {r.status == CouchdbReply::Status::kFailed ? OpType::kFail : OpType::kInfo, std::move(value), r.error};
  }
  // The losers' values are in the winner now: delete them, one request each
  // (never two edits of one document in a _bulk_docs: see the header). A
  // deletion that fails leaves a conflict the next write merges again.
  for (size_t i = 1; i < read.leaves.size() && spec_.resolve_conflicts; ++i) {
    docs_.Delete(key, read.leaves[i].rev, deadline);
  }
  return {OpType::kOk, std::move(value), ""};
}

Completion CouchdbClient::Set(const Invocation& op, Deadline deadline) {
  if (op.f != "add" && op.f != "read") {
    return Fail(fmt::format("couchdb client does not support f={} (workload set)", op.f));
  }
  if (op.f == "add" && !op.value.is_number_integer()) {
    return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
  }
  std::string error;
  auto read = ReadKey(op.key, deadline, &error);
  if (!read) return Fail(error, op.f == "add" ? op.value : json(nullptr));
  if (op.f == "read") return {OpType::kOk, Sorted(read->values), ""};
  std::set<int64_t> elements = read->values;
  elements.insert(op.value.get<int64_t>());
  return Write(op.key, *read, {{"elements", Sorted(elements)}}, op.value, deadline);
}

Completion CouchdbClient::Register(const Invocation& op, Deadline deadline) {
  if (op.f != "rmw" && op.f != "read") {
    return Fail(fmt::format("couchdb client does not support f={} (workload register)", op.f));
  }
  if (op.f == "rmw" &&
      (!op.value.is_object() || !op.value.contains("write") || !op.value["write"].is_number_integer())) {
    return Fail(fmt::format("rmw needs a value {{\"write\":<integer>}}, got {}", op.value.dump()));
  }
  std::string error;
  auto read = ReadKey(op.key, deadline, &error);
  if (op.f == "read") return read ? Completion{OpType::kOk, Sorted(read->values), ""} : Fail(error);
  const int64_t id = op.value["write"].get<int64_t>();
  if (!read) return Fail(error, {{"write", id}});  // nothing written
  return Write(op.key, *read, {{"value", id}}, {{"read", Sorted(read->values)}, {"write", id}}, deadline);
}

CouchdbDocuments& CouchdbClient::Member(const std::string& name) {
  auto& d = member_docs_[name];
  if (!d) d = std::make_unique<CouchdbDocuments>(spec_.members.at(name), spec_.port, spec_.database);
  return *d;
}

std::optional<ReplicaRead> CouchdbClient::ReadReplicas(const std::string& key) {
  ReplicaRead out;
  const auto failed = [&](const std::string& name, const std::string& error) {
    out.error += fmt::format("{}cannot read replica {}: {}", out.error.empty() ? "" : "; ", name, error);
  };
  for (const auto& [name, address] : spec_.members) {
    CouchdbReply r = Member(name).Get(key, "conflicts=true", CouchdbDocuments::Clock::now() + options_.op_timeout);
    std::vector<std::string> entries;
    if (r.not_found) {
      out.replicas[name] = json::array();  // missing: no revisions
      continue;
    }
    if (!r.ok()) {
      failed(name, r.error);
      continue;
    }
    const json& doc = r.body;
    if (!doc.is_object() || !doc.contains("_rev") || !doc["_rev"].is_string()) {
      failed(name, "document without _rev: " + Shown(doc));
      continue;
    }
    entries.push_back("winner " + doc["_rev"].get<std::string>());
    const json conflicts = doc.value("_conflicts", json::array());
    if (!conflicts.is_array()) {
      failed(name, "\"_conflicts\" is not an array: " + Shown(doc));
      continue;
    }
    for (const json& rev : conflicts)
      entries.push_back("conflict " + (rev.is_string() ? rev.get<std::string>() : rev.dump()));
    std::sort(entries.begin(), entries.end());
    out.replicas[name] = json(entries);
  }
  return out;
}

}  // namespace faultline
