#include "harness/stores/dynastore/dynastore_client.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "harness/base/harness_error.h"

namespace faultline {

namespace {

using json = nlohmann::json;

Completion Fail(std::string error) { return {OpType::kFail, nullptr, std::move(error)}; }

std::string Truncate(std::string s, size_t max = 80) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

// "<status> <error>: <message>" from an error body; the raw body when it is not one.
std::string DescribeError(int status, const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    std::string code = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
    std::string message = j.value("message", json("")).is_string() ? j.value("message", std::string()) : "";
    return message.empty() ? fmt::format("{} {}", status, code) : fmt::format("{} {}: {}", status, code, message);
  }
  return fmt::format("{} {}", status, Truncate(body));
}

// What an HTTP-level failure is called in an op's error.
std::string DescribeFailure(const HttpResult& r, const char* request, std::chrono::milliseconds timeout) {
  switch (r.failure) {
    case HttpFailure::kTimeout:
      return fmt::format("timeout after {} ms ({})", timeout.count(), request);
    case HttpFailure::kRefused:
      return "connection refused";
    default:
      return fmt::format("{} ({})", r.error, request);
  }
}

struct SetState {
  std::set<int64_t> elements;
  std::string context;
};

// Parses a GET /kv/K reply (200 or 404) into the union of its siblings.
// Returns the error on failure.
std::optional<std::string> ParseSetRead(const std::string& key, const std::string& body, SetState& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("values") || !j["values"].is_array()) {
    return fmt::format("bad GET reply for key {}: {}", key, Truncate(body));
  }
  if (j.contains("context") && j["context"].is_string()) out.context = j["context"].get<std::string>();
  for (const json& sibling : j["values"]) {
    bool good = sibling.is_string();
    json set;
    if (good) {
      set = json::parse(sibling.get<std::string>(), nullptr, false);
      good = set.is_array();
    }
    if (good) {
      for (const json& e : set) {
        if (!e.is_number_integer()) {
          good = false;
          break;
        }
      }
    }
    if (!good) {
      return fmt::format("key {} holds a sibling that is not a JSON array of integers: {}", key,
                         Truncate(sibling.is_string() ? sibling.get<std::string>() : sibling.dump()));
    }
    for (const json& e : set) out.elements.insert(e.get<int64_t>());
  }
  return std::nullopt;
}

json SortedArray(const std::set<int64_t>& elements) {
  json a = json::array();
  for (int64_t e : elements) a.push_back(e);
  return a;
}

// The "values" array of a GET /kv/K reply (200 or 404), and its context.
std::optional<std::string> ParseSiblings(const std::string& key, const std::string& body,
                                         std::vector<std::string>& values, std::string* context) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("values") || !j["values"].is_array()) {
    return fmt::format("bad GET reply for key {}: {}", key, Truncate(body));
  }
  if (context != nullptr && j.contains("context") && j["context"].is_string()) {
    *context = j["context"].get<std::string>();
  }
  for (const json& sibling : j["values"]) {
    if (!sibling.is_string()) return fmt::format("bad GET reply for key {}: {}", key, Truncate(body));
    values.push_back(sibling.get<std::string>());
  }
  return std::nullopt;
}

// A register sibling: the decimal write id, nothing else.
std::optional<int64_t> ParseId(const std::string& s) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return id;
}

struct RegisterState {
  std::set<int64_t> ids;
  std::string context;
};

std::optional<std::string> ParseRegisterRead(const std::string& key, const std::string& body, RegisterState& out) {
  std::vector<std::string> siblings;
  if (auto error = ParseSiblings(key, body, siblings, &out.context)) return error;
  for (const auto& sibling : siblings) {
    auto id = ParseId(sibling);
    if (!id) return fmt::format("key {} holds a sibling that is not an integer write id: {}", key, Truncate(sibling));
    out.ids.insert(*id);
  }
  return std::nullopt;
}

// A PN-counter: per writer, the total of its increments (p) and decrements (n).
using PnCounter = std::map<std::string, std::pair<int64_t, int64_t>>;

struct CounterState {
  PnCounter merged;
  std::string context;
};

