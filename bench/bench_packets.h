// Configurations and packets shared by bench_xlat and xlat_loop.
//
// Topology (all documentation ranges):
//   IPv4 Internet host  198.51.100.10  <-> 64:ff9b::198.51.100.10 (pool6 /96)
//                                      <-> 2001:db8:1c6:3364:a::  (pool6 /40)
//   IPv6 node via EAM   2001:db8:6::10 <-> 192.0.2.16  (EAM 2001:db8:6::/120 <-> 192.0.2.0/24)
//   second EAM          2001:db8:7::/124 <-> 203.0.113.0/28 (never hit; makes the lookup a real scan)
//   translator          192.0.2.1 / 2001:db8:ffff::1
//
// Every packet is built once, by tests/support/packet_builder.h, with correct
// IP, UDP, TCP and ICMP checksums.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "net/addr.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/headers.h"
#include "support/literals.h"
#include "support/packet_builder.h"
#include "support/sample_eamt.h"
#include "xlat/config.h"
#include "xlat/translate.h"

namespace edge46::bench {

using Bytes = test::Bytes;

using support::p4;
using support::p6;
using support::v4;
using support::v6;

// pool6_len: 96 (64:ff9b::/96) or 40 (2001:db8:100::/40, RFC 6052 2.2 layout).
inline xlat::Config make_config(unsigned pool6_len) {
  xlat::Config c;
  c.pool6 =
      mapping::Pool6{pool6_len == 96 ? p6("64:ff9b::/96") : p6("2001:db8:100::/40"), mapping::Pool6Layout::kRfc6052};
  c.own_ipv4 = v4("192.0.2.1");
  c.own_ipv6 = v6("2001:db8:ffff::1");
  c.lowest_ipv6_mtu = 1280;
  c.ipv4_mtu = 1500;
  c.ipv6_mtu = 1500;
  if (!c.validate().empty()) std::abort();
  return c;
}

inline const net::Ipv4Addr kHost4 = v4("198.51.100.10");  // IPv4 Internet host
inline const net::Ipv4Addr kNode4 = v4("192.0.2.16");     // EAM image of kNode6
inline const net::Ipv6Addr kNode6 = v6("2001:db8:6::10");
inline net::Ipv6Addr host6(unsigned pool6_len) {
  return pool6_len == 96 ? v6("64:ff9b::c633:640a") : v6("2001:db8:1c6:3364:a::");
}

// --- builders ----------------------------------------------------------------
// The packets come from the tests' independent builder (tests/support), so
// the checksums the benchmark feeds in were not computed by the code it
// measures.

inline test::V6 raw6(const net::Ipv6Addr& a) {
  test::V6 r{};
  std::copy(a.bytes.begin(), a.bytes.end(), r.begin());
  return r;
}
inline test::Ip4 hdr4(net::Ipv4Addr s, net::Ipv4Addr d, uint8_t proto, bool df) {
  test::Ip4 h;
  h.src = s.value;
  h.dst = d.value;
  h.proto = proto;
  h.df = df;
  return h;
}
inline test::Ip6 hdr6(const net::Ipv6Addr& s, const net::Ipv6Addr& d, uint8_t next) {
  test::Ip6 h;
  h.src = raw6(s);
  h.dst = raw6(d);
  h.next = next;
  return h;
}
inline Bytes head(const Bytes& b, std::size_t n) {
  return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

// IPv4 UDP packet of `total` bytes.
inline Bytes udp4(net::Ipv4Addr s, net::Ipv4Addr d, std::size_t total, bool df = true) {
  return test::v4_packet(hdr4(s, d, test::kUdp, df), test::udp(40000, 53, test::pattern(total - 28)));
}
inline Bytes tcp4(net::Ipv4Addr s, net::Ipv4Addr d, std::size_t total, bool df = true) {
  return test::v4_packet(hdr4(s, d, test::kTcp, df), test::tcp(443, 51000, 0x01020304, test::pattern(total - 40)));
}
inline Bytes udp6(const net::Ipv6Addr& s, const net::Ipv6Addr& d, std::size_t total) {
  return test::v6_packet(hdr6(s, d, test::kUdp), test::udp(40000, 53, test::pattern(total - 48)));
}
inline Bytes tcp6(const net::Ipv6Addr& s, const net::Ipv6Addr& d, std::size_t total) {
  return test::v6_packet(hdr6(s, d, test::kTcp), test::tcp(443, 51000, 0x01020304, test::pattern(total - 60)));
}

// ICMPv4 Port Unreachable (3/3) of `total` bytes from the IPv4 host to the
// EAM node, quoting the start of the node's UDP packet to the host.
inline Bytes icmp4_port_unreach(std::size_t total) {
  const std::size_t quote = total - 28;
  Bytes orig = udp4(kNode4, kHost4, std::max<std::size_t>(quote, 28));
  return test::v4_packet(hdr4(kHost4, kNode4, test::kIcmp, false), test::icmp(3, 3, 0, head(orig, quote)));
}

// ICMPv6 Port Unreachable (1/4) of `total` bytes from the EAM node to the
// IPv4 host, quoting the host's UDP packet to the node.
inline Bytes icmp6_port_unreach(unsigned pool6_len, std::size_t total) {
  const std::size_t quote = total - 48;
  const net::Ipv6Addr h6 = host6(pool6_len);
  Bytes orig = udp6(h6, kNode6, std::max<std::size_t>(quote, 48));
  return test::v6_packet(hdr6(kNode6, h6, test::kIcmp6), test::icmp(1, 4, 0, head(orig, quote)));
}

// --- the benchmark cases -------------------------------------------------------

struct Case {
  std::string name;
  xlat::Family ingress;
  unsigned pool6_len;
  Bytes packet;
  uint32_t expect_out;  // packets emitted
};

inline std::vector<Case> all_cases() {
  std::vector<Case> v;
  for (unsigned len : {96u, 40u}) {
    const std::string sfx = len == 96 ? "/pool96" : "/pool40";
    const net::Ipv6Addr h6 = host6(len);
    v.push_back({"46_udp64" + sfx, xlat::Family::kV4, len, udp4(kHost4, kNode4, 64), 1});
    v.push_back({"64_udp64" + sfx, xlat::Family::kV6, len, udp6(kNode6, h6, 64), 1});
    v.push_back({"46_tcp1400" + sfx, xlat::Family::kV4, len, tcp4(kHost4, kNode4, 1400), 1});
    v.push_back({"64_tcp1400" + sfx, xlat::Family::kV6, len, tcp6(kNode6, h6, 1400), 1});
    v.push_back({"46_icmperr100" + sfx, xlat::Family::kV4, len, icmp4_port_unreach(100), 1});
    v.push_back({"64_icmperr100" + sfx, xlat::Family::kV6, len, icmp6_port_unreach(len, 100), 1});
    v.push_back({"46_icmperr576" + sfx, xlat::Family::kV4, len, icmp4_port_unreach(576), 1});
    v.push_back({"64_icmperr576" + sfx, xlat::Family::kV6, len, icmp6_port_unreach(len, 576), 1});
    v.push_back({"64_icmperr1280" + sfx, xlat::Family::kV6, len, icmp6_port_unreach(len, 1280), 1});
    v.push_back({"46_udp1500_frag" + sfx, xlat::Family::kV4, len, udp4(kHost4, kNode4, 1500, false), 2});
  }
  return v;
}

// The EAMT of every case (a runtime table, outside the Config), and the
// translator's worker state.
inline const mapping::Eamt& eamt() { return support::sample_eamt(); }
inline xlat::WorkerState& worker_state() {
  static xlat::WorkerState ws;
  return ws;
}

// Translates once and aborts unless the case translates as expected.
inline void check_case(const xlat::Config& cfg, const Case& c, xlat::Output& out) {
  xlat::Verdict v = xlat::translate(cfg, eamt(), worker_state(), c.ingress, c.packet, out);
  if (v.outcome != xlat::Outcome::kTranslated || out.count != c.expect_out) {
    std::fprintf(stderr, "case %s: outcome %d reason %d count %u (expected translated, %u packets)\n", c.name.c_str(),
                 static_cast<int>(v.outcome), static_cast<int>(v.reason), out.count, c.expect_out);
    std::abort();
  }
}

}  // namespace edge46::bench
