// libFuzzer: a stream of packets through the daemon's pipeline
// (pipeline::process) with ICMP reassembly and the ICMP error rate limit on,
// as one worker sees them. Input = records of [flags:1][len:2 big-endian]
// [packet:len]; flags bit 0..3 advance the fake clock by that many 100 ms
// steps, so reassembly timeouts and token refills are reached. Checks: no
// crash or read outside a packet (ASan), emitted packets stay inside the
// output buffer, every IPv4 packet emitted has a valid header checksum, and
// a drop never emits.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fuzz_common.h"
#include "pipeline/pipeline.h"
#include "pipeline/worker_context.h"

using namespace edge46;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const xlat::Config& cfg = fuzz::config(data[0]);
  static auto* out = new xlat::Output();
  static pipeline::CounterSet counters(1);
  // A fresh context per input: reassembly state must not leak between runs.
  auto ctx = std::make_unique<pipeline::WorkerContext>(pipeline::ReassemblyLimits{8, 64 * 1024, 2000},
                                                       pipeline::RateLimit{100, 5});
  pipeline::RoleConfig role{};
  const pipeline::Env env{cfg, role, fuzz::eamt()};
  std::size_t off = 1;
  while (size - off >= 3) {
    const uint8_t flags = data[off];
    const std::size_t len = (std::size_t{data[off + 1]} << 8) | data[off + 2];
    off += 3;
    if (len > size - off) break;
    ctx->now_ns += uint64_t{flags & 0x0fu} * 100'000'000u;
    auto r = pipeline::process(env, {data + off, len}, *out, counters.worker(0), *ctx);
    off += len;
    if (!r.emitted()) {
      EDGE46_FUZZ_CHECK(r.verdict.outcome == xlat::Outcome::kDropped || r.pipeline_drop || r.held,
                        "not emitted but outcome %d", static_cast<int>(r.verdict.outcome));
      continue;
    }
    EDGE46_FUZZ_CHECK(out->count >= 1 && out->count <= xlat::Output::kMaxPackets, "count %u", out->count);
    for (uint32_t i = 0; i < out->count; ++i) {
      const auto& e = out->packets[i];
      EDGE46_FUZZ_CHECK(std::size_t{e.offset} + e.length <= xlat::Output::kBufferSize, "packet %u outside", i);
      auto p = out->packet(i);
      if (e.family == xlat::Family::kV4) {
        net::Ipv4Packet ip;
        EDGE46_FUZZ_CHECK(net::parse_ipv4(p, ip, true) == core::Drop::kNone, "emitted IPv4 packet %u unparsable", i);
      } else {
        net::Ipv6Packet ip;
        EDGE46_FUZZ_CHECK(net::parse_ipv6(p, ip) == core::Drop::kNone, "emitted IPv6 packet %u unparsable", i);
      }
    }
  }
  return 0;
}
