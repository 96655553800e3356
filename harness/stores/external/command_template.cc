#include "harness/stores/external/command_template.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include "harness/base/harness_error.h"

namespace faultline {

namespace {

bool IsWord(const std::string& word) {
  return word == "name" || word == "address" || word == "dir" || word == "port" || word == "nodes" ||
         word.rfind("env:", 0) == 0;
}

}  // namespace

CommandTemplate::CommandTemplate(std::vector<std::string> argv) : argv_(std::move(argv)) {
  for (const std::string& arg : argv_) pieces_.push_back(Parse(arg));
}

std::vector<CommandTemplate::Piece> CommandTemplate::Parse(const std::string& arg) {
  std::vector<Piece> pieces;
  size_t i = 0;
  while (i < arg.size()) {
    const size_t open = arg.find('{', i);
    if (open == std::string::npos) break;
    const size_t close = arg.find('}', open + 1);
    if (close == std::string::npos) break;
    if (open > i) pieces.push_back({arg.substr(i, open - i), false});
    const std::string word = arg.substr(open + 1, close - open - 1);
    if (IsWord(word)) {
      pieces.push_back({word, true});
    } else {
      pieces.push_back({arg.substr(open, close - open + 1), false});  // not ours: leave it
    }
    i = close + 1;
  }
  if (i < arg.size()) pieces.push_back({arg.substr(i), false});
  return pieces;
}

std::string CommandTemplate::ExpandArg(const std::string& arg, const std::vector<Piece>& pieces, const NodeInfo& node,
                                       const std::vector<NodeInfo>& nodes, int port) {
  std::string out;
  for (const Piece& piece : pieces) {
    const std::string& word = piece.text;
    if (!piece.word) {
      out += word;
    } else if (word == "name") {
      out += node.name;
    } else if (word == "address") {
      out += node.address;
    } else if (word == "dir") {
      out += node.dir;
    } else if (word == "port") {
      out += std::to_string(port);
    } else if (word == "nodes") {
      std::vector<std::string> list;
      for (const NodeInfo& n : nodes) list.push_back(n.name + "=" + n.address);
      out += fmt::format("{}", fmt::join(list, ","));
    } else {
      const char* value = std::getenv(word.substr(4).c_str());
      if (value == nullptr) {
        throw HarnessError(
            fmt::format("external: the command argument \"{}\" needs the environment variable {}, "
                        "which is not set",
                        arg, word.substr(4)));
      }
      out += value;
    }
  }
  return out;
}

std::vector<std::string> CommandTemplate::EnvVars() const {
  std::vector<std::string> vars;
  for (const auto& pieces : pieces_) {
    for (const Piece& piece : pieces) {
      if (piece.word && piece.text.rfind("env:", 0) == 0) vars.push_back(piece.text.substr(4));
    }
  }
  return vars;
}

std::vector<std::string> CommandTemplate::Expand(const NodeInfo& node, const std::vector<NodeInfo>& nodes,
                                                 int port) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv_.size(); ++i) out.push_back(ExpandArg(argv_[i], pieces_[i], node, nodes, port));
  return out;
}

std::string ExpandTemplate(const std::string& arg, const NodeInfo& node, const std::vector<NodeInfo>& nodes, int port) {
  return CommandTemplate::ExpandArg(arg, CommandTemplate::Parse(arg), node, nodes, port);
}

}  // namespace faultline
