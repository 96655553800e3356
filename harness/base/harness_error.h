// HarnessError: the test rig itself failed (a node did not start, a command
// failed, a bad config). Thrown inside the harness and caught at the command
// boundary, where it becomes exit code 2 ("the rig is broken", not "the store
// is broken"). Outcomes of client operations are values (Completion), never
// exceptions.
#pragma once

#include <stdexcept>
#include <string>

namespace faultline {

class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace faultline