// Parses the siblings and merges them: per writer, the max of p and of n.
std::optional<std::string> ParseCounterRead(const std::string& key, const std::string& body, CounterState& out) {
  std::vector<std::string> siblings;
  if (auto error = ParseSiblings(key, body, siblings, &out.context)) return error;
  for (const auto& sibling : siblings) {
    json j = json::parse(sibling, nullptr, false);
    bool good = j.is_object();
    if (good) {
      for (const auto& [writer, entry] : j.items()) {
        if (!entry.is_object() || !entry.contains("p") || !entry.contains("n") || !entry["p"].is_number_integer() ||
            !entry["n"].is_number_integer() || entry["p"].get<int64_t>() < 0 || entry["n"].get<int64_t>() < 0) {
          good = false;
          break;
        }
        auto& [p, n] = out.merged[writer];
        p = std::max(p, entry["p"].get<int64_t>());
        n = std::max(n, entry["n"].get<int64_t>());
      }
    }
    if (!good) {
      return fmt::format("key {} holds a sibling that is not a PN-counter object: {}", key, Truncate(sibling));
    }
  }
  return std::nullopt;
}

std::string EncodeCounter(const PnCounter& counter) {
  json j = json::object();
  for (const auto& [writer, pn] : counter) j[writer] = {{"p", pn.first}, {"n", pn.second}};
  return j.dump();
}

// What a PUT's answer means: nullopt for ok, else a fail or an info. `value`
// goes into the completion either way.
std::optional<Completion> PutOutcome(const HttpResult& put, std::chrono::milliseconds timeout, const json& value) {
  if (!put.ok()) {
    std::string error = DescribeFailure(put, "PUT", timeout);
    return Completion{put.maybe_sent ? OpType::kInfo : OpType::kFail, value, std::move(error)};
  }
  if (put.status == 200) return std::nullopt;
  if (put.status == 503) {
    json j = json::parse(put.body, nullptr, false);
    std::string message = j.is_object() && j.contains("message") && j["message"].is_string()
                              ? j["message"].get<std::string>()
                              : Truncate(put.body);
    bool definite = j.is_object() && j.contains("indeterminate") && j["indeterminate"] == false;
    if (definite) return Completion{OpType::kFail, value, fmt::format("503 unavailable: {}", message)};
    return Completion{OpType::kInfo, value, fmt::format("503 unavailable (indeterminate): {}", message)};
  }
  if (put.status >= 400 && put.status < 500) {
    return Completion{OpType::kFail, value, DescribeError(put.status, put.body)};
  }
  // 500 internal and anything unexpected: the write may have happened.
  return Completion{OpType::kInfo, value, DescribeError(put.status, put.body)};
}

}  // namespace

DynastoreClient::DynastoreClient(std::string address, int port, ClientOptions options,
                                 std::map<std::string, DynastoreEndpoint> nodes)
    : options_(std::move(options)), conn_(std::move(address), port), nodes_(std::move(nodes)) {
  const WorkloadKind w = options_.workload;
  if (w != WorkloadKind::kSet && w != WorkloadKind::kRegister && w != WorkloadKind::kCounter &&
      w != WorkloadKind::kCasRegister) {
    throw HarnessError(fmt::format("dynastore client: unknown workload kind {} (set, register, counter, cas-register)",
                                   static_cast<int>(w)));
  }
  if (w == WorkloadKind::kCounter) {
    std::random_device rd;
    uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    writer_prefix_ = fmt::format("{:016x}", r);
    writer_ = fmt::format("{}-{}", writer_prefix_, writer_serial_);
  }
}

void DynastoreClient::RenewWriter() {
  writer_ = fmt::format("{}-{}", writer_prefix_, ++writer_serial_);
  own_.clear();
}

Completion DynastoreClient::Invoke(const Invocation& op) {
  auto deadline = HttpConnection::Clock::now() + options_.op_timeout;
  switch (options_.workload) {
    case WorkloadKind::kSet:
      if (op.f == "add") return SetAdd(op, deadline);
      if (op.f == "read") return SetRead(op, deadline);
      break;
    case WorkloadKind::kRegister:
      if (op.f == "rmw") return RegisterRmw(op, deadline);
      if (op.f == "read") return RegisterRead(op, deadline);
      break;
    case WorkloadKind::kCounter:
      if (op.f == "add") return CounterAdd(op, deadline);
      if (op.f == "read") return CounterRead(op, deadline);
      break;
    case WorkloadKind::kCasRegister:
      if (op.f == "read") return CasRegisterRead(op, deadline);
      if (op.f == "write") return CasRegisterWrite(op, deadline);
      break;
  }
  return Fail(
      fmt::format("dynastore client does not support f={} (workload {})", op.f, WorkloadKindName(options_.workload)));
}

