#include "harness/run/test_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "harness/run/registry.h"
#include "harness/run/workload_config.h"
#include "nemesis/grudge.h"
#include "nemesis/targets.h"

namespace faultline {
namespace {

using json = nlohmann::json;

std::string NormalizeKey(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

using Fields = ConfigFields;

[[noreturn]] void Fail(const std::string& message) { FailConfig(message); }

// Deeper than any config needs; the recursive merge and dump() of a
// 200,000-deep one would overflow the stack.
constexpr int kMaxConfigDepth = 32;
// A nodes file is a list of hosts; more than this is not one.
constexpr std::streamsize kMaxNodesFileBytes = 1 << 20;

// Throws unless `j` nests at most kMaxConfigDepth arrays/objects (iterative: no recursion to overflow).
void RequireShallow(const json& j, const std::string& what) {
  std::vector<std::pair<const json*, int>> todo{{&j, 1}};
  while (!todo.empty()) {
    const auto [node, depth] = todo.back();
    todo.pop_back();
    if (!node->is_structured()) continue;
    if (depth > kMaxConfigDepth) {
      Fail(fmt::format("{} nests arrays/objects more than {} deep", what, kMaxConfigDepth));
    }
    for (const json& child : *node) todo.emplace_back(&child, depth + 1);
  }
}

// "10" or "<k>n" (k times the node count; "n" alone is 1n).
int ResolveConcurrency(const std::string& spec, int nodes) {
  const auto bad = [&] {
    Fail(fmt::format("\"concurrency\" must be a positive integer or <k>n (e.g. 2n = 2 x nodes), got \"{}\"", spec));
  };
  if (spec.empty()) bad();
  std::string digits = spec;
  int multiplier = 1;
  if (spec.back() == 'n') {
    digits = spec.substr(0, spec.size() - 1);
    multiplier = nodes;
    if (digits.empty()) digits = "1";
  }
  if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) bad();
  const int k = std::stoi(digits);
  if (k <= 0) bad();
  return k * multiplier;
}

bool ValidSubnet(const std::string& subnet) {
  unsigned a, b, c, d, len;
  char tail;
  if (std::sscanf(subnet.c_str(), "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &len, &tail) != 5) return false;
  return a == 10 && b < 256 && c < 256 && d == 0 && len == 24;
}

std::vector<std::string> NodeNames(int count) {
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) names.push_back("n" + std::to_string(i));
  return names;
}

// "partition,kill" or ["partition","kill"]; "all"; "none".
std::vector<std::string> ParseFaultList(const json& v) {
  std::vector<std::string> items;
  if (v.is_string()) {
    std::stringstream ss(v.get<std::string>());
    for (std::string item; std::getline(ss, item, ',');) {
      if (!item.empty()) items.push_back(item);
    }
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_string()) Fail(fmt::format("\"nemesis\" must list fault names, got {}", v.dump()));
      items.push_back(e.get<std::string>());
    }
  } else {
    Fail(fmt::format("\"nemesis\" must be a string like \"partition,kill\" or an array, got {}", v.dump()));
  }
  std::vector<std::string> faults;
  for (const std::string& item : items) {
    if (item == "none") continue;
    if (item == "all") {
      for (const auto& name : AllFaultNames()) {
        if (std::find(faults.begin(), faults.end(), name) == faults.end()) faults.push_back(name);
      }
      continue;
    }
    if (std::find(AllFaultNames().begin(), AllFaultNames().end(), item) == AllFaultNames().end() &&
        std::find(WholeNodeFaultNames().begin(), WholeNodeFaultNames().end(), item) == WholeNodeFaultNames().end()) {
      Fail(
          fmt::format("unknown fault \"{}\" in \"nemesis\" (known: {}, all, none, and on container nodes {}; no "
                      "delay faults: this kernel has no netem)",
                      item, fmt::join(AllFaultNames(), ", "), fmt::join(WholeNodeFaultNames(), ", ")));
    }
    if (std::find(faults.begin(), faults.end(), item) == faults.end()) faults.push_back(item);
  }
  return faults;
}

// The "ssh" object: how the --nodes hosts are reached (README "Remote hosts over SSH").
void ResolveSsh(const Fields& f, const json& known, TestConfig* c) {
  const Fields s = f.Object("ssh", known);
  SshConfig& o = c->ssh;
  o.username = s.String("username");
  if (o.username.empty()) Fail("\"ssh.username\" must not be empty");
  o.password = s.String("password");
  if (o.password == "***" && !c->nodes.empty()) {
    Fail("\"ssh.password\" is \"***\": test.json never stores the password; give it again with --password");
  }
  if (o.password == "***") o.password.clear();
  o.private_key = s.String("private-key");
  if (!o.private_key.empty() && !c->nodes.empty() && !std::ifstream(o.private_key)) {
    Fail(fmt::format("\"ssh.private-key\": cannot read {}", o.private_key));
  }
  o.port = s.Int("port");
  CheckPort(s.Name("port"), o.port);
  o.known_hosts = s.String("known-hosts");
  const json& strict = s.Get("strict-host-key-checking");
  if (strict.is_boolean()) {
    o.strict_host_key_checking = strict.get<bool>();
  } else if (strict.is_string() && (strict == "yes" || strict == "no")) {
    o.strict_host_key_checking = strict == "yes";
  } else {
    Fail(fmt::format("\"ssh.strict-host-key-checking\" must be \"yes\" or \"no\", got {}", strict.dump()));
  }
  if (!o.known_hosts.empty() && o.strict_host_key_checking && !c->nodes.empty() && !std::ifstream(o.known_hosts)) {
    Fail(fmt::format("\"ssh.known-hosts\": cannot read {}", o.known_hosts));
  }
  o.sudo = s.Bool("sudo");
  o.remote_dir = s.String("remote-dir");
  if (!o.remote_dir.empty() && (o.remote_dir[0] != '/' || o.remote_dir.find_first_not_of('/') == std::string::npos)) {
    Fail(fmt::format("\"ssh.remote-dir\" must be an absolute directory other than /, got \"{}\"", o.remote_dir));
  }
  o.connect_timeout_ms = s.Int("connect-timeout-ms");
  if (o.connect_timeout_ms < 1 || o.connect_timeout_ms > 600000) {
    Fail(fmt::format("\"ssh.connect-timeout-ms\" must be between 1 and 600000, got {}", o.connect_timeout_ms));
  }
  const json& overrides = s.Get("nodes");
  if (!overrides.is_object()) {
    Fail(fmt::format("\"ssh.nodes\" must be an object {{\"<host>\": {{\"port\": 2222, \"username\": \"u\"}}}}, got {}",
                     overrides.dump()));
  }
  for (const auto& [host, value] : overrides.items()) {
    if (std::find(c->nodes.begin(), c->nodes.end(), host) == c->nodes.end()) {
      Fail(fmt::format("\"ssh.nodes\" has \"{}\", which is not one of the \"nodes\"", host));
    }
    if (!value.is_object()) Fail(fmt::format("\"ssh.nodes.{}\" must be an object, got {}", host, value.dump()));
    RejectUnknownKeys(value, json{{"port", 0}, {"username", ""}}, "ssh.nodes." + host + ".");
    const Fields n(value, "ssh.nodes." + host + ".");
    SshNodeConfig node;
    if (value.contains("port")) {
      node.port = n.Int("port");
      CheckPort(n.Name("port"), node.port);
    }
    if (value.contains("username")) {
      node.username = n.String("username");
      if (node.username.empty()) Fail(fmt::format("\"ssh.nodes.{}.username\" must not be empty", host));
    }
    o.nodes[host] = node;
  }
}

void ResolveNemesis(const Fields& f, TestConfig* c) {
  NemesisConfig& n = c->nemesis;
  const std::vector<std::string> nodes = NodeNames(c->node_count());
  n.faults = ParseFaultList(f.Get("nemesis"));
  n.starve_cpus = f.Number("starve-cpus");
  if (!(n.starve_cpus > 0) || !std::isfinite(n.starve_cpus)) {
    Fail(fmt::format("\"starve-cpus\" must be > 0 cores, got {}", n.starve_cpus));
  }
  n.interval_s = f.Number("nemesis-interval");
  if (!(n.interval_s > 0) || !std::isfinite(n.interval_s)) {
    Fail(fmt::format("\"nemesis-interval\" must be > 0 seconds, got {}", n.interval_s));
  }
  n.final_s = f.Number("nemesis-final");
  if (!(n.final_s >= 0) || !(n.final_s < c->time_limit)) {
    Fail(fmt::format("\"nemesis-final\" must be >= 0 and less than \"time-limit\" ({} s), got {}", c->time_limit,
                     n.final_s));
  }
  if (n.final_s > 0 && n.faults.empty()) Fail("\"nemesis-final\" needs faults: set \"nemesis\"");
  n.targets = f.Strings("nemesis-targets");
  if (n.targets.empty()) Fail("\"nemesis-targets\" must not be empty");
  for (const std::string& spec : n.targets) {
    try {
      ValidateTargetSpec(spec, nodes);
    } catch (const std::invalid_argument& e) {
      Fail(fmt::format("\"nemesis-targets\": {}", e.what()));
    }
  }
  n.partitions = f.Strings("nemesis-partitions");
  if (n.partitions.empty()) Fail("\"nemesis-partitions\" must not be empty");
  for (const std::string& kind : n.partitions) {
    const auto& kinds = GrudgeKinds();
    if (kind != "grudge" && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
      Fail(fmt::format("unknown partition kind \"{}\" in \"nemesis-partitions\" (known: {}, grudge)", kind,
                       fmt::join(kinds, ", ")));
    }
  }
  n.grudge = f.Get("grudge");
  const bool wants_grudge = std::find(n.partitions.begin(), n.partitions.end(), "grudge") != n.partitions.end();
  if (!n.grudge.is_null()) {
    try {
      GrudgeFromJson(n.grudge, nodes);
    } catch (const std::invalid_argument& e) {
      Fail(fmt::format("\"grudge\": {}", e.what()));
    }
    // An explicit grudge given alone is the partition to use.
    if (!wants_grudge && !f.Explicit("nemesis-partitions")) n.partitions = {"grudge"};
  } else if (wants_grudge) {
    Fail("\"nemesis-partitions\" names \"grudge\" but no \"grudge\" is given");
  }
  n.loss_probability = f.Number("loss-probability");
  if (!(n.loss_probability > 0 && n.loss_probability <= 1)) {
    Fail(fmt::format("\"loss-probability\" must be in (0, 1], got {}", n.loss_probability));
  }
  n.clock_skew_ms = f.Int("clock-skew-ms");
  if (n.clock_skew_ms <= 0) Fail(fmt::format("\"clock-skew-ms\" must be > 0, got {}", n.clock_skew_ms));
  n.clock_strobe_period_ms = f.Int("clock-strobe-period-ms");
  if (n.clock_strobe_period_ms <= 0) {
    Fail(fmt::format("\"clock-strobe-period-ms\" must be > 0, got {}", n.clock_strobe_period_ms));
  }
}

}  // namespace

