#include "daemon/worker.h"

#include <chrono>
#include <cstring>
#include <memory>

#include "daemon/log.h"
#include "io/tun.h"
#include "pipeline/offload.h"
#include "pipeline/pipeline.h"

namespace edge46::daemon {

void run_worker(const WorkerArgs& a) {
  auto area = std::make_unique<pipeline::OffloadArea>();
  xlat::Output* out = &area->out;
  out->ipv4_id = static_cast<uint32_t>(a.index * 0x9e3779b9u);
  out->rng ^= static_cast<uint64_t>(a.index + 1) * 0x9e3779b97f4a7c15ull;
  auto burst = std::make_unique<io::Burst>();
  auto& c = a.state->counters.worker(a.index);
  auto last_error_log = std::chrono::steady_clock::time_point{};
  // An RCU reader of the snapshot (src/daemon/rcu.h): the pointer loaded for
  // a burst is dropped by the quiescent state at the top of the next turn,
  // and the thread is offline whenever it blocks, so a grace period waits
  // for at most one burst and never for traffic to arrive.
  RcuReaderThread reader;

  while (!a.stop->load(std::memory_order_relaxed)) {
    RcuReaderThread::quiescent();  // the previous burst's snapshot is no longer used
    int n = io::read_burst(a.fd, *burst);
    if (n == 0) {
      RcuOffline idle;
      io::wait_readable(a.fd, a.wake_fd, 1000);
      continue;
    }
    if (n < 0) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_error_log > std::chrono::seconds(10)) {  // rate-limited
        last_error_log = now;
        log_error("worker " + std::to_string(a.index) + ": TUN read: " + std::strerror(-n));
      }
      RcuOffline idle;
      io::wait_readable(a.fd, a.wake_fd, 100);
      continue;
    }
    c.batches.add();
    // One snapshot per burst: a reload takes effect at the next burst.
    const Snapshot* snap = a.state->snapshot.read();
    const auto& xcfg = snap->settings.xlat;
    if (a.offload) {
      for (int i = 0; i < n; ++i) {
        pipeline::process_vnet(xcfg, snap->role, burst->packet(static_cast<std::size_t>(i)), *area, c);
        for (uint32_t k = 0; k < area->count; ++k) {
          const auto& e = area->em[k];
          std::span<const uint8_t> vh(reinterpret_cast<const uint8_t*>(&e.vnet), io::kVnetHdrSize);
          if (io::write_pieces(a.fd, vh, e.head, e.tail) != 0) {
            c.drop(pipeline::PipelineDrop::kWriteFailed);
          }
        }
      }
      continue;
    }
    for (int i = 0; i < n; ++i) {
      auto r = pipeline::process(xcfg, snap->role, burst->packet(static_cast<std::size_t>(i)), *out, c);
      if (!r.emitted()) {
        continue;
      }
      for (uint32_t k = 0; k < out->count; ++k) {
        if (io::write_packet(a.fd, out->packet(k)) != 0) {
          c.drop(pipeline::PipelineDrop::kWriteFailed);
        }
      }
    }
  }
}

}  // namespace edge46::daemon
