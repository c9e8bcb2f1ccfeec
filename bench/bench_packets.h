// Configurations and packets shared by bench_xlat and xlat_loop.
//
// Topology (all documentation ranges):
//   IPv4 Internet host  198.51.100.10  <-> 64:ff9b::198.51.100.10 (pool6 /96)
//                                      <-> 2001:db8:1c6:3364:a::  (pool6 /40)
//   IPv6 node via EAM   2001:db8:6::10 <-> 192.0.2.16  (EAM 2001:db8:6::/120 <-> 192.0.2.0/24)
//   second EAM          2001:db8:7::/124 <-> 203.0.113.0/28 (never hit; makes the lookup a real scan)
//   translator          192.0.2.1 / 2001:db8:ffff::1
//
// Every packet is built once with correct IP, UDP, TCP and ICMP checksums.
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
#include "xlat/config.h"
#include "xlat/translate.h"

namespace edge46::bench {

using Bytes = std::vector<uint8_t>;

using support::p4;
using support::p6;
using support::v4;
using support::v6;

// pool6_len: 96 (64:ff9b::/96) or 40 (2001:db8:100::/40, RFC 6052 2.2 layout).
inline xlat::Config make_config(unsigned pool6_len) {
  xlat::Config c;
  c.pool6 =
      mapping::Pool6{pool6_len == 96 ? p6("64:ff9b::/96") : p6("2001:db8:100::/40"), mapping::Pool6Layout::kRfc6052};
  if (!c.eamt.add({p6("2001:db8:6::/120"), p4("192.0.2.0/24")}).empty()) std::abort();
  if (!c.eamt.add({p6("2001:db8:7::/124"), p4("203.0.113.0/28")}).empty()) std::abort();
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

inline void fill_payload(uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
}

inline Bytes ipv4_packet(net::Ipv4Addr src, net::Ipv4Addr dst, uint8_t proto, bool df, const Bytes& l4) {
  Bytes b(20 + l4.size());
  uint8_t* o = b.data();
  o[0] = 0x45;
  o[1] = 0;
  net::store16(o + 2, static_cast<uint16_t>(b.size()));
  net::store16(o + 4, 0x1234);
  net::store16(o + 6, df ? net::ipv4::kFlagDf : 0);
  o[8] = 64;
  o[9] = proto;
  net::write_ipv4(o + 12, src);
  net::write_ipv4(o + 16, dst);
  net::store16(o + 10, net::ipv4_header_checksum(o, 20));
  std::copy(l4.begin(), l4.end(), b.begin() + 20);
  return b;
}

inline Bytes ipv6_packet(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint8_t next, const Bytes& l4) {
  Bytes b(40 + l4.size());
  uint8_t* o = b.data();
  net::store32(o, 6u << 28);
  net::store16(o + 4, static_cast<uint16_t>(l4.size()));
  o[6] = next;
  o[7] = 64;
  net::write_ipv6(o + 8, src);
  net::write_ipv6(o + 24, dst);
  std::copy(l4.begin(), l4.end(), b.begin() + 40);
  return b;
}

// L4 segments with the checksum field at `csum_at`, finished for the given
// pseudo-header sum.
inline void finish_l4(Bytes& l4, std::size_t csum_at, uint64_t pseudo) {
  net::store16(l4.data() + csum_at, 0);
  uint16_t c = net::csum_finish(net::csum_add_bytes(pseudo, l4.data(), l4.size()));
  if (csum_at == net::udp::kChecksum && c == 0) c = 0xffff;
  net::store16(l4.data() + csum_at, c);
}

inline Bytes udp_segment(std::size_t payload) {
  Bytes l4(8 + payload);
  net::store16(l4.data(), 40000);
  net::store16(l4.data() + 2, 53);
  net::store16(l4.data() + 4, static_cast<uint16_t>(l4.size()));
  fill_payload(l4.data() + 8, payload);
  return l4;
}
inline Bytes tcp_segment(std::size_t payload) {
  Bytes l4(20 + payload);
  net::store16(l4.data(), 443);
  net::store16(l4.data() + 2, 51000);
  net::store32(l4.data() + 4, 0x01020304);
  net::store32(l4.data() + 8, 0x05060708);
  l4[12] = 5 << 4;
  l4[13] = 0x18;  // PSH ACK
  net::store16(l4.data() + 14, 65000);
  fill_payload(l4.data() + 20, payload);
  return l4;
}

// IPv4 UDP packet of `total` bytes.
inline Bytes udp4(net::Ipv4Addr s, net::Ipv4Addr d, std::size_t total, bool df = true) {
  Bytes l4 = udp_segment(total - 28);
  finish_l4(l4, 6, net::pseudo_header_sum4(s, d, net::proto::kUdp, static_cast<uint32_t>(l4.size())));
  return ipv4_packet(s, d, net::proto::kUdp, df, l4);
}
inline Bytes tcp4(net::Ipv4Addr s, net::Ipv4Addr d, std::size_t total, bool df = true) {
  Bytes l4 = tcp_segment(total - 40);
  finish_l4(l4, 16, net::pseudo_header_sum4(s, d, net::proto::kTcp, static_cast<uint32_t>(l4.size())));
  return ipv4_packet(s, d, net::proto::kTcp, df, l4);
}
inline Bytes udp6(const net::Ipv6Addr& s, const net::Ipv6Addr& d, std::size_t total) {
  Bytes l4 = udp_segment(total - 48);
  finish_l4(l4, 6, net::pseudo_header_sum6(s, d, net::proto::kUdp, static_cast<uint32_t>(l4.size())));
  return ipv6_packet(s, d, net::proto::kUdp, l4);
}
inline Bytes tcp6(const net::Ipv6Addr& s, const net::Ipv6Addr& d, std::size_t total) {
  Bytes l4 = tcp_segment(total - 60);
  finish_l4(l4, 16, net::pseudo_header_sum6(s, d, net::proto::kTcp, static_cast<uint32_t>(l4.size())));
  return ipv6_packet(s, d, net::proto::kTcp, l4);
}

// ICMPv4 Port Unreachable (3/3) of `total` bytes from the IPv4 host to the
// EAM node, quoting the start of the node's UDP packet to the host.
inline Bytes icmp4_port_unreach(std::size_t total) {
  const std::size_t quote = total - 28;
  Bytes orig = udp4(kNode4, kHost4, std::max<std::size_t>(quote, 28));
  Bytes l4(8 + quote);
  l4[0] = 3;
  l4[1] = 3;
  std::copy(orig.begin(), orig.begin() + static_cast<std::ptrdiff_t>(quote), l4.begin() + 8);
  finish_l4(l4, 2, 0);
  return ipv4_packet(kHost4, kNode4, net::proto::kIcmp, false, l4);
}

// ICMPv6 Port Unreachable (1/4) of `total` bytes from the EAM node to the
// IPv4 host, quoting the host's UDP packet to the node.
inline Bytes icmp6_port_unreach(unsigned pool6_len, std::size_t total) {
  const std::size_t quote = total - 48;
  const net::Ipv6Addr h6 = host6(pool6_len);
  Bytes orig = udp6(h6, kNode6, std::max<std::size_t>(quote, 48));
  Bytes l4(8 + quote);
  l4[0] = 1;
  l4[1] = 4;
  std::copy(orig.begin(), orig.begin() + static_cast<std::ptrdiff_t>(quote), l4.begin() + 8);
  finish_l4(l4, 2, net::pseudo_header_sum6(kNode6, h6, net::proto::kIcmp6, static_cast<uint32_t>(l4.size())));
  return ipv6_packet(kNode6, h6, net::proto::kIcmp6, l4);
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

// Translates once and aborts unless the case translates as expected.
inline void check_case(const xlat::Config& cfg, const Case& c, xlat::Output& out) {
  xlat::Verdict v = xlat::translate(cfg, c.ingress, c.packet, out);
  if (v.outcome != xlat::Outcome::kTranslated || out.count != c.expect_out) {
    std::fprintf(stderr, "case %s: outcome %d reason %d count %u (expected translated, %u packets)\n", c.name.c_str(),
                 static_cast<int>(v.outcome), static_cast<int>(v.reason), out.count, c.expect_out);
    std::abort();
  }
}

}  // namespace edge46::bench