int TestConfig::workers() const { return ResolveConcurrency(concurrency, node_count()); }

json DefaultConfigJson() {
  const TestConfig d;
  json j = ToJson(d);
  j.erase("seed");  // chosen per run unless given
  j.erase("name");  // derived from db and workload unless given
  return j;
}

json MergeConfig(json base, const json& overrides) {
  RequireShallow(overrides, "the config");
  for (const auto& [raw_key, value] : overrides.items()) {
    const std::string key = NormalizeKey(raw_key);
    if (key == "grudge" || (key == "nodes" && value.is_object())) {
      base[key] = value;  // node names and hosts (ssh.nodes) are data, not config keys
    } else if (value.is_object() && base.contains(key) && base[key].is_object()) {
      base[key] = MergeConfig(base[key], value);
    } else if (value.is_object()) {
      base[key] = MergeConfig(json::object(), value);
    } else {
      base[key] = value;
    }
  }
  return base;
}

json LoadConfigFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("config: cannot read {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  try {
    // Depth checked while parsing: the error names the file, and nothing that deep is ever built.
    const json::parser_callback_t bounded = [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxConfigDepth) {
        throw ConfigError(
            fmt::format("config: {} nests arrays/objects more than {} deep", path.string(), kMaxConfigDepth));
      }
      return true;
    };
    json j = json::parse(text.str(), bounded);
    if (!j.is_object()) throw ConfigError(fmt::format("config: {} must hold a JSON object", path.string()));
    return j;
  } catch (const json::parse_error& e) {
    throw ConfigError(fmt::format("config: {} is not valid JSON: {}", path.string(), e.what()));
  }
}

