// Process faults through the Database adapter: kill (SIGKILL, restarted on
// Stop) and pause (SIGSTOP, SIGCONT on Stop).
#pragma once

#include <vector>

#include "nemesis/fault.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

class KillFault : public Fault {
 public:
  KillFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config);
  std::string name() const override { return "kill"; }
  nlohmann::json Start(std::mt19937_64& rng) override;  // {"targets"}
  nlohmann::json Stop() override;                       // restarts them
  nlohmann::json HealAll() override;                    // restarts every node not running
  std::vector<std::string> Verify() override;           // every node running

 private:
  std::vector<NodeInfo> nodes_;
  Database& db_;
  NemesisConfig config_;
  std::vector<std::string> killed_;
};

class PauseFault : public Fault {
 public:
  PauseFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config);
  std::string name() const override { return "pause"; }
  nlohmann::json Start(std::mt19937_64& rng) override;
  nlohmann::json Stop() override;
  nlohmann::json HealAll() override;           // resumes every node
  std::vector<std::string> Verify() override;  // no node's store process stopped

 private:
  std::vector<NodeInfo> nodes_;
  Database& db_;
  NemesisConfig config_;
  std::vector<std::string> paused_;
};

}  // namespace faultline
