#include "harness/stores/redis/redis_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/stores/daemon_table.h"

namespace faultline {

namespace {

using json = nlohmann::json;
using Clock = RedisConnection::Clock;

constexpr int kMaxTries = 8;
constexpr auto kRetryPause = std::chrono::milliseconds(50);  // before retrying a cluster that is down

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : crc << 1;
  }
  return crc;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "MOVED 3999 10.0.0.3:6379" → (3999, "10.0.0.3:6379").
bool ParseRedirect(const std::string& error, int* slot, std::string* endpoint) {
  const auto first = error.find(' ');
  const auto second = error.find(' ', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  auto s = ParseInt(error.substr(first + 1, second - first - 1));
  if (!s || *s < 0 || *s >= kRedisSlots) return false;
  *slot = static_cast<int>(*s);
  *endpoint = error.substr(second + 1);
  return !endpoint->empty();
}

std::pair<std::string, int> SplitEndpoint(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  std::string host = endpoint.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, std::atoi(endpoint.c_str() + colon + 1)};
}

Completion Fail(std::string error, json value = nullptr) { return {OpType::kFail, std::move(value), std::move(error)}; }

}  // namespace

uint16_t RedisKeySlot(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return Crc16(key) % kRedisSlots;
}

std::optional<std::vector<RedisSlotRange>> ParseClusterSlots(const RedisValue& reply,
                                                             const std::string& queried_address, std::string* error) {
  if (reply.type != RedisValue::Type::kArray) {
    *error = "CLUSTER SLOTS answered " + reply.Describe();
    return std::nullopt;
  }
  const auto endpoint = [&](const RedisValue& node) -> std::optional<std::string> {
    if (node.type != RedisValue::Type::kArray || node.elements.size() < 2 ||
        node.elements[0].type != RedisValue::Type::kString || node.elements[1].type != RedisValue::Type::kInteger) {
      return std::nullopt;
    }
    std::string host = node.elements[0].str;
    if (host.empty() || host == "?") host = queried_address;
    return HostPort(host, static_cast<int>(node.elements[1].integer));
  };
  std::vector<RedisSlotRange> ranges;
  for (const RedisValue& entry : reply.elements) {
    bool good = entry.type == RedisValue::Type::kArray && entry.elements.size() >= 3 &&
                entry.elements[0].type == RedisValue::Type::kInteger &&
                entry.elements[1].type == RedisValue::Type::kInteger;
    RedisSlotRange range;
    if (good) {
      range.start = static_cast<int>(entry.elements[0].integer);
      range.end = static_cast<int>(entry.elements[1].integer);
      good = range.start >= 0 && range.start <= range.end && range.end < kRedisSlots;
    }
    for (size_t i = 2; good && i < entry.elements.size(); ++i) {
      auto e = endpoint(entry.elements[i]);
      if (!e) {
        good = false;
      } else if (i == 2) {
        range.master = *e;
      } else {
        range.replicas.push_back(*e);
      }
    }
    if (!good) {
      *error = "malformed CLUSTER SLOTS entry";
      return std::nullopt;
    }
    ranges.push_back(std::move(range));
  }
  return ranges;
}

RedisClusterClient::RedisClusterClient(std::string seed_address, int port, ClientOptions options,
                                       std::map<std::string, std::string> nodes)
    : options_(std::move(options)), port_(port), slot_to_range_(kRedisSlots, -1) {
  const WorkloadKind w = options_.workload;
  if (w != WorkloadKind::kSet && w != WorkloadKind::kRegister && w != WorkloadKind::kCounter &&
      w != WorkloadKind::kCasRegister) {
    throw HarnessError(fmt::format("redis client: unknown workload kind {} (set, register, counter, cas-register)",
                                   static_cast<int>(w)));
  }
  seeds_.push_back(HostPort(seed_address, port));
  for (const auto& [address, name] : nodes) {
    const std::string e = HostPort(address, port);
    names_[e] = name;
    if (e != seeds_[0]) seeds_.push_back(e);
  }
}

std::string RedisClusterClient::NodeName(const std::string& endpoint) const {
  auto it = names_.find(endpoint);
  return it == names_.end() ? endpoint : it->second;
}

