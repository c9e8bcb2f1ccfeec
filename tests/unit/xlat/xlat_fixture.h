// Shared set-up for the translator tests.
//
// Topology (RFC 7756 Figure 5 style):
//   IPv4 Internet host 198.51.100.10 <-> pool6 64:ff9b::/96 (RFC 6052 /96)
//   IPv6 servers 2001:db8::/120 <-> EAM 192.0.2.0/24
//   translator: 192.0.2.254 / 2001:db8:ffff::1
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "core/drop_reason.h"
#include "support/packet_builder.h"
#include "xlat/translate.h"

namespace edge46::xlat::test_support {

using namespace edge46::test;  // NOLINT
using core::Drop;

inline net::Ipv4Addr ip4(const char* s) {
  return net::Ipv4Addr{a4(s)};
}
inline net::Ipv6Addr ip6(const char* s) {
  return net::Ipv6Addr{a6(s)};
}

inline constexpr const char* kHost4 = "198.51.100.10";          // IPv4 Internet host
inline constexpr const char* kHost4As6 = "64:ff9b::c633:640a";  // its pool6 image
inline constexpr const char* kServer6 = "2001:db8::5";          // IPv6 server
inline constexpr const char* kServer4 = "192.0.2.5";            // its EAM image
inline constexpr const char* kOwn4 = "192.0.2.254";
inline constexpr const char* kOwn6 = "2001:db8:ffff::1";

inline Config base_config() {
  Config c;
  mapping::Pool6 p;
  p.prefix = net::Ipv6Prefix{ip6("64:ff9b::"), 96};
  c.pool6 = p;
  c.own_ipv4 = ip4(kOwn4);
  c.own_ipv6 = ip6(kOwn6);
  EXPECT_EQ(c.validate(), "");
  return c;
}

inline mapping::Eamt base_eamt() {
  mapping::Eamt t;
  mapping::Eam e;
  e.v4 = net::Ipv4Prefix{ip4("192.0.2.0"), 24};
  e.v6 = net::Ipv6Prefix{ip6("2001:db8::"), 120};
  EXPECT_EQ(t.add(e), "");
  return t;
}

class XlatTest : public ::testing::Test {
 protected:
  Config cfg = base_config();
  mapping::Eamt eamt = base_eamt();
  WorkerState ws;
  std::unique_ptr<Output> out = std::make_unique<Output>();

  Verdict run46(const Bytes& in) { return translate(cfg, eamt, ws, Family::kV4, {in.data(), in.size()}, *out); }
  Verdict run64(const Bytes& in) { return translate(cfg, eamt, ws, Family::kV6, {in.data(), in.size()}, *out); }
  Bytes pkt(std::size_t i = 0) const {
    auto s = out->packet(i);
    return Bytes(s.begin(), s.end());
  }