Completion DynastoreClient::SetRead(const Invocation& op, Deadline deadline) {
  std::string target = "/kv/" + PercentEncode(op.key);
  HttpResult r = conn_.Request("GET", target, "", deadline);
  // A read changes nothing, so whatever went wrong it certainly had no effect.
  if (!r.ok()) return Fail(DescribeFailure(r, "GET", options_.op_timeout));
  if (r.status != 200 && r.status != 404) return Fail(DescribeError(r.status, r.body));
  SetState read;
  if (auto error = ParseSetRead(op.key, r.body, read)) return Fail(*error);
  return {OpType::kOk, SortedArray(read.elements), ""};
}

Completion DynastoreClient::SetAdd(const Invocation& op, Deadline deadline) {
  if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
  int64_t element = op.value.get<int64_t>();
  std::string target = "/kv/" + PercentEncode(op.key);

  // Nothing is written until the PUT, so every failure up to it is a fail.
  HttpResult get = conn_.Request("GET", target, "", deadline);
  if (!get.ok()) return Fail(DescribeFailure(get, "GET", options_.op_timeout));
  if (get.status != 200 && get.status != 404) return Fail(DescribeError(get.status, get.body));
  SetState read;
  if (auto error = ParseSetRead(op.key, get.body, read)) return Fail(*error);

  read.elements.insert(element);
  json put_body = {{"value", SortedArray(read.elements).dump()}, {"context", read.context}};
  HttpResult put = conn_.Request("PUT", target, put_body.dump(), deadline);
  if (auto outcome = PutOutcome(put, options_.op_timeout, nullptr)) return *outcome;
  return {OpType::kOk, element, ""};
}

Completion DynastoreClient::RegisterRead(const Invocation& op, Deadline deadline) {
  HttpResult r = conn_.Request("GET", "/kv/" + PercentEncode(op.key), "", deadline);
  if (!r.ok()) return Fail(DescribeFailure(r, "GET", options_.op_timeout));
  if (r.status != 200 && r.status != 404) return Fail(DescribeError(r.status, r.body));
  RegisterState read;
  if (auto error = ParseRegisterRead(op.key, r.body, read)) return Fail(*error);
  return {OpType::kOk, SortedArray(read.ids), ""};
}

Completion DynastoreClient::RegisterRmw(const Invocation& op, Deadline deadline) {
  if (!op.value.is_object() || !op.value.contains("write") || !op.value["write"].is_number_integer()) {
    return Fail(fmt::format("rmw needs a value {{\"write\":<integer>}}, got {}", op.value.dump()));
  }
  int64_t id = op.value["write"].get<int64_t>();
  json value = {{"write", id}};
  std::string target = "/kv/" + PercentEncode(op.key);

  HttpResult get = conn_.Request("GET", target, "", deadline);
  if (!get.ok()) return {OpType::kFail, value, DescribeFailure(get, "GET", options_.op_timeout)};
  if (get.status != 200 && get.status != 404) return {OpType::kFail, value, DescribeError(get.status, get.body)};
  RegisterState read;
  if (auto error = ParseRegisterRead(op.key, get.body, read)) return {OpType::kFail, value, *error};

  value = {{"read", SortedArray(read.ids)}, {"write", id}};
  json put_body = {{"value", std::to_string(id)}, {"context", read.context}};
  HttpResult put = conn_.Request("PUT", target, put_body.dump(), deadline);
  if (auto outcome = PutOutcome(put, options_.op_timeout, value)) return *outcome;
  return {OpType::kOk, value, ""};
}

Completion DynastoreClient::CounterRead(const Invocation& op, Deadline deadline) {
  HttpResult r = conn_.Request("GET", "/kv/" + PercentEncode(op.key), "", deadline);
  if (!r.ok()) return Fail(DescribeFailure(r, "GET", options_.op_timeout));
  if (r.status != 200 && r.status != 404) return Fail(DescribeError(r.status, r.body));
  CounterState read;
  if (auto error = ParseCounterRead(op.key, r.body, read)) return Fail(*error);
  int64_t total = 0;
  for (const auto& [writer, pn] : read.merged) total += pn.first - pn.second;
  return {OpType::kOk, total, ""};
}