namespace {

// "db", "workload" (both from the registry's tables) and the "name" derived from them.
void ResolveNames(const Fields& f, const json& all, TestConfig* c) {
  c->db = f.String("db");
  if (FindStore(c->db) == nullptr) {
    Fail(fmt::format("unknown \"db\" \"{}\" (known: {})", c->db, StoreNames(", ", /*sorted=*/true)));
  }
  c->workload = f.String("workload");
  if (FindWorkload(c->workload) == nullptr) {
    Fail(fmt::format("unknown \"workload\" \"{}\" (known: {})", c->workload, WorkloadNames(", ", /*sorted=*/true)));
  }
  c->name = all.contains("name") ? f.String("name") : c->db + "-" + c->workload;
  if (c->name.empty() || c->name.find('/') != std::string::npos || c->name == "." || c->name == ".." ||
      c->name == "latest") {
    Fail(fmt::format("\"name\" must be a non-empty file name without '/', got \"{}\"", c->name));
  }
}

// The hosts of a "nodes-file": one per line, blank lines and # comments skipped.
std::vector<std::string> ReadNodesFile(const std::string& file) {
  std::ifstream in(file);
  if (!in) Fail(fmt::format("\"nodes-file\": cannot read {}", file));
  std::string text(size_t(kMaxNodesFileBytes) + 1, '\0');
  text.resize(size_t(in.read(text.data(), kMaxNodesFileBytes + 1).gcount()));
  if (text.size() > size_t(kMaxNodesFileBytes)) {
    Fail(fmt::format("\"nodes-file\" {} is larger than {} bytes; it should list one host per line", file,
                     kMaxNodesFileBytes));
  }
  std::vector<std::string> nodes;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty() && line[0] != '#') nodes.push_back(line);
  }
  if (nodes.empty()) Fail(fmt::format("\"nodes-file\" {} lists no nodes", file));
  return nodes;
}

