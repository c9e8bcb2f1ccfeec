// A data-path worker: owns one TUN queue fd, one Output area and one
// Counters block. Loop: wait for the fd, read a burst, load the current
// snapshot once, run each packet through the role pipeline, write what it
// emits back to the same fd (the kernel routes it by destination).
#pragma once

#include <atomic>
#include <cstddef>

#include "daemon/state.h"

namespace edge46::daemon {

struct WorkerArgs {
  std::size_t index = 0;
  int fd = -1;
  int wake_fd = -1;      // eventfd: readable when the daemon stops
  bool offload = false;  // frames carry a virtio-net header (src/pipeline/offload.h)
  const std::atomic<bool>* stop = nullptr;
  DaemonState* state = nullptr;
};

void run_worker(const WorkerArgs& a);

}  // namespace edge46::daemon
