// The state one worker's pipeline keeps between packets: the reassembly
// table for fragmented ICMP, the token buckets of the ICMP errors the
// translator generates, the translator's IPv4 ID and RNG state, and the
// time. Created once per worker on the control
// path (it allocates); then only the owning worker touches it.
//
// The worker sets `now_ns` (CLOCK_MONOTONIC) once per burst and copies the
// rate limit of the current snapshot into `icmp_limit`; process() reads
// both and makes no system call.
#pragma once

#include <array>
#include <cstdint>

#include "pipeline/rate_limit.h"
#include "pipeline/reassembly.h"
#include "xlat/translate.h"

namespace edge46::pipeline {

struct WorkerContext {
  explicit WorkerContext(const ReassemblyLimits& reasm = {}, RateLimit icmp = {})
      : reassembly(reasm), icmp_limit(icmp) {}

  Reassembler reassembly;
  RateLimit icmp_limit;
  // One bucket per family of the error (index kV4 / kV6): an ICMPv4 flood
  // does not silence the ICMPv6 errors and vice versa.
  std::array<TokenBucket, 2> icmp_errors{};
  uint64_t now_ns = 0;
  // The translator's own per-worker state (IPv4 Identification, RNG); seed
  // it with xlat::seed_from_entropy at worker start.
  xlat::WorkerState xlat;
  // PE: packet-rate buckets per ingress Pref6 (framework 7.1), indexed by
  // a hash of the prefix; two prefixes that share one share its rate.
  std::array<TokenBucket, 256> pe_ingress{};
};

}  // namespace edge46::pipeline
