// libFuzzer: a stream of packets through the daemon's pipeline
// (pipeline::process) with ICMP reassembly and the ICMP error rate limit on,
// as one worker sees them. Input = records of [flags:1][len:2 big-endian]
// [packet:len]; flags bit 0..3 advance the fake clock by that many 100 ms
// steps, so reassembly timeouts and token refills are reached. Checks: no
// crash or read outside a packet (ASan), emitted packets stay inside the
// output buffer, every IPv4 packet emitted has a valid header checksum, and
// a drop never emits. A variant byte with bit 7 set runs the PE role
// instead (MR-DB with a /24, a /26 of its own and the default rule; modes
// from bits 0-1 of the same byte), so its classifier, tunnel and
// translation paths see the same streams.
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
  static auto* pe = [] {
    struct Pe {
      mapping::MrDb mrdb;
      xlat::KnownPrefixes known;
      pipeline::PmtuCache pmtu;
    };
    auto* p = new Pe;
    auto rule = [&](const char* v4, const char* v6) {
      mapping::MrRule r;
      r.prefix = fuzz::p4(v4);
      r.target.pool6 = mapping::Pool6{fuzz::p6(v6), mapping::Pool6Layout::kLow32};
      if (!p->mrdb.upsert(r)) std::abort();
    };
    rule("198.51.100.0/24", "2001:db8:3:46::/96");
    rule("192.0.2.0/26", "2001:db8:1:46::/96");
    rule("0.0.0.0/0", "2001:db8:d:46::/96");
    for (const char* v6 : {"2001:db8:1:46::/96", "2001:db8:3:46::/96", "2001:db8:d:46::/96"}) {
      const mapping::Pool6 pool{fuzz::p6(v6), mapping::Pool6Layout::kLow32};
      p->known.insert(pool.prefix.addr.to_u128(), pool.prefix.len, xlat::KnownPref6{pool, v6[11] == '1'});
    }
    return p;
  }();
  pipeline::PeTables pe_tables{};
  if (data[0] & 0x80) {
    role.role = pipeline::Role::kPe;
    role.pe.own = mapping::Pool6{fuzz::p6("2001:db8:1:46::/96"), mapping::Pool6Layout::kLow32};
    role.pe.accept = static_cast<uint8_t>((data[0] & 3) == 0 ? 3 : data[0] & 3);
    role.pe.prefer = (data[0] & 4) ? mapping::kModeTranslate : mapping::kModeEncapsulate;
    role.pe.ingress_rate = (data[0] & 8) ? 100 : 0;
    pe_tables = {&pe->mrdb, &pe->known, &pe->pmtu};
  }
  const pipeline::Env env{cfg, role, fuzz::eamt(), nullptr, pe_tables};
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