RedisConnection& RedisClusterClient::ConnectionTo(const std::string& endpoint) {
  auto& conn = conns_[endpoint];
  if (!conn) {
    auto [host, port] = SplitEndpoint(endpoint);
    conn = std::make_unique<RedisConnection>(host, port);
  }
  return *conn;
}

bool RedisClusterClient::Refresh(Deadline deadline, std::string* error) {
  ++refreshes_;
  std::vector<std::string> errors;
  for (size_t i = 0; i < seeds_.size() && Clock::now() < deadline; ++i) {
    const std::string& seed = seeds_[(next_seed_ + i) % seeds_.size()];
    RedisConnection& conn = ConnectionTo(seed);
    RedisResult r = conn.Command({"CLUSTER", "SLOTS"}, deadline);
    if (!r.ok()) {
      errors.push_back(r.error);
      continue;
    }
    std::string parse_error;
    auto ranges = ParseClusterSlots(r.replies[0], conn.address(), &parse_error);
    if (!ranges || ranges->empty()) {
      errors.push_back(fmt::format("{}: {}", seed, ranges ? "no slots assigned" : parse_error));
      continue;
    }
    // Next time start at the node after this one: a stale view is not asked forever.
    next_seed_ = (next_seed_ + i + 1) % seeds_.size();
    ranges_ = std::move(*ranges);
    std::fill(slot_to_range_.begin(), slot_to_range_.end(), -1);
    for (size_t r_i = 0; r_i < ranges_.size(); ++r_i) {
      for (int s = ranges_[r_i].start; s <= ranges_[r_i].end; ++s) slot_to_range_[s] = static_cast<int16_t>(r_i);
    }
    moved_.clear();
    stale_ = false;
    return true;
  }
  *error = errors.empty() ? "no time left to read the slot map"
                          : fmt::format("cannot read the slot map: {}", fmt::join(errors, "; "));
  return false;
}

std::string RedisClusterClient::MasterFor(const std::string& key) const {
  const int slot = RedisKeySlot(key);
  if (auto it = moved_.find(slot); it != moved_.end()) return it->second;
  const int r = slot_to_range_[slot];
  return r < 0 ? "" : ranges_[r].master;
}

