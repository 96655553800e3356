#include "harness/run/workload_config.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

namespace faultline {
namespace {

using json = nlohmann::json;

constexpr int kMaxWeight = 1000000;

[[noreturn]] void BadMix(const json& value) {
  FailConfig(
      fmt::format("\"cas-mix\" must be weights of read, write and cas like {{\"read\":1,\"write\":1,\"cas\":0}} or "
                  "\"read=1,write=1,cas=0\" (non-negative integers, not all 0), got {}",
                  value.dump()));
}

int* WeightOf(CasMix& mix, const std::string& op) {
  if (op == "read") return &mix.read;
  if (op == "write") return &mix.write;
  if (op == "cas") return &mix.cas;
  return nullptr;
}

}  // namespace

CasMix ParseCasMix(const json& value) {
  CasMix mix{0, 0, 0};
  const auto set = [&](const std::string& op, int64_t weight) {
    int* w = WeightOf(mix, op);
    if (w == nullptr || weight < 0 || weight > kMaxWeight) BadMix(value);
    *w = static_cast<int>(weight);
  };
  if (value.is_object()) {
    for (const auto& [op, weight] : value.items()) {
      if (!weight.is_number_integer()) BadMix(value);
      set(op, weight.get<int64_t>());
    }
  } else if (value.is_string()) {
    std::stringstream ss(value.get<std::string>());
    for (std::string item; std::getline(ss, item, ',');) {
      const auto eq = item.find('=');
      if (eq == std::string::npos) BadMix(value);
      const std::string number = item.substr(eq + 1);
      if (number.empty() || number.size() > 7 || number.find_first_not_of("0123456789") != std::string::npos) {
        BadMix(value);
      }
      set(item.substr(0, eq), std::stoll(number));
    }
  } else {
    BadMix(value);
  }
  if (mix.read + mix.write + mix.cas == 0) BadMix(value);
  return mix;
}

std::string CasMixText(const CasMix& mix) {
  return fmt::format("read={},write={},cas={}", mix.read, mix.write, mix.cas);
}

CasRegisterWorkloadOptions ResolveCasRegisterOptions(const ConfigFields& f, const json& given) {
  CasRegisterWorkloadOptions o;
  o.mix = ParseCasMix(given.contains("cas-mix") ? given["cas-mix"] : f.Get("cas-mix"));
  o.ops_per_key = f.Int("ops-per-key");
  if (o.ops_per_key < 1) FailConfig(fmt::format("\"ops-per-key\" must be >= 1, got {}", o.ops_per_key));
  o.max_value = f.Int("max-value");
  if (o.max_value < 1) FailConfig(fmt::format("\"max-value\" must be >= 1, got {}", o.max_value));
  o.unique_values = f.Bool("unique-values");
  o.checker.time_limit_s = f.Number("lin-time-limit-s");
  if (!(o.checker.time_limit_s > 0) || !std::isfinite(o.checker.time_limit_s)) {
    FailConfig(fmt::format("\"lin-time-limit-s\" must be > 0 seconds, got {}", o.checker.time_limit_s));
  }
  o.checker.memory_mb = f.Int("lin-memory-mb");
  if (o.checker.memory_mb < 1) FailConfig(fmt::format("\"lin-memory-mb\" must be >= 1, got {}", o.checker.memory_mb));
  o.checker.all_keys = f.Bool("all-keys");
  return o;
}

const std::vector<std::string>& WorkloadOptionKeys() {
  static const std::vector<std::string> keys = {"cas-mix",          "ops-per-key",   "max-value", "unique-values",
                                                "lin-time-limit-s", "lin-memory-mb", "all-keys"};
  return keys;
}

void AddWorkloadOptionsJson(const CasRegisterWorkloadOptions& o, json* j) {
  (*j)["cas-mix"] = {{"read", o.mix.read}, {"write", o.mix.write}, {"cas", o.mix.cas}};
  (*j)["ops-per-key"] = o.ops_per_key;
  (*j)["max-value"] = o.max_value;
  (*j)["unique-values"] = o.unique_values;
  (*j)["lin-time-limit-s"] = o.checker.time_limit_s;
  (*j)["lin-memory-mb"] = o.checker.memory_mb;
  (*j)["all-keys"] = o.checker.all_keys;
}

}  // namespace faultline
