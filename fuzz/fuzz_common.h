// Shared by the libFuzzer harnesses: configuration variants selected by the
// first input byte, and the invariants every translation must keep. A broken
// invariant calls __builtin_trap() after printing what broke.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "fuzz_check.h"
#include "net/addr.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/headers.h"
#include "support/literals.h"
#include "support/sample_eamt.h"
#include "xlat/config.h"
#include "xlat/translate.h"

namespace edge46::fuzz {

using support::p4;
using support::p6;

// Variant byte:
//   bit 0     pool6 64:ff9b::/96 (0) or 2001:db8:100::/40 (1)
//   bits 1-2  hairpin: off, simple, intrinsic, intrinsic
//   bit 3     amend-udp-checksum-zero
//   bits 4-5  lowest-ipv6-mtu 1280 / 1400 / 1500 / 9000 (ipv6 MTU 1500 / 1500 / 1500 / 9000)
//   bit 6     RFC 6791 pools set (randomized), else unset
//   bit 7     translator's own addresses unset (no ICMP errors can be sent)
// Always: EAMs 2001:db8:6::/120 <-> 192.0.2.0/24 and 2001:db8:7::/124 <->
// 203.0.113.0/28, denylist4 198.18.0.0/15.
inline xlat::Config make_config(uint8_t v) {
  xlat::Config c;
  c.pool6 = mapping::Pool6{(v & 1) ? p6("2001:db8:100::/40") : p6("64:ff9b::/96"), mapping::Pool6Layout::kRfc6052};
  static constexpr xlat::HairpinMode kHp[4] = {xlat::HairpinMode::kOff, xlat::HairpinMode::kSimple,
                                               xlat::HairpinMode::kIntrinsic, xlat::HairpinMode::kIntrinsic};
  c.hairpin = kHp[(v >> 1) & 3];
  c.amend_udp_checksum_zero = (v & 8) != 0;
  static constexpr uint32_t kLowest[4] = {1280, 1400, 1500, 9000};
  c.lowest_ipv6_mtu = kLowest[(v >> 4) & 3];
  c.ipv6_mtu = ((v >> 4) & 3) == 3 ? 9000 : 1500;
  c.ipv4_mtu = ((v >> 4) & 3) == 3 ? 9000 : 1500;
  if (v & 0x40) {
    c.rfc6791v4 = p4("198.51.100.128/25");
    c.rfc6791v6 = p6("2001:db8:ffff:1::/64");
    c.randomize_rfc6791 = true;
  }
  if (!(v & 0x80)) {
    c.own_ipv4 = net::parse_ipv4("192.0.2.1");
    c.own_ipv6 = net::parse_ipv6("2001:db8:ffff::1");
  }
  c.denylist4.insert(0xc6120000u, 15, true);
  if (!c.validate().empty()) std::abort();
  return c;
}

// The EAMT every variant uses (a runtime table, outside the Config).
inline const mapping::Eamt& eamt() {
  return support::sample_eamt();
}

// The translator's worker state (IPv4 IDs, RNG), one per fuzzing process.
inline xlat::WorkerState& worker_state() {
  static xlat::WorkerState ws;
  return ws;
}

inline const xlat::Config& config(uint8_t v) {
  static const auto* all = [] {
    auto* a = new std::array<xlat::Config, 256>;
    for (unsigned i = 0; i < 256; ++i) (*a)[i] = make_config(static_cast<uint8_t>(i));
    return a;
  }();
  return (*all)[v];
}

inline xlat::Output& output() {
  static auto* out = new xlat::Output;
  return *out;
}

// One's-complement validity of a transport checksum over the pseudo-header
// and l4 bytes.
inline bool l4_sum_ok4(net::Ipv4Addr s, net::Ipv4Addr d, uint8_t proto, const uint8_t* l4, uint32_t n) {
  return net::csum_fold(net::csum_add_bytes(net::pseudo_header_sum4(s, d, proto, n), l4, n)) == 0xffff;
}
inline bool l4_sum_ok6(const net::Ipv6Addr& s, const net::Ipv6Addr& d, uint8_t proto, const uint8_t* l4, uint32_t n) {
  return net::csum_fold(net::csum_add_bytes(net::pseudo_header_sum6(s, d, proto, n), l4, n)) == 0xffff;
}
inline bool icmp4_sum_ok(const uint8_t* l4, uint32_t n) {
  return net::csum_fold(net::csum_add_bytes(0, l4, n)) == 0xffff;
}
// An ICMPv4 message whose 16-bit words are all zero (checksum field
// included) sums to +0: "invalid" by the fold test, yet 0x0000 and 0xffff
// are the same number in one's complement, and an RFC 1624 update (eqn. 3)
// cannot tell them apart. Such inputs are excluded from the carry-over check
// (reported in fuzz-results.md).
inline bool icmp4_all_zero(const uint8_t* l4, uint32_t n) {
  return net::csum_add_bytes(0, l4, n) == 0;
}

// Structural invariants on whatever translate() emitted.
// opaque_icmp: the input carried the other family's ICMP as its upper layer
// (protocol 58 in IPv4, Next Header 1 in IPv6). The translator copies such a
// payload untouched, so a translated packet may look like an ICMP error it
// never built; the ICMP error size and checksum checks skip it.
// ext_proto: an IPv4 input whose Protocol is an IPv6 extension header number
// (0, 43, 44, 51, 60). Finding F2: these were once copied into Next Header;
// the translator now refuses them (drop.bad_protocol), so every emitted IPv6
// packet must parse.
inline void check_output(const xlat::Config& cfg, xlat::Family ingress, xlat::Verdict v, const xlat::Output& out,
                         bool opaque_icmp = false, [[maybe_unused]] bool ext_proto = false) {
  using xlat::Outcome;
  EDGE46_FUZZ_CHECK(out.count <= xlat::Output::kMaxPackets, "count %u", out.count);
  if (v.outcome == Outcome::kDropped) {
    EDGE46_FUZZ_CHECK(out.count == 0, "dropped but %u packets emitted", out.count);
    EDGE46_FUZZ_CHECK(v.reason != core::Drop::kNone, "dropped without a reason");
    return;
  }
  EDGE46_FUZZ_CHECK(out.count >= 1, "outcome %d with nothing emitted", static_cast<int>(v.outcome));
  if (v.outcome == Outcome::kIcmpError) {
    EDGE46_FUZZ_CHECK(out.count == 1, "icmp error outcome with %u packets", out.count);
    EDGE46_FUZZ_CHECK(v.reason != core::Drop::kNone, "icmp error without a reason");
    EDGE46_FUZZ_CHECK(out.packets[0].family == ingress, "translator ICMP error leaves on the other side");
  } else {
    EDGE46_FUZZ_CHECK(v.reason == core::Drop::kNone, "translated with reason %d", static_cast<int>(v.reason));
  }
  const xlat::Family expect_family = v.outcome == Outcome::kTranslated
                                         ? (ingress == xlat::Family::kV4 ? xlat::Family::kV6 : xlat::Family::kV4)
                                         : ingress;  // hairpinned or translator error: back out the ingress side
  uint64_t prev_end = 0;
  for (uint32_t i = 0; i < out.count; ++i) {
    const xlat::Emitted& e = out.packets[i];
    EDGE46_FUZZ_CHECK(uint64_t{e.offset} + e.length <= xlat::Output::kBufferSize, "packet %u [%u,+%u) outside buffer",
                      i, e.offset, e.length);
    EDGE46_FUZZ_CHECK(e.offset >= prev_end, "packet %u overlaps the previous one", i);
    prev_end = uint64_t{e.offset} + e.length;
    EDGE46_FUZZ_CHECK(e.family == expect_family, "packet %u family %d, outcome %d", i, static_cast<int>(e.family),
                      static_cast<int>(v.outcome));
    const std::span<const uint8_t> pkt = out.packet(i);
    if (e.family == xlat::Family::kV4) {
      net::Ipv4Packet p;
      core::Drop d = net::parse_ipv4(pkt, p, true);
      EDGE46_FUZZ_CHECK(d == core::Drop::kNone, "emitted IPv4 packet %u does not parse: %d", i, static_cast<int>(d));
      EDGE46_FUZZ_CHECK(p.total_length == e.length, "IPv4 total length %u != emitted %u", p.total_length, e.length);
      const bool opaque = opaque_icmp && v.outcome == Outcome::kTranslated;
      const bool icmp_err = !opaque && p.protocol == net::proto::kIcmp && !p.is_fragment() && p.payload_avail() >= 1 &&
                            (p.payload()[0] == 3 || p.payload()[0] == 11 || p.payload()[0] == 12);
      if (icmp_err) {
        EDGE46_FUZZ_CHECK(e.length <= 576, "ICMPv4 error of %u bytes", e.length);
        EDGE46_FUZZ_CHECK(p.payload_avail() >= 8 && icmp4_sum_ok(p.payload(), p.payload_avail()),
                          "emitted ICMPv4 error with a bad checksum");
      } else {
        EDGE46_FUZZ_CHECK(e.length <= cfg.ipv4_mtu, "IPv4 packet of %u bytes > ipv4 mtu %u", e.length, cfg.ipv4_mtu);
      }
    } else {
      net::Ipv6Packet p;
      core::Drop d = net::parse_ipv6(pkt, p);
      EDGE46_FUZZ_CHECK(d == core::Drop::kNone, "emitted IPv6 packet %u does not parse: %d", i, static_cast<int>(d));
      EDGE46_FUZZ_CHECK(40u + p.payload_length == e.length, "IPv6 payload length %u + 40 != emitted %u",
                        p.payload_length, e.length);
      if (v.outcome == Outcome::kIcmpError) {
        EDGE46_FUZZ_CHECK(e.length <= 1280, "translator ICMPv6 error of %u bytes", e.length);
      } else {
        const uint32_t limit = std::max(cfg.ipv6_mtu, cfg.lowest_ipv6_mtu);
        EDGE46_FUZZ_CHECK(e.length <= limit, "IPv6 packet of %u bytes > %u", e.length, limit);
      }
      const bool opaque = opaque_icmp && v.outcome == Outcome::kTranslated;
      const bool icmp_err =
          !opaque && p.protocol == net::proto::kIcmp6 && !p.is_fragment() && p.l4_avail() >= 1 && p.l4()[0] < 128;
      if (icmp_err) {
        EDGE46_FUZZ_CHECK(e.length <= 1280, "ICMPv6 error of %u bytes", e.length);
        EDGE46_FUZZ_CHECK(l4_sum_ok6(p.src, p.dst, net::proto::kIcmp6, p.l4(), p.l4_avail()),
                          "emitted ICMPv6 error with a bad checksum");
      }
    }
  }
}

}  // namespace edge46::fuzz