  // An IPv4 packet from the Internet host to the IPv6 server's IPv4 image.
  static Ip4 h4(uint8_t proto = kUdp) {
    Ip4 h;
    h.src = a4(kHost4);
    h.dst = a4(kServer4);
    h.proto = proto;
    h.ttl = 64;
    h.tos = 0;
    return h;
  }
  // The IPv6 server answering the Internet host.
  static Ip6 h6(uint8_t next = kUdp) {
    Ip6 h;
    h.src = a6(kServer6);
    h.dst = a6(kHost4As6);
    h.next = next;
    h.hlim = 64;
    return h;
  }
};

// --- ICMP errors arriving at the translator and the packets they quote ---------------

// The IPv6 server's UDP datagram (443 -> 50000, hop limit 60) to the IPv4
// host's pool6 image: what an ICMPv6 error about it quotes (6->4 errors).
inline Bytes inner6(std::size_t payload = 100) {
  Ip6 h;
  h.src = a6(kServer6);
  h.dst = a6(kHost4As6);
  h.hlim = 60;
  return v6_packet(h, udp(443, 50000, pattern(payload)));
}

// The same datagram as the IPv4 side sees it (the server's EAM image to the
// IPv4 host, TTL 60), with Identification `id`, MF set when
// `more_fragments`: what an ICMPv4 error about it quotes (4->6 errors).
inline Bytes inner4(std::size_t payload = 100, uint16_t id = 7, bool more_fragments = false) {
  Ip4 h;
  h.src = a4(kServer4);
  h.dst = a4(kHost4);
  h.ttl = 60;
  h.id = id;
  h.mf = more_fragments;
  return v4_packet(h, udp(443, 50000, pattern(payload)));
}

// An ICMPv6 error from `from` to the IPv6 server (hop limit 50) quoting `inner`.
inline Bytes icmp6_error(uint8_t type, uint8_t code, uint32_t rest, const Bytes& inner, const char* from) {
  Ip6 h;
  h.src = a6(from);
  h.dst = a6(kServer6);
  h.next = kIcmp6;
  h.hlim = 50;
  return v6_packet(h, icmp(type, code, rest, inner));
}

// An ICMPv4 error from `from` (by default an IPv4 router, 203.0.113.1) to the
// server's EAM image (TTL 50) quoting `inner`.
inline Bytes icmp4_error(uint8_t type, uint8_t code, uint32_t rest, const Bytes& inner,
                         const char* from = "203.0.113.1") {
  Ip4 h;
  h.src = a4(from);
  h.dst = a4(kServer4);
  h.proto = kIcmp;
  h.ttl = 50;
  return v4_packet(h, icmp(type, code, rest, inner));
}

// Asserts that the generated IPv4 ICMP error is well formed and returns it.
inline void expect_icmp4_error(const Bytes& e, uint8_t type, uint8_t code, uint32_t rest, const char* dst,
                               const Bytes& offending) {
  ASSERT_GE(e.size(), 28u);
  EXPECT_EQ(e[0], 0x45);
  EXPECT_EQ(get16(e, 2), e.size());
  EXPECT_EQ(e[9], kIcmp);
  EXPECT_TRUE(ipv4_header_valid(e));
  EXPECT_EQ(str4(e, 12), kOwn4);
  EXPECT_EQ(str4(e, 16), dst);
  EXPECT_EQ(e[20], type);
  EXPECT_EQ(e[21], code);
  EXPECT_EQ(get32(e, 24), rest);
  EXPECT_TRUE(l4_valid4(e));
  // RFC 1812 4.3.2.3: as much of the offending packet as fits in 576 bytes.
  const std::size_t quote = std::min<std::size_t>(offending.size(), 576 - 28);
  EXPECT_EQ(e.size(), 28 + quote);
  EXPECT_EQ(slice(e, 28, e.size() - 28), slice(offending, 0, quote));
}

inline void expect_icmp6_error(const Bytes& e, uint8_t type, uint8_t code, uint32_t rest, const char* dst,
                               const Bytes& offending) {
  ASSERT_GE(e.size(), 48u);
  EXPECT_EQ(e[0] >> 4, 6);
  EXPECT_EQ(get16(e, 4) + 40u, e.size());
  EXPECT_EQ(e[6], kIcmp6);
  EXPECT_EQ(str6(e, 8), kOwn6);
  EXPECT_EQ(str6(e, 24), dst);
  EXPECT_EQ(e[40], type);
  EXPECT_EQ(e[41], code);
  EXPECT_EQ(get32(e, 44), rest);
  EXPECT_TRUE(l4_valid6(e, 40, kIcmp6));
  // RFC 4443 2.4 (c): as much as fits in the 1280-byte minimum MTU.
  const std::size_t quote = std::min<std::size_t>(offending.size(), 1280 - 48);
  EXPECT_EQ(e.size(), 48 + quote);
  EXPECT_EQ(slice(e, 48, e.size() - 48), slice(offending, 0, quote));
}

}  // namespace edge46::xlat::test_support
