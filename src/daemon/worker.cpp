#include "daemon/worker.h"

#include <time.h>

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
  auto burst = std::make_unique<io::Burst>();
  auto& c = a.state->counters.worker(a.index);
  auto last_error_log = std::chrono::steady_clock::time_point{};
  // An RCU reader of the snapshot (src/daemon/rcu.h): the pointer loaded for
  // a burst is dropped by the quiescent state at the top of the next turn,
  // and the thread is offline whenever it blocks, so a grace period waits
  // for at most one burst and never for traffic to arrive.
  RcuReaderThread reader;

  // Per-worker pipeline state. Reassembly is sized once from the settings in
  // force at start; the ICMP error rate follows reloads (set per burst).
  //
  // Fragments of one datagram reach one worker: the multi-queue TUN picks the
  // queue from the packet's symmetric flow hash (tun_automq_select_queue:
  // __skb_get_hash_symmetric, i.e. the flow dissector without
  // FLOW_DISSECTOR_F_PARSE_1ST_FRAG), which stops at the IPv4 header / the
  // Fragment header of every fragment, first fragments included, so all of
  // them hash on the same addresses and protocol. The exception: the TUN's
  // flow table (learned from the queues' writes) may move that hash to
  // another queue between two fragments; such a datagram times out
  // (reasm_timeout) like one that lost a fragment.
  const config::LimitSettings lim0 = a.state->snapshot.read()->settings.limits;
  auto ctx = std::make_unique<pipeline::WorkerContext>(
      pipeline::ReassemblyLimits{lim0.reassembly_slots, lim0.reassembly_memory, lim0.reassembly_timeout_ms},
      pipeline::RateLimit{lim0.icmp_error_rate, lim0.icmp_error_burst});
  // RFC 7739 IPv4 IDs and RFC 6791 address choice: random per worker; the
  // fixed seed below is only a fallback should getrandom(2) fail.
  if (!xlat::seed_from_entropy(ctx->xlat)) {
    xlat::seed(ctx->xlat, static_cast<uint64_t>(a.index + 1) * 0x9e3779b97f4a7c15ull);
  }

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
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // once per burst: the pipeline reads ctx->now_ns
    ctx->now_ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
    // One snapshot per burst: a reload takes effect at the next burst.
    const Snapshot* snap = a.state->snapshot.read();
    // The runtime tables are published apart from the snapshot (tables.h).
    const pipeline::Env env{snap->settings.xlat, snap->role, *a.state->eamt.read(), a.state->tun_routes.read(),
                            a.state->pe.tables()};
    const pipeline::Composition process = pipeline::composition(snap->role.role);
    ctx->icmp_limit = {snap->settings.limits.icmp_error_rate, snap->settings.limits.icmp_error_burst};
    if (a.offload) {
      for (int i = 0; i < n; ++i) {
        pipeline::process_vnet(env, burst->packet(static_cast<std::size_t>(i)), *area, c, *ctx);
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
      auto r = process(env, burst->packet(static_cast<std::size_t>(i)), *out, c, *ctx);
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