Completion DynastoreClient::CounterAdd(const Invocation& op, Deadline deadline) {
  if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
  int64_t delta = op.value.get<int64_t>();
  std::string target = "/kv/" + PercentEncode(op.key);

  HttpResult get = conn_.Request("GET", target, "", deadline);
  if (!get.ok()) return {OpType::kFail, delta, DescribeFailure(get, "GET", options_.op_timeout)};
  if (get.status != 200 && get.status != 404) return {OpType::kFail, delta, DescribeError(get.status, get.body)};
  CounterState read;
  if (auto error = ParseCounterRead(op.key, get.body, read)) return {OpType::kFail, delta, *error};

  // Start from what this client last wrote under its writer id, not only
  // from the read: a read that missed our last acknowledged write (another
  // replica set, sloppy quorum) must not roll our entry back.
  auto& [p, n] = read.merged[writer_];
  auto own = own_.find(op.key);
  if (own != own_.end()) {
    p = std::max(p, own->second.first);
    n = std::max(n, own->second.second);
  }
  if (delta > 0) {
    p += delta;
  } else {
    n += -delta;
  }
  const std::pair<int64_t, int64_t> written{p, n};
  json put_body = {{"value", EncodeCounter(read.merged)}, {"context", read.context}};
  HttpResult put = conn_.Request("PUT", target, put_body.dump(), deadline);
  if (auto outcome = PutOutcome(put, options_.op_timeout, delta)) {
    if (outcome->type == OpType::kInfo) RenewWriter();
    return *outcome;
  }
  own_[op.key] = written;
  return {OpType::kOk, delta, ""};
}

std::string DynastoreUnsupported(const DynastoreConfig& /*config*/, WorkloadKind kind, std::string_view f) {
  if (kind == WorkloadKind::kCasRegister && f == "cas") {
    return "dynastore has no compare-and-set: a put supersedes the versions its context names, whatever they hold";
  }
  return "";
}

namespace {

// A cas-register read: the distinct sibling values (each the JSON text of a
// value; a sibling that is not JSON is kept as a string), null when none, the
// value when one.
std::optional<std::string> ParseCasRegisterRead(const std::string& key, const std::string& body, json* value,
                                                std::string* context) {
  std::vector<std::string> siblings;
  if (auto error = ParseSiblings(key, body, siblings, context)) return error;
  std::vector<json> values;
  for (const std::string& s : siblings) {
    json v = json::parse(s, nullptr, false);
    if (v.is_discarded()) v = s;
    if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(std::move(v));
  }
  std::sort(values.begin(), values.end());
  if (values.empty()) {
    *value = nullptr;
  } else if (values.size() == 1) {
    *value = std::move(values[0]);
  } else {
    *value = json(std::move(values));
  }
  return std::nullopt;
}

}  // namespace

Completion DynastoreClient::CasRegisterRead(const Invocation& op, Deadline deadline) {
  HttpResult r = conn_.Request("GET", "/kv/" + PercentEncode(op.key), "", deadline);
  if (!r.ok()) return Fail(DescribeFailure(r, "GET", options_.op_timeout));
  if (r.status != 200 && r.status != 404) return Fail(DescribeError(r.status, r.body));
  json value;
  if (auto error = ParseCasRegisterRead(op.key, r.body, &value, nullptr)) return Fail(*error);
  return {OpType::kOk, std::move(value), ""};
}

Completion DynastoreClient::CasRegisterWrite(const Invocation& op, Deadline deadline) {
  const std::string target = "/kv/" + PercentEncode(op.key);
  // The GET only fetches the context: nothing is written until the PUT.
  HttpResult get = conn_.Request("GET", target, "", deadline);
  if (!get.ok()) return {OpType::kFail, op.value, DescribeFailure(get, "GET", options_.op_timeout)};
  if (get.status != 200 && get.status != 404) return {OpType::kFail, op.value, DescribeError(get.status, get.body)};
  json ignored;
  std::string context;
  if (auto error = ParseCasRegisterRead(op.key, get.body, &ignored, &context)) return {OpType::kFail, op.value, *error};
  json put_body = {{"value", op.value.dump()}, {"context", context}};
  HttpResult put = conn_.Request("PUT", target, put_body.dump(), deadline);
  if (auto outcome = PutOutcome(put, options_.op_timeout, op.value)) return *outcome;
  return {OpType::kOk, op.value, ""};
}