// Digits, then at most one unit letter: 256m, 1g, 1048576 (checked by
// hand: <regex> cost this file seconds of compile).
bool IsMemorySize(const std::string& s) {
  const size_t end = s.find_first_not_of("0123456789");
  if (end == 0) return false;
  return end == std::string::npos ||
         (end + 1 == s.size() && std::string_view("bkmgBKMG").find(s[end]) != std::string_view::npos);
}

// Local nodes as Podman containers: "containers", "image", "node-memory", "node-cpus".
void ResolveContainers(const Fields& f, TestConfig* c) {
  c->image = f.String("image");
  c->containers = f.Bool("containers") || !c->image.empty();
  c->node_memory = f.String("node-memory");
  c->node_cpus = f.Number("node-cpus");
  if (!c->node_memory.empty() && !IsMemorySize(c->node_memory)) {
    Fail(fmt::format("\"node-memory\" must be a size like 256m or 1g, got \"{}\"", c->node_memory));
  }
  if (!(c->node_cpus >= 0) || !std::isfinite(c->node_cpus)) {
    Fail(fmt::format("\"node-cpus\" must be >= 0 cores (0: no limit), got {}", c->node_cpus));
  }
  if (!c->containers && (!c->node_memory.empty() || c->node_cpus > 0)) {
    Fail("\"node-memory\" and \"node-cpus\" limit container nodes: add \"containers\" (--containers)");
  }
  if (c->containers && !c->nodes.empty()) {
    Fail("\"containers\" makes local nodes; it cannot be combined with remote \"nodes\"");
  }
}

// After the stores: an external store's "image" makes the nodes containers
// of it; whole-node faults need container nodes.
void ResolveNodeKind(TestConfig* c) {
  if (c->db == "external" && !c->external.image.empty()) {
    if (!c->image.empty() && c->image != c->external.image) {
      Fail(fmt::format("\"image\" ({}) and \"external.image\" ({}) differ; give one", c->image, c->external.image));
    }
    if (!c->nodes.empty())
      Fail("\"external.image\" runs the store in local containers; it cannot use remote \"nodes\"");
    c->image = c->external.image;
    c->containers = true;
  }
  for (const std::string& fault : c->nemesis.faults) {
    if (!c->containers && std::count(WholeNodeFaultNames().begin(), WholeNodeFaultNames().end(), fault)) {
      Fail(
          fmt::format("fault \"{}\" acts on whole nodes and needs container nodes: add \"containers\" "
                      "(--containers)",
                      fault));
    }
  }
}

