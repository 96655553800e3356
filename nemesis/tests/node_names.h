// Node names for the pure nemesis tests (grudges, target specs).
#pragma once

#include <string>
#include <vector>

namespace faultline::test {

// "n1" ... "n<count>".
inline std::vector<std::string> Nodes(int count) {
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) names.push_back("n" + std::to_string(i));
  return names;
}

}  // namespace faultline::test