std::optional<std::string> DynastoreClient::LoadRing() {
  if (ring_) return std::nullopt;
  // Our own node first, then any other: the ring is the same everywhere.
  std::vector<HttpConnection*> sources = {&conn_};
  for (const auto& [id, endpoint] : nodes_) sources.push_back(&ConnectionTo(id));
  std::string errors;
  for (HttpConnection* conn : sources) {
    HttpResult r = conn->Request("GET", "/ring", "", HttpConnection::Clock::now() + options_.op_timeout);
    std::string error;
    if (!r.ok()) {
      error = DescribeFailure(r, "GET /ring", options_.op_timeout);
    } else if (r.status != 200) {
      error = DescribeError(r.status, r.body);
    } else {
      json j = json::parse(r.body, nullptr, false);
      Ring ring;
      bool good = j.is_object() && j.value("hash", json()) == "xxh3-64" && j.contains("partitions") &&
                  j["partitions"].is_number_integer() && j["partitions"].get<int64_t>() > 0 && j.contains("ring") &&
                  j["ring"].is_array() && j["ring"].size() == j["partitions"].get<uint64_t>();
      if (good) {
        ring.partitions = j["partitions"].get<int>();
        ring.replicas.resize(ring.partitions);
        for (const json& entry : j["ring"]) {
          if (!entry.is_object() || !entry.contains("partition") || !entry["partition"].is_number_integer() ||
              !entry.contains("replicas") || !entry["replicas"].is_array()) {
            good = false;
            break;
          }
          int64_t p = entry["partition"].get<int64_t>();
          if (p < 0 || p >= ring.partitions) {
            good = false;
            break;
          }
          for (const json& node : entry["replicas"]) {
            if (!node.is_string()) {
              good = false;
              break;
            }
            ring.replicas[p].push_back(node.get<std::string>());
          }
        }
      }
      if (good) {
        ring_ = std::move(ring);
        return std::nullopt;
      }
      error = "bad /ring reply: " + Truncate(r.body);
    }
    errors += (errors.empty() ? "" : "; ") + error;
  }
  return "cannot read the ring: " + errors;
}

HttpConnection& DynastoreClient::ConnectionTo(const std::string& node) {
  auto& conn = replica_conns_[node];
  if (!conn) {
    const DynastoreEndpoint& e = nodes_.at(node);
    conn = std::make_unique<HttpConnection>(e.address, e.port);
  }
  return *conn;
}

std::optional<ReplicaRead> DynastoreClient::ReadReplicas(const std::string& key) {
  ReplicaRead out;
  if (auto error = LoadRing()) {
    out.error = *error;
    return out;
  }
  // Exactly store/ring.cc's Ring::PartitionOf: floor(hash * Q / 2^64).
  uint64_t hash = XXH3_64bits(key.data(), key.size());
  auto partition = static_cast<size_t>((static_cast<unsigned __int128>(hash) * ring_->partitions) >> 64);
  std::vector<std::string> errors;
  const std::string target = "/kv/" + PercentEncode(key) + "?local=true";
  for (const std::string& node : ring_->replicas[partition]) {
    if (!nodes_.count(node)) {
      errors.push_back(fmt::format("{}: no address known", node));
      continue;
    }
    HttpResult r = ConnectionTo(node).Request("GET", target, "", HttpConnection::Clock::now() + options_.op_timeout);
    if (!r.ok()) {
      errors.push_back(fmt::format("{}: {}", node, DescribeFailure(r, "GET local", options_.op_timeout)));
      continue;
    }
    if (r.status != 200 && r.status != 404) {
      errors.push_back(fmt::format("{}: {}", node, DescribeError(r.status, r.body)));
      continue;
    }
    std::vector<std::string> values;
    if (auto error = ParseSiblings(key, r.body, values, nullptr)) {
      errors.push_back(fmt::format("{}: {}", node, *error));
      continue;
    }
    std::sort(values.begin(), values.end());
    json array = json::array();
    for (auto& v : values) array.push_back(std::move(v));
    out.replicas[node] = std::move(array);
  }
  for (const auto& e : errors) out.error += (out.error.empty() ? "cannot read replica " : "; cannot read replica ") + e;
  return out;
}

}  // namespace faultline
