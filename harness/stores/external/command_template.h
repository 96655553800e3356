// The templates of the external adapter's commands (README "External adapter
// protocol"), substituted in every argument:
//   {name} node name   {address} node address   {dir} node directory
//   {port} external.port   {nodes} every node as "n1=ADDR,n2=ADDR,..."
//   {env:VAR} the harness's environment variable VAR (an error when unset)
// Unknown {words} are left as they are.
#pragma once

#include <string>
#include <vector>

#include "harness/api/database.h"

namespace faultline {

// One command (an argv array) with its templates, parsed once. Immutable,
// so safe to share between threads.
class CommandTemplate {
 public:
  CommandTemplate() = default;
  explicit CommandTemplate(std::vector<std::string> argv);

  bool empty() const { return argv_.empty(); }
  // The command as configured (templates, never an {env:VAR} value).
  const std::vector<std::string>& shown() const { return argv_; }
  // Every VAR of an {env:VAR} in the command, in order (repeats kept).
  std::vector<std::string> EnvVars() const;
  // The command for `node`. Throws HarnessError for an unset {env:VAR}.
  std::vector<std::string> Expand(const NodeInfo& node, const std::vector<NodeInfo>& nodes, int port) const;

 private:
  // Literal text, or a template word ({name}: "name", {env:X}: "env:X").
  struct Piece {
    std::string text;
    bool word = false;
  };
  static std::vector<Piece> Parse(const std::string& arg);
  static std::string ExpandArg(const std::string& arg, const std::vector<Piece>& pieces, const NodeInfo& node,
                               const std::vector<NodeInfo>& nodes, int port);
  friend std::string ExpandTemplate(const std::string&, const NodeInfo&, const std::vector<NodeInfo>&, int);

  std::vector<std::string> argv_;
  std::vector<std::vector<Piece>> pieces_;  // per argument
};

// Substitutes the templates in one argument. Throws HarnessError for an
// unset {env:VAR}.
std::string ExpandTemplate(const std::string& arg, const NodeInfo& node, const std::vector<NodeInfo>& nodes, int port);

}  // namespace faultline