// Which nodes: "local" namespaces or remote "nodes" / "nodes-file" (and how to reach them: "ssh").
void ResolveNodes(const Fields& f, const json& all, const json& given, const json& known, TestConfig* c) {
  c->local = f.Int("local");
  c->nodes = f.Strings("nodes");
  if (all.contains("nodes-file")) {
    const std::string file = f.String("nodes-file");
    if (!c->nodes.empty()) Fail("\"nodes\" and \"nodes-file\" are both given; use one");
    c->nodes = ReadNodesFile(file);
  }
  if (!c->nodes.empty() && given.contains("local")) Fail("\"local\" and \"nodes\" are both given; use one");
  ResolveSsh(f, known["ssh"], c);
  ResolveContainers(f, c);
  if (c->local < 1 || c->local > 200) Fail(fmt::format("\"local\" must be between 1 and 200 nodes, got {}", c->local));
}

// How hard and how long: time limit, concurrency, rate, seed, repetitions.
void ResolveLoad(const Fields& f, const json& all, uint64_t seed_if_missing, TestConfig* c) {
  c->time_limit = f.Number("time-limit");
  if (!(c->time_limit > 0) || !std::isfinite(c->time_limit)) {
    Fail(fmt::format("\"time-limit\" must be > 0 seconds, got {}", c->time_limit));
  }
  const json& conc = f.Get("concurrency");
  if (conc.is_number_integer()) {
    c->concurrency = std::to_string(conc.get<int64_t>());
  } else if (conc.is_string()) {
    c->concurrency = conc.get<std::string>();
  } else {
    Fail(fmt::format("\"concurrency\" must be an integer or a string like \"2n\", got {}", conc.dump()));
  }
  if (c->workers() > 10000) Fail(fmt::format("\"concurrency\" is {} workers; at most 10000", c->workers()));
  c->rate = f.Number("rate");
  if (!(c->rate > 0) || !std::isfinite(c->rate)) Fail(fmt::format("\"rate\" must be > 0 ops/s, got {}", c->rate));
  if (all.contains("seed")) {
    const json& s = all["seed"];
    if (!s.is_number_unsigned() && !(s.is_number_integer() && s.get<int64_t>() >= 0)) {
      Fail(fmt::format("\"seed\" must be a non-negative integer, got {}", s.dump()));
    }
    c->seed = s.get<uint64_t>();
  } else {
    c->seed = seed_if_missing;
  }
  c->test_count = f.Int("test-count");
  if (c->test_count < 1) Fail(fmt::format("\"test-count\" must be >= 1, got {}", c->test_count));
}

// Where results go, timeouts and phases, the keys, the local subnet.
void ResolveRun(const Fields& f, TestConfig* c) {
  c->store_dir = f.String("store-dir");
  if (c->store_dir.empty()) Fail("\"store-dir\" must not be empty");
  c->leave_db_running = f.Bool("leave-db-running");
  c->op_timeout_ms = f.Int("op-timeout-ms");
  if (c->op_timeout_ms <= 0) Fail(fmt::format("\"op-timeout-ms\" must be > 0, got {}", c->op_timeout_ms));
  c->quiesce = f.Number("quiesce");
  if (!(c->quiesce >= 0) || !std::isfinite(c->quiesce)) {
    Fail(fmt::format("\"quiesce\" must be >= 0 seconds, got {}", c->quiesce));
  }
  c->convergence_timeout = f.Number("convergence-timeout");
  if (!(c->convergence_timeout >= 0) || !std::isfinite(c->convergence_timeout)) {
    Fail(fmt::format("\"convergence-timeout\" must be >= 0 seconds, got {}", c->convergence_timeout));
  }
  c->keys = f.Int("keys");
  if (c->keys < 1 || c->keys > 100000) Fail(fmt::format("\"keys\" must be between 1 and 100000, got {}", c->keys));
  c->subnet = f.String("subnet");
  if (!c->subnet.empty() && !ValidSubnet(c->subnet)) {
    Fail(fmt::format("\"subnet\" must be a /24 in 10.0.0.0/8 like 10.42.7.0/24, got \"{}\"", c->subnet));
  }
}

}  // namespace

