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
  s.client = e.Strings("client");
  s.logs = e.Strings("logs");
  s.port = e.Int("port");
  s.image = e.String("image");
  if (!selected) return s;
  if (s.start.empty()) FailConfig("\"external.start\" must be given: the command that runs the store on a node");
  if (s.client.empty()) FailConfig("\"external.client\" must be given: the client program (JSON lines)");
  if (s.port < 0 || s.port > 65535) {
    FailConfig(fmt::format("\"external.port\" must be between 0 and 65535, got {}", s.port));
  }
  return s;
}

nlohmann::json ToJson(const ExternalConfig& c) {
  return {{"install", c.install}, {"start", c.start}, {"kill", c.kill}, {"pause", c.pause},
          {"resume", c.resume},   {"stop", c.stop},   {"wipe", c.wipe}, {"health", c.health},
          {"client", c.client},   {"logs", c.logs},   {"port", c.port}, {"image", c.image}};
}

}  // namespace faultline
