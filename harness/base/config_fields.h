// Typed access to a JSON config object whose every error names the field:
// what the test config (harness/run/test_config.h) and each store's config
// parser (harness/stores/*/X_config.h) read their keys with.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace faultline {

// A config that cannot be used; the message names the field and the problem.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws ConfigError("config: " + message).
[[noreturn]] void FailConfig(const std::string& message);

// Throws ConfigError unless `min` <= port <= 65535, naming the field as
// users write it (`name`: "etcd.peer-port"). min 0: "any free port" allowed.
void CheckPort(const std::string& name, int port, int min = 1);

// Throws ConfigError unless every key of `object` is a key of `known`; the
// message lists the known keys, each prefixed with `prefix` ("dynastore.").
void RejectUnknownKeys(const nlohmann::json& object, const nlohmann::json& known, const std::string& prefix);

// A view of one JSON object (not owned: it must outlive the ConfigFields).
// Every getter throws ConfigError naming prefix + key when the key is
// missing or has the wrong type.
class ConfigFields {
 public:
  // `given`: the user's own config (without defaults), for Explicit(); may be null.
  ConfigFields(const nlohmann::json& object, std::string prefix, const nlohmann::json* given = nullptr)
      : object_(object), prefix_(std::move(prefix)), given_(given) {}

  // Whether the user's config (not the defaults) has the key.
  bool Explicit(const std::string& key) const { return given_ != nullptr && given_->contains(key); }
  // The key as users write it: prefix + key ("dynastore.n").
  std::string Name(const std::string& key) const { return prefix_ + key; }

  const nlohmann::json& Get(const std::string& key) const;
  std::string String(const std::string& key) const;
  bool Bool(const std::string& key) const;
  double Number(const std::string& key) const;
  int Int(const std::string& key) const;  // an integer that fits in an int
  std::vector<std::string> Strings(const std::string& key) const;
  // A nested object ("dynastore", "ssh", ...) whose keys must all be in `known`.
  ConfigFields Object(const std::string& key, const nlohmann::json& known) const;

 private:
  const nlohmann::json& object_;
  std::string prefix_;
  const nlohmann::json* given_;
};

}  // namespace faultline