TestConfig ResolveConfig(const json& merged_in, uint64_t seed_if_missing, bool for_store) {
  json known = DefaultConfigJson();
  known["seed"] = 0;
  known["name"] = "";
  known["nodes-file"] = "";
  const json merged = MergeConfig(json::object(), merged_in);  // normalizes keys
  RejectUnknownKeys(merged, known, "");
  const json all = MergeConfig(DefaultConfigJson(), merged);
  const Fields f(all, "", &merged);

  TestConfig c;
  ResolveNames(f, all, &c);
  ResolveNodes(f, all, merged, known, &c);
  ResolveLoad(f, all, seed_if_missing, &c);
  ResolveRun(f, &c);
  ResolveNemesis(f, &c);
  c.cas_register = ResolveCasRegisterOptions(f, merged);
  // Every store's object is read (test.json keeps them all); only the run's db is checked against the cluster.
  for (const StoreEntry& store : Stores()) {
    store.parse(f.Object(store.key, known[store.key]), store.name == c.db, &c);
  }
  ResolveNodeKind(&c);
  if (for_store) RequireStoreSupport(c);
  return c;
}

static json ToJsonFields(const TestConfig& c);

json ToJson(const TestConfig& c) {
  json j = ToJsonFields(c);
  json nodes = json::object();
  for (const auto& [host, n] : c.ssh.nodes) {
    nodes[host] = json::object();
    if (n.port != 0) nodes[host]["port"] = n.port;
    if (!n.username.empty()) nodes[host]["username"] = n.username;
  }
  j["ssh"] = {{"username", c.ssh.username},
              {"password", c.ssh.password.empty() ? "" : "***"},  // never the secret
              {"private-key", c.ssh.private_key},
              {"port", c.ssh.port},
              {"known-hosts", c.ssh.known_hosts},
              {"strict-host-key-checking", c.ssh.strict_host_key_checking ? "yes" : "no"},
              {"sudo", c.ssh.sudo},
              {"remote-dir", c.ssh.remote_dir},
              {"connect-timeout-ms", c.ssh.connect_timeout_ms},
              {"nodes", nodes}};
  if (!c.nodes.empty()) j.erase("local");  // test.json must stay a valid --config
  return j;
}

static json ToJsonFields(const TestConfig& c) {
  json concurrency = c.concurrency;
  if (!c.concurrency.empty() && std::all_of(c.concurrency.begin(), c.concurrency.end(), ::isdigit)) {
    concurrency = std::stoi(c.concurrency);
  }
  json j = {
      {"name", c.name},
      {"db", c.db},
      {"workload", c.workload},
      {"local", c.local},
      {"nodes", c.nodes},
      {"time-limit", c.time_limit},
      {"concurrency", concurrency},
      {"rate", c.rate},
      {"seed", c.seed},
      {"test-count", c.test_count},
      {"store-dir", c.store_dir},
      {"leave-db-running", c.leave_db_running},
      {"op-timeout-ms", c.op_timeout_ms},
      {"quiesce", c.quiesce},
      {"convergence-timeout", c.convergence_timeout},
      {"keys", c.keys},
      {"subnet", c.subnet},
      {"containers", c.containers},
      {"image", c.image},
      {"node-memory", c.node_memory},
      {"node-cpus", c.node_cpus},
      {"starve-cpus", c.nemesis.starve_cpus},
      {"nemesis", c.nemesis.faults.empty() ? json("none") : json(fmt::format("{}", fmt::join(c.nemesis.faults, ",")))},
      {"nemesis-interval", c.nemesis.interval_s},
      {"nemesis-final", c.nemesis.final_s},
      {"nemesis-targets", c.nemesis.targets},
      {"nemesis-partitions", c.nemesis.partitions},
      {"grudge", c.nemesis.grudge},
      {"loss-probability", c.nemesis.loss_probability},
      {"clock-skew-ms", c.nemesis.clock_skew_ms},
      {"clock-strobe-period-ms", c.nemesis.clock_strobe_period_ms}};
  AddWorkloadOptionsJson(c.cas_register, &j);
  for (const StoreEntry& store : Stores()) j[store.key] = store.to_json(c);
  return j;
}

}  // namespace faultline
