#include "harness/base/config_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>

namespace faultline {

using json = nlohmann::json;

void FailConfig(const std::string& message) { throw ConfigError("config: " + message); }

void CheckPort(const std::string& name, int port, int min) {
  if (port < min || port > 65535)
    FailConfig(fmt::format("\"{}\" must be between {} and 65535, got {}", name, min, port));
}

void RejectUnknownKeys(const json& object, const json& known, const std::string& prefix) {
  for (const auto& [key, value] : object.items()) {
    if (!known.contains(key)) {
      std::vector<std::string> names;
      for (const auto& [k, v] : known.items()) names.push_back(k);
      FailConfig(fmt::format("unknown key \"{}{}\" (known: {})", prefix, key, fmt::join(names, ", ")));
    }
    (void)value;
  }
}

const json& ConfigFields::Get(const std::string& key) const {
  auto it = object_.find(key);
  if (it == object_.end()) FailConfig(fmt::format("\"{}{}\" is missing", prefix_, key));
  return *it;
}

std::string ConfigFields::String(const std::string& key) const {
  const json& v = Get(key);
  if (!v.is_string()) FailConfig(fmt::format("\"{}\" must be a string, got {}", Name(key), v.dump()));
  return v.get<std::string>();
}

bool ConfigFields::Bool(const std::string& key) const {
  const json& v = Get(key);
  if (!v.is_boolean()) FailConfig(fmt::format("\"{}\" must be true or false, got {}", Name(key), v.dump()));
  return v.get<bool>();
}

double ConfigFields::Number(const std::string& key) const {
  const json& v = Get(key);
  if (!v.is_number()) FailConfig(fmt::format("\"{}\" must be a number, got {}", Name(key), v.dump()));
  return v.get<double>();
}

int ConfigFields::Int(const std::string& key) const {
  const json& v = Get(key);
  if (!v.is_number_integer()) FailConfig(fmt::format("\"{}\" must be an integer, got {}", Name(key), v.dump()));
  // Unsigned first: 18446744073709551615 read as int64_t would be -1.
  if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(INT32_MAX)
                             : v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
    FailConfig(fmt::format("\"{}\" is out of range: {}", Name(key), v.dump()));
  }
  return static_cast<int>(v.get<int64_t>());
}

std::vector<std::string> ConfigFields::Strings(const std::string& key) const {
  const json& v = Get(key);
  if (!v.is_array()) FailConfig(fmt::format("\"{}\" must be an array of strings, got {}", Name(key), v.dump()));
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) FailConfig(fmt::format("\"{}\" must hold only strings, got {}", Name(key), e.dump()));
    out.push_back(e.get<std::string>());
  }
  return out;
}

ConfigFields ConfigFields::Object(const std::string& key, const json& known) const {
  const json& v = Get(key);
  if (!v.is_object()) FailConfig(fmt::format("\"{}\" must be an object, got {}", Name(key), v.dump()));
  RejectUnknownKeys(v, known, Name(key) + ".");
  return ConfigFields(v, Name(key) + ".");
}

}  // namespace faultline