RedisClusterClient::Outcome RedisClusterClient::Execute(const std::string& key, const std::vector<std::string>& argv,
                                                        Deadline deadline) {
  Outcome out;
  std::optional<std::string> ask;  // ASK target for the next try only
  bool asked = false;
  for (int attempt = 0; attempt < kMaxTries && Clock::now() < deadline; ++attempt) {
    if (stale_ && !ask) {
      std::string error;
      if (!Refresh(deadline, &error)) {
        out.error = error;
        continue;
      }
    }
    const std::string target = ask ? *ask : MasterFor(key);
    if (target.empty()) {
      out.error = fmt::format("no node serves slot {} of key {}", RedisKeySlot(key), key);
      stale_ = true;
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    RedisConnection& conn = ConnectionTo(target);
    RedisResult r = ask ? conn.Pipeline({{"ASKING"}, argv}, deadline) : conn.Command(argv, deadline);
    ask.reset();
    if (!r.ok()) {
      out.error = r.error;
      stale_ = true;  // the node may be gone: ask the cluster again
      if (r.failure == RedisFailure::kIo) {
        out.maybe_applied = true;
        return out;  // it may have run: never send it twice
      }
      continue;
    }
    const RedisValue& reply = r.replies.back();
    if (!reply.is_error()) {
      out.reply = reply;
      out.error.clear();
      return out;
    }
    int slot = 0;
    std::string endpoint;
    if (StartsWith(reply.str, "MOVED ") && ParseRedirect(reply.str, &slot, &endpoint)) {
      ++redirects_;
      moved_[slot] = endpoint;
      out.error = reply.str;
      continue;
    }
    if (StartsWith(reply.str, "ASK ") && !asked && ParseRedirect(reply.str, &slot, &endpoint)) {
      ++redirects_;
      ask = endpoint;
      asked = true;
      out.error = reply.str;
      continue;
    }
    if (StartsWith(reply.str, "CLUSTERDOWN") || StartsWith(reply.str, "TRYAGAIN") || StartsWith(reply.str, "LOADING") ||
        StartsWith(reply.str, "MASTERDOWN")) {
      // Not run; the topology may be changing: another node's view, a moment later.
      out.error = fmt::format("{} ({})", reply.str, NodeName(target));
      stale_ = true;
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    out.reply = reply;  // a definite error: the command did not run
    return out;
  }
  if (out.error.empty()) out.error = fmt::format("timeout after {} ms", options_.op_timeout.count());
  return out;
}

Completion RedisClusterClient::Finish(const Outcome& o, bool write, const json& value) {
  if (!o.reply) {
    return {o.maybe_applied && write ? OpType::kInfo : OpType::kFail, value, o.error};
  }
  if (o.reply->is_error()) return Fail(o.reply->str, value);
  return {OpType::kOk, value, ""};
}

std::string RedisUnsupported(const RedisConfig& /*config*/, WorkloadKind /*kind*/, std::string_view /*f*/) {
  return "";
}

namespace {

// Compare-and-set in one script, so it runs atomically on the key's master.
// A missing key (GET → false) equals no expected value.
constexpr const char* kCasScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

}  // namespace

Completion RedisClusterClient::CasRegister(const Invocation& op, Deadline deadline) {
  const std::string& key = op.key;
  if (op.f == "read") {
    Outcome o = Execute(key, {"GET", key}, deadline);
    if (!o.reply) return Fail(o.error);
    if (o.reply->is_error()) return Fail(o.reply->str);
    if (o.reply->type == RedisValue::Type::kNil) return {OpType::kOk, nullptr, ""};
    if (o.reply->type != RedisValue::Type::kString) return Fail("GET answered " + o.reply->Describe());
    json v = json::parse(o.reply->str, nullptr, false);
    return {OpType::kOk, v.is_discarded() ? json(o.reply->str) : v, ""};
  }
  if (op.f == "write") return Finish(Execute(key, {"SET", key, op.value.dump()}, deadline), true, op.value);
  if (op.f == "cas") {
    if (!op.value.is_array() || op.value.size() != 2) {
      return Fail(fmt::format("cas needs a value [old, new], got {}", op.value.dump()), op.value);
    }
    Outcome o = Execute(key, {"EVAL", kCasScript, "1", key, op.value[0].dump(), op.value[1].dump()}, deadline);
    if (!o.reply || o.reply->is_error()) return Finish(o, true, op.value);
    if (o.reply->type != RedisValue::Type::kInteger) {
      // Not our script's answer: whether it applied is unknown.
      return {OpType::kInfo, op.value, "EVAL answered " + o.reply->Describe()};
    }
    if (o.reply->integer == 1) return {OpType::kOk, op.value, ""};
    return Fail(fmt::format("{} does not hold {}", key, op.value[0].dump()), op.value);
  }
  return Fail(fmt::format("redis client does not support f={} (workload cas-register)", op.f));
}

Completion RedisClusterClient::Invoke(const Invocation& op) {
  const Deadline deadline = Clock::now() + options_.op_timeout;
  const WorkloadKind w = options_.workload;
  const std::string& key = op.key;
  if (w == WorkloadKind::kCasRegister) return CasRegister(op, deadline);
  if (op.f == "read") {
    const bool set = w == WorkloadKind::kSet;
    Outcome o =
        Execute(key, set ? std::vector<std::string>{"SMEMBERS", key} : std::vector<std::string>{"GET", key}, deadline);
    if (!o.reply) return Fail(o.error);
    const RedisValue& r = *o.reply;
    if (r.is_error()) return Fail(r.str);
    if (set) {
      if (r.type != RedisValue::Type::kArray) return Fail("SMEMBERS answered " + r.Describe());
      std::set<int64_t> members;
      for (const RedisValue& m : r.elements) {
        auto v = m.type == RedisValue::Type::kString ? ParseInt(m.str) : std::nullopt;
        if (!v) return Fail(fmt::format("key {} holds a member that is not an integer: {}", key, m.Describe()));
        members.insert(*v);
      }
      return {OpType::kOk, json(members), ""};
    }
    std::optional<int64_t> v;
    if (r.type == RedisValue::Type::kString) v = ParseInt(r.str);
    if (r.type != RedisValue::Type::kNil && !v) {
      return Fail(fmt::format("key {} holds {}, not an integer", key, r.Describe()));
    }
    if (w == WorkloadKind::kRegister) return {OpType::kOk, v ? json::array({*v}) : json::array(), ""};
    return {OpType::kOk, v ? *v : 0, ""};
  }
  if (w == WorkloadKind::kSet && op.f == "add") {
    if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
    return Finish(Execute(key, {"SADD", key, std::to_string(op.value.get<int64_t>())}, deadline), true, op.value);
  }
  if (w == WorkloadKind::kCounter && op.f == "add") {
    if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
    return Finish(Execute(key, {"INCRBY", key, std::to_string(op.value.get<int64_t>())}, deadline), true, op.value);
  }
  if (w == WorkloadKind::kRegister && op.f == "rmw") {
    if (!op.value.is_object() || !op.value.contains("write") || !op.value["write"].is_number_integer()) {
      return Fail(fmt::format("rmw needs a value {{\"write\":<integer>}}, got {}", op.value.dump()));
    }
    const int64_t id = op.value["write"].get<int64_t>();
    json value = {{"write", id}};
    Outcome get = Execute(key, {"GET", key}, deadline);
    if (!get.reply) return Fail(get.error, value);  // a GET changes nothing
    if (get.reply->is_error()) return Fail(get.reply->str, value);
    json read = json::array();
    if (get.reply->type == RedisValue::Type::kString) {
      auto v = ParseInt(get.reply->str);
      if (!v) return Fail(fmt::format("key {} holds {}, not a write id", key, get.reply->Describe()), value);
      read.push_back(*v);
    } else if (get.reply->type != RedisValue::Type::kNil) {
      return Fail("GET answered " + get.reply->Describe(), value);
    }
    value = {{"read", read}, {"write", id}};
    return Finish(Execute(key, {"SET", key, std::to_string(id)}, deadline), true, value);
  }
  return Fail(fmt::format("redis client does not support f={} (workload {})", op.f, WorkloadKindName(w)));
}

std::optional<ReplicaRead> RedisClusterClient::ReadReplicas(const std::string& key) {
  ReplicaRead out;
  const Deadline deadline = Clock::now() + options_.op_timeout;
  std::string error;
  if (!Refresh(deadline, &error)) {
    out.error = error;
    return out;
  }
  const int r = slot_to_range_[RedisKeySlot(key)];
  if (r < 0) {
    out.error = fmt::format("no node serves slot {} of key {}", RedisKeySlot(key), key);
    return out;
  }
  std::vector<std::string> endpoints = {ranges_[r].master};
  endpoints.insert(endpoints.end(), ranges_[r].replicas.begin(), ranges_[r].replicas.end());
  const bool set = options_.workload == WorkloadKind::kSet;
  std::vector<std::string> errors;
  for (const std::string& e : endpoints) {
    auto& conn = readonly_conns_[e];
    if (!conn) {
      auto [host, port] = SplitEndpoint(e);
      conn = std::make_unique<RedisConnection>(host, port);
    }
    // READONLY lets a replica answer for its master's slots (harmless on a master).
    RedisResult res = conn->Pipeline(
        {{"READONLY"}, set ? std::vector<std::string>{"SMEMBERS", key} : std::vector<std::string>{"GET", key}},
        Clock::now() + options_.op_timeout);
    const std::string name = NodeName(e);
    if (!res.ok()) {
      errors.push_back(fmt::format("{}: {}", name, res.error));
      continue;
    }
    const RedisValue& v = res.replies[1];
    json values = json::array();
    if (v.is_error()) {
      errors.push_back(fmt::format("{}: {}", name, v.str));
      continue;
    }
    if (set && v.type == RedisValue::Type::kArray) {
      std::set<int64_t> members;
      std::vector<std::string> other;
      for (const RedisValue& m : v.elements) {
        if (auto i = ParseInt(m.str)) {
          members.insert(*i);
        } else {
          other.push_back(m.str);
        }
      }
      json sorted(members);
      for (const auto& o : other) sorted.push_back(o);
      values.push_back(sorted);
    } else if (v.type == RedisValue::Type::kString) {
      values.push_back(v.str);
    } else if (v.type != RedisValue::Type::kNil) {
      values.push_back(v.Describe());
    }
    out.replicas[name] = std::move(values);
  }
  for (const auto& e : errors) out.error += (out.error.empty() ? "cannot read replica " : "; cannot read replica ") + e;
  return out;
}

}  // namespace faultline
