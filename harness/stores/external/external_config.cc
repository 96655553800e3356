#include "harness/stores/external/external_config.h"

#include <fmt/format.h>

namespace faultline {

ExternalConfig ParseExternalConfig(const ConfigFields& e, bool selected, int /*node_count*/) {
  ExternalConfig s;
  s.install = e.Strings("install");
  s.start = e.Strings("start");
  s.kill = e.Strings("kill");
  s.pause = e.Strings("pause");
  s.resume = e.Strings("resume");
  s.stop = e.Strings("stop");
  s.wipe = e.Strings("wipe");
  s.health = e.Strings("health");
  if (e.Get("client").is_string()) {
    s.client_name = e.String("client");
    if (s.client_name.empty()) FailConfig("\"external.client\" must not be an empty name");
  } else {
    s.client = e.Strings("client");
  }
  s.logs = e.Strings("logs");
  s.port = e.Int("port");
  s.image = e.String("image");
  s.workloads = e.Strings("workloads");
  s.client_ready = e.Bool("client-ready");
  for (const std::string& w : s.workloads) {
    bool known = false;
    for (int k = 0; k <= static_cast<int>(WorkloadKind::kCasRegister); ++k) {
      known = known || WorkloadKindName(static_cast<WorkloadKind>(k)) == w;
    }
    if (!known) FailConfig(fmt::format("\"external.workloads\" names an unknown workload \"{}\"", w));
  }
  if (!selected) return s;
  if (s.start.empty()) FailConfig("\"external.start\" must be given: the command that runs the store on a node");
  if (s.client.empty() && s.client_name.empty()) {
    FailConfig("\"external.client\" must be given: the client program (JSON lines) or a built-in client's name");
  }
  CheckPort(e.Name("port"), s.port, /*min=*/0);
  return s;
}

std::string ExternalUnsupported(const ExternalConfig& config, WorkloadKind kind, std::string_view /*f*/) {
  const std::string_view name = WorkloadKindName(kind);
  for (const std::string& w : config.workloads) {
    if (w == name) return "";
  }
  return fmt::format(
      "its client program does not declare the {} workload; add \"{}\" to \"external.workloads\" once it answers "
      "that workload's ops (README \"External adapter protocol\")",
      name, name);
}

nlohmann::json ToJson(const ExternalConfig& c) {
  return {{"install", c.install},
          {"start", c.start},
          {"kill", c.kill},
          {"pause", c.pause},
          {"resume", c.resume},
          {"stop", c.stop},
          {"wipe", c.wipe},
          {"health", c.health},
          {"client", c.client_name.empty() ? nlohmann::json(c.client) : nlohmann::json(c.client_name)},
          {"logs", c.logs},
          {"port", c.port},
          {"image", c.image},
          {"workloads", c.workloads},
          {"client-ready", c.client_ready}};
}

}  // namespace faultline
