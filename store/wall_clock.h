// The wall clock both the Coordinator (last-write-wins timestamps) and the
// HTTP API (/status wall_clock_ms) use unless a test injects its own.
#pragma once

#include <chrono>
#include <cstdint>

namespace dynastore {

// Milliseconds since the Unix epoch.
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace dynastore
