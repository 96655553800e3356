#include "store/cluster_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "store/context_key.h"

namespace dynastore {

Status ParseEndpoint(const std::string& text, Endpoint& out) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("address '" + text + "' is not [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::InvalidArgument("address '" + text + "' is not HOST:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return Status::InvalidArgument("address '" + text + "' has no valid port (0-65535)");
  }
  out = Endpoint{host, static_cast<uint16_t>(std::stoi(port))};
  return Status::Ok();
}

Status ClusterConfig::Parse(const std::string& json_text, ClusterConfig& out) {
  out = ClusterConfig();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(std::string("cluster file is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::InvalidArgument("cluster file must be a JSON object");

  static const std::set<std::string> kKnown = {"n",
                                               "r",
                                               "w",
                                               "partitions",
                                               "nodes",
                                               "heartbeat_interval_ms",
                                               "failure_timeout_ms",
                                               "request_timeout_ms",
                                               "anti_entropy_interval_ms",
                                               "handoff_interval_ms",
                                               "context_key"};
  for (const auto& [k, v] : j.items()) {
    if (!kKnown.count(k)) return Status::InvalidArgument("cluster file: unknown field '" + k + "'");
  }
  auto get_int = [&](const char* field, int& dst) -> Status {
    if (!j.contains(field)) return Status::Ok();
    if (!j[field].is_number_integer())
      return Status::InvalidArgument(std::string("cluster file: '") + field + "' must be an integer");
    dst = j[field].get<int>();
    return Status::Ok();
  };
  for (auto [field, dst] :
       std::initializer_list<std::pair<const char*, int*>>{{"n", &out.n},
                                                           {"r", &out.r},
                                                           {"w", &out.w},
                                                           {"partitions", &out.partitions},
                                                           {"heartbeat_interval_ms", &out.heartbeat_interval_ms},
                                                           {"failure_timeout_ms", &out.failure_timeout_ms},
                                                           {"request_timeout_ms", &out.request_timeout_ms},
                                                           {"anti_entropy_interval_ms", &out.anti_entropy_interval_ms},
                                                           {"handoff_interval_ms", &out.handoff_interval_ms}}) {
    if (Status s = get_int(field, *dst); !s.ok()) return s;
  }
  if (j.contains("context_key")) {
    ContextKey ignored;
    Status s = j["context_key"].is_string() ? ContextKey::FromHex(j["context_key"].get<std::string>(), ignored)
                                            : Status::InvalidArgument("must be a string");
    if (!s.ok()) return Status::InvalidArgument("cluster file: 'context_key' " + s.message());
    out.context_key = j["context_key"].get<std::string>();
  }
  if (!j.contains("nodes") || !j["nodes"].is_array()) {
    return Status::InvalidArgument("cluster file: 'nodes' must be a list of {\"id\",\"http\",\"rpc\"}");
  }
  for (size_t i = 0; i < j["nodes"].size(); ++i) {
    const auto& node = j["nodes"][i];
    std::string where = "cluster file: nodes[" + std::to_string(i) + "]";
    if (!node.is_object()) return Status::InvalidArgument(where + " must be an object");
    NodeConfig nc;
    for (const char* field : {"id", "http", "rpc"}) {
      if (!node.contains(field) || !node[field].is_string()) {
        return Status::InvalidArgument(where + " needs a string '" + field + "'");
      }
    }
    for (const auto& [k, v] : node.items()) {
      if (k != "id" && k != "http" && k != "rpc") return Status::InvalidArgument(where + ": unknown field '" + k + "'");
    }
    nc.id = node["id"].get<std::string>();
    if (Status s = ParseEndpoint(node["http"].get<std::string>(), nc.http); !s.ok()) {
      return Status::InvalidArgument(where + ".http: " + s.message());
    }
    if (Status s = ParseEndpoint(node["rpc"].get<std::string>(), nc.rpc); !s.ok()) {
      return Status::InvalidArgument(where + ".rpc: " + s.message());
    }
    out.nodes.push_back(std::move(nc));
  }
  return out.Validate();
}

Status ClusterConfig::Load(const std::string& path, ClusterConfig& out) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read cluster file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  Status s = Parse(buf.str(), out);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return s;
}

Status ClusterConfig::Validate() const {
  auto bad = [](const std::string& msg) { return Status::InvalidArgument("cluster file: " + msg); };
  if (nodes.empty()) return bad("'nodes' is empty");
  if (n < 1) return bad("'n' must be at least 1");
  if (r < 1 || r > n) return bad("'r' must be between 1 and n (" + std::to_string(n) + ")");
  if (w < 1 || w > n) return bad("'w' must be between 1 and n (" + std::to_string(n) + ")");
  if (n > static_cast<int>(nodes.size())) {
    return bad("'n' (" + std::to_string(n) + ") exceeds the number of nodes (" + std::to_string(nodes.size()) + ")");
  }
  if (partitions < static_cast<int>(nodes.size()) || partitions > 65536) {
    return bad("'partitions' must be between the node count and 65536");
  }
  for (int v :
       {heartbeat_interval_ms, failure_timeout_ms, request_timeout_ms, anti_entropy_interval_ms, handoff_interval_ms}) {
    if (v <= 0) return bad("timing fields must be positive");
  }
  if (failure_timeout_ms <= heartbeat_interval_ms)
    return bad("'failure_timeout_ms' must exceed 'heartbeat_interval_ms'");
  std::set<std::string> ids, addrs;
  for (const auto& node : nodes) {
    if (node.id.empty() || node.id.size() > 255) return bad("node ids must be 1-255 characters");
    if (!ids.insert(node.id).second) return bad("duplicate node id '" + node.id + "'");
    for (const Endpoint* e : {&node.http, &node.rpc}) {
      if (!addrs.insert(e->ToString()).second) {
        return bad("address " + e->ToString() + " is used twice (node '" + node.id + "')");
      }
    }
  }
  return Status::Ok();
}

int ClusterConfig::IndexOf(const std::string& id) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

ClusterConfig SingleNodeCluster(const std::string& id, const Endpoint& http) {
  ClusterConfig c;
  c.n = c.r = c.w = 1;
  c.partitions = 1;
  c.nodes.push_back(NodeConfig{id, http, Endpoint{}});
  return c;
}

}  // namespace dynastore
