// IPv4 -> IPv6 (RFC 7915 section 4). Expected packets are built from scratch
// with the test packet builder (fresh checksums), never captured from the
// translator.
#include <gtest/gtest.h>

#include "unit/xlat/xlat_fixture.h"

namespace edge46::xlat {
namespace {

using namespace test_support;  // NOLINT

class Xlat46 : public XlatTest {};

// --- header translation (RFC 7915 4.1) ------------------------------------------------

TEST_F(Xlat46, UdpHeaderTranslation) {
  Ip4 h = h4(kUdp);
  h.tos = 0x28;
  h.ttl = 64;
  h.id = 0x4242;
  Bytes seg = udp(40000, 53, pattern(33));
  Bytes in = v4_packet(h, seg);
  ASSERT_EQ(run46(in).outcome, Outcome::kTranslated);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV6);
  // Traffic Class = TOS, Flow Label 0, Hop Limit = TTL - 1, addresses mapped.
  Ip6 e;
  e.src = a6(kHost4As6);
  e.dst = a6(kServer6);
  e.tc = 0x28;
  e.hlim = 63;
  e.next = kUdp;
  EXPECT_EQ(pkt(), v6_packet(e, seg));
  EXPECT_TRUE(l4_valid6(pkt(), 40, kUdp));
  // The input is left intact.
  EXPECT_EQ(in, v4_packet(h, seg));
}

TEST_F(Xlat46, DfSmallPacketGetsNoFragmentHeader) {
  // RFC 8021 / RFC 7915 4.1: no atomic fragments.
  Ip4 h = h4(kTcp);
  h.df = true;
  Bytes seg = tcp(80, 1234, 0xabcdef01, pattern(100));
  ASSERT_EQ(run46(v4_packet(h, seg)).outcome, Outcome::kTranslated);
  Ip6 e;
  e.src = a6(kHost4As6);
  e.dst = a6(kServer6);
  e.hlim = 63;
  e.next = kTcp;
  EXPECT_EQ(pkt(), v6_packet(e, seg));
}

TEST_F(Xlat46, IcmpEchoTypesAndChecksum) {
  // RFC 7915 4.2: Echo Request 8 -> 128, Echo Reply 0 -> 129, checksum now
  // covers the IPv6 pseudo-header.
  for (auto [t4, t6] : {std::pair{8, 128}, std::pair{0, 129}}) {
    Ip4 h = h4(kIcmp);
    Bytes data = pattern(56, static_cast<uint8_t>(t4));
    ASSERT_EQ(run46(v4_packet(h, icmp(static_cast<uint8_t>(t4), 0, 0x12340001, data))).outcome, Outcome::kTranslated);
    Ip6 e;
    e.src = a6(kHost4As6);
    e.dst = a6(kServer6);
    e.hlim = 63;
    e.next = kIcmp6;
    EXPECT_EQ(pkt(), v6_packet(e, icmp(static_cast<uint8_t>(t6), 0, 0x12340001, data))) << t4;
  }
}

TEST_F(Xlat46, Ipv4OptionsAreNotCarried) {
  Ip4 h = h4(kUdp);
  h.options = {1, 1, 1, 0};  // NOP NOP NOP EOL
  Bytes seg = udp(1, 2, pattern(20));
  ASSERT_EQ(run46(v4_packet(h, seg)).outcome, Outcome::kTranslated);
  Ip6 e;
  e.src = a6(kHost4As6);
  e.dst = a6(kServer6);
  e.hlim = 63;
  EXPECT_EQ(pkt(), v6_packet(e, seg));
}

TEST_F(Xlat46, ZeroizeTrafficClass) {
  Ip4 h = h4(kUdp);
  h.tos = 0xb8;
  Bytes in = v4_packet(h, udp(1, 2, pattern(8)));
  ASSERT_EQ(run46(in).outcome, Outcome::kTranslated);
  EXPECT_EQ((get32(pkt(), 0) >> 20) & 0xff, 0xb8u);
  cfg.zeroize_traffic_class = true;
  ASSERT_EQ(run46(in).outcome, Outcome::kTranslated);
  EXPECT_EQ((get32(pkt(), 0) >> 20) & 0xff, 0u);
  EXPECT_EQ(get32(pkt(), 0), 0x60000000u);
}

TEST_F(Xlat46, LowestTtlThatTranslates) {
  Ip4 h = h4(kUdp);
  h.ttl = 2;
  ASSERT_EQ(run46(v4_packet(h, udp(1, 2, {}))).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt()[7], 1);
}

// --- UDP zero checksum (RFC 7915 4.5) ----------------------------------------------------

TEST_F(Xlat46, UdpZeroChecksumRefusedByDefault) {
  Ip4 h = h4(kUdp);
  Bytes in = ipv4(h, udp(1, 2, pattern(10)));  // checksum left 0
  Verdict v = run46(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kUdpZeroChecksum);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
  expect_icmp4_error(pkt(), 3, 13, 0, kHost4, in);
}

TEST_F(Xlat46, AmendUdpChecksumZero) {
  cfg.amend_udp_checksum_zero = true;
  Ip4 h = h4(kUdp);
  Bytes seg = udp(1, 2, pattern(31));
  ASSERT_EQ(run46(ipv4(h, seg)).outcome, Outcome::kTranslated);
  Ip6 e;
  e.src = a6(kHost4As6);
  e.dst = a6(kServer6);
  e.hlim = 63;
  EXPECT_EQ(pkt(), v6_packet(e, seg));  // a real checksum, computed from scratch
  EXPECT_NE(get16(pkt(), 46), 0);
}

TEST_F(Xlat46, AmendCannotFixAFragment) {
  cfg.amend_udp_checksum_zero = true;
  Ip4 h = h4(kUdp);
  h.mf = true;
  Bytes in = ipv4(h, udp(1, 2, pattern(16)));
  Verdict v = run46(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kUdpZeroChecksum);
  expect_icmp4_error(pkt(), 3, 13, 0, kHost4, in);
}

// --- translator-generated ICMPv4 errors --------------------------------------------------

TEST_F(Xlat46, TtlExceeded) {
  for (uint8_t ttl : {uint8_t{0}, uint8_t{1}}) {
    Ip4 h = h4(kUdp);
    h.ttl = ttl;
    Bytes in = v4_packet(h, udp(1, 2, pattern(600)));  // longer than the 576-byte cap
    Verdict v = run46(in);
    EXPECT_EQ(v.outcome, Outcome::kIcmpError);
    EXPECT_EQ(v.reason, Drop::kTtlExceeded);
    expect_icmp4_error(pkt(), 11, 0, 0, kHost4, in);
    EXPECT_EQ(pkt().size(), 576u);
  }
}

TEST_F(Xlat46, NoOwnAddressMeansSilentDropWithReason) {
  cfg.own_ipv4.reset();
  Ip4 h = h4(kUdp);
  h.ttl = 1;
  Verdict v = run46(v4_packet(h, udp(1, 2, {})));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
  EXPECT_EQ(out->count, 0u);
}

TEST_F(Xlat46, NoErrorAboutAnIcmpErrorOrANonFirstFragment) {
  // RFC 1812 4.3.2.7: never answer an ICMP error or a non-first fragment.
  Ip4 h = h4(kUdp);
  h.ttl = 1;
  h.frag_off = 64;
  Verdict v = run46(ipv4(h, pattern(16)));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
  EXPECT_EQ(out->count, 0u);
}

Bytes lsrr(uint8_t pointer) {
  // Loose Source and Record Route (RFC 791): type 131, length 7, pointer,
  // one route address; padded with End of Option List to 8 bytes.
  return Bytes{131, 7, pointer, 203, 0, 113, 1, 0};
}

TEST_F(Xlat46, UnexpiredSourceRoute) {
  Ip4 h = h4(kUdp);
  h.options = lsrr(4);
  Bytes in = v4_packet(h, udp(1, 2, pattern(8)));
  Verdict v = run46(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kSourceRoute);
  expect_icmp4_error(pkt(), 3, 5, 0, kHost4, in);  // Source Route Failed
}

TEST_F(Xlat46, ExpiredSourceRouteIsIgnored) {
  Ip4 h = h4(kUdp);
  h.options = lsrr(8);  // pointer past the option: route exhausted
  EXPECT_EQ(run46(v4_packet(h, udp(1, 2, pattern(8)))).outcome, Outcome::kTranslated);
}

TEST_F(Xlat46, FragNeededBoundary) {
  // DF set: a packet that would exceed the IPv6 MTU (1500) once its header
  // grows by 20 bytes gets Fragmentation Needed with MTU 1500 - 20.
  Ip4 h = h4(kUdp);
  h.df = true;
  Bytes fits = v4_packet(h, udp(1, 2, pattern(1480 - 28)));
  ASSERT_EQ(fits.size(), 1480u);
  ASSERT_EQ(run46(fits).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt().size(), 1500u);
  Bytes big = v4_packet(h, udp(1, 2, pattern(1481 - 28)));
  Verdict v = run46(big);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kFragNeeded);
  expect_icmp4_error(pkt(), 3, 4, 1480, kHost4, big);
  // A smaller IPv6 link.
  cfg.ipv6_mtu = 1280;
  Bytes mid = v4_packet(h, udp(1, 2, pattern(1300)));
  EXPECT_EQ(run46(mid).reason, Drop::kFragNeeded);
  expect_icmp4_error(pkt(), 3, 4, 1260, kHost4, mid);
}

// --- translator fragmentation (RFC 7915 4.1, lowest-ipv6-mtu) ------------------------------

struct Frag {
  uint32_t offset;
  bool mf;
  uint32_t id;
  uint8_t next;
  Bytes data;
};

std::vector<Frag> fragments(const Output& o) {
  std::vector<Frag> v;
  for (uint32_t i = 0; i < o.count; ++i) {
    auto p = o.packet(i);
    EXPECT_EQ(p[6], kFrag);
    EXPECT_EQ(get16(p, 4) + 40u, p.size());
    uint16_t om = get16(p, 42);
    v.push_back(Frag{uint32_t{om} & 0xfff8u, (om & 1) != 0, get32(p, 44), p[40], slice(p, 48, p.size() - 48)});
  }
  return v;
}

TEST_F(Xlat46, FragmentsToLowestIpv6Mtu) {
  for (uint32_t mtu : {1280u, 1500u}) {
    cfg.lowest_ipv6_mtu = mtu;
    Ip4 h = h4(kUdp);
    h.id = 0xabcd;
    Bytes seg = udp(7, 9, pattern(2972));  // 2980-byte datagram
    ASSERT_EQ(run46(v4_packet(h, seg)).outcome, Outcome::kTranslated);
    const uint32_t chunk = ((mtu - 48) / 8) * 8;  // 1232 or 1448
    const uint32_t n = (2980 + chunk - 1) / chunk;
    ASSERT_EQ(out->count, n) << mtu;
    Bytes whole6 = seg;
    fill_csum6(whole6, kUdp, a6(kHost4As6), a6(kServer6));
    Bytes reassembled;
    auto fs = fragments(*out);
    for (uint32_t i = 0; i < n; ++i) {
      auto p = out->packet(i);
      EXPECT_LE(p.size(), mtu);
      EXPECT_EQ(str6(p, 8), kHost4As6);
      EXPECT_EQ(str6(p, 24), kServer6);
      EXPECT_EQ(p[7], 63);
      EXPECT_EQ(fs[i].offset, i * chunk);
      EXPECT_EQ(fs[i].mf, i + 1 < n);
      EXPECT_EQ(fs[i].id, 0xabcdu);  // RFC 7915 4.1: the IPv4 Identification, high bits zero
      EXPECT_EQ(fs[i].next, kUdp);
      if (i + 1 < n) {
        EXPECT_EQ(fs[i].data.size() % 8, 0u);
      }
      append(reassembled, fs[i].data);
      // Every emitted packet lies inside the output buffer, without overlap.
      EXPECT_LE(out->packets[i].offset + out->packets[i].length, Output::kBufferSize);
      if (i > 0) {
        EXPECT_GE(out->packets[i].offset, out->packets[i - 1].offset + out->packets[i - 1].length);
      }
    }
    EXPECT_EQ(reassembled, whole6);
  }
}

TEST_F(Xlat46, FragmentationThreshold) {
  Ip4 h = h4(kUdp);
  ASSERT_EQ(run46(v4_packet(h, udp(1, 2, pattern(1260 - 28)))).outcome, Outcome::kTranslated);
  EXPECT_EQ(out->count, 1u);
  EXPECT_EQ(pkt().size(), 1280u);
  EXPECT_EQ(pkt()[6], kUdp);
  ASSERT_EQ(run46(v4_packet(h, udp(1, 2, pattern(1261 - 28)))).outcome, Outcome::kTranslated);
  EXPECT_EQ(out->count, 2u);
}

TEST_F(Xlat46, LargestPacketFragments) {
  Ip4 h = h4(kUdp);
  Bytes seg = udp(1, 2, pattern(65535 - 28));
  ASSERT_EQ(run46(v4_packet(h, seg)).outcome, Outcome::kTranslated);
  EXPECT_EQ(out->count, (65515u + 1231) / 1232);
  EXPECT_LE(out->count, Output::kMaxPackets);
  Bytes whole6 = seg;
  fill_csum6(whole6, kUdp, a6(kHost4As6), a6(kServer6));
  Bytes r;
  for (auto& f : fragments(*out)) append(r, f.data);
  EXPECT_EQ(r, whole6);
}

TEST_F(Xlat46, TooManyFragments) {
  // Only reachable with a lowest-ipv6-mtu below what validate() accepts.
  cfg.lowest_ipv6_mtu = 600;
  cfg.ipv6_mtu = 600;
  Ip4 h = h4(kUdp);
  Verdict v = run46(v4_packet(h, udp(1, 2, pattern(40000))));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTooManyFragments);
}

TEST_F(Xlat46, Ipv4FragmentsGetAFragmentHeader) {
  Bytes seg = udp(5, 6, pattern(1992));  // 2000-byte datagram
  fill_csum4(seg, kUdp, a4(kHost4), a4(kServer4));
  Ip4 h = h4(kUdp);
  h.id = 0x7777;
  h.mf = true;
  Bytes first = ipv4(h, slice(seg, 0, 1000));
  h.mf = false;
  h.frag_off = 1000;
  Bytes second = ipv4(h, slice(seg, 1000, 1000));
  Bytes whole6 = udp(5, 6, pattern(1992));
  fill_csum6(whole6, kUdp, a6(kHost4As6), a6(kServer6));

  ASSERT_EQ(run46(first).outcome, Outcome::kTranslated);
  ASSERT_EQ(out->count, 1u);
  auto f1 = fragments(*out);
  EXPECT_EQ(f1[0].offset, 0u);
  EXPECT_TRUE(f1[0].mf);
  EXPECT_EQ(f1[0].id, 0x7777u);
  EXPECT_EQ(f1[0].next, kUdp);
  EXPECT_EQ(f1[0].data, slice(whole6, 0, 1000));  // checksum of the whole datagram updated

  ASSERT_EQ(run46(second).outcome, Outcome::kTranslated);
  auto f2 = fragments(*out);
  EXPECT_EQ(f2[0].offset, 1000u);
  EXPECT_FALSE(f2[0].mf);
  EXPECT_EQ(f2[0].id, 0x7777u);
  EXPECT_EQ(f2[0].data, slice(whole6, 1000, 1000));
}

// --- ICMPv4 errors -> ICMPv6 errors (RFC 7915 4.2) --------------------------------------------

Bytes expected_icmp6(uint8_t type, uint8_t code, uint32_t rest, const Bytes& inner,
                     const char* from = "64:ff9b::cb00:7101") {
  Ip6 h;
  h.src = a6(from);
  h.dst = a6(kServer6);
  h.hlim = 49;
  h.next = kIcmp6;
  return v6_packet(h, icmp(type, code, rest, inner));
}

TEST_F(Xlat46, FragNeededBecomesPacketTooBig) {
  // MTU 1400 -> min(1400 + 20, IPv6 MTU 1500, IPv4 MTU 1500 + 20) = 1420.
  Bytes in = icmp4_error(3, 4, 1400, inner4());
  ASSERT_EQ(run46(in).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp6(2, 0, 1420, inner6()));
}

TEST_F(Xlat46, PacketTooBigMtuArithmetic) {
  struct Case {
    uint16_t mtu4;
    uint16_t inner_total;
    uint32_t ipv6_mtu, ipv4_mtu;
    uint32_t want;
  } cases[] = {
      {1400, 0, 1500, 1500, 1420},
      {1490, 0, 1500, 1500, 1500},  // capped by the IPv6 link
      {1490, 0, 9000, 1400, 1420},  // capped by the IPv4 link + 20
      {576, 0, 1500, 1500, 1280},   // never below the IPv6 minimum
      {68, 0, 1500, 1500, 1280},
      // MTU 0 (a pre-RFC 1191 router): the greatest plateau below the
      // quoted packet's Total Length (RFC 1191 7, RFC 7915 4.2).
      {0, 1500, 9000, 9000, 1492 + 20},
      {0, 9000, 9000, 9000, 8166 + 20},
      {0, 1492, 9000, 9000, 1006 + 20 < 1280 ? 1280 : 1026},
      {0, 65535, 65535, 65535, 32000 + 20},
      {0, 40, 9000, 9000, 1280},  // no plateau below: 68, then the 1280 floor
  };
  for (const auto& c : cases) {
    cfg.ipv6_mtu = c.ipv6_mtu;
    cfg.ipv4_mtu = c.ipv4_mtu;
    Bytes inner = inner4();
    if (c.inner_total != 0) {
      put16(inner, 2, c.inner_total);
      refresh_ipv4_checksum(inner);
    }
    Bytes in = icmp4_error(3, 4, c.mtu4, inner);
    ASSERT_EQ(run46(in).outcome, Outcome::kTranslated) << c.mtu4 << "/" << c.inner_total;
    Bytes e = pkt();
    EXPECT_EQ(e[40], 2);
    EXPECT_EQ(get32(e, 44), c.want) << "mtu " << c.mtu4 << " inner " << c.inner_total;
    EXPECT_TRUE(l4_valid6(e, 40, kIcmp6));
  }
}

TEST_F(Xlat46, ErrorTypeAndCodeMapping) {
  // RFC 7915 4.2.
  struct {
    uint8_t t4, c4;
    uint32_t rest4;
    uint8_t t6, c6;
    uint32_t rest6;
  } rows[] = {
      {3, 0, 0, 1, 0, 0},                                // net unreachable -> no route
      {3, 1, 0, 1, 0, 0},                                // host unreachable
      {3, 3, 0, 1, 4, 0},                                // port unreachable
      {3, 9, 0, 1, 1, 0},                                // admin prohibited
      {3, 13, 0, 1, 1, 0},          {3, 2, 0, 4, 1, 6},  // protocol unreachable -> unrecognized Next Header, pointer 6
      {11, 0, 0, 3, 0, 0},                               // time exceeded in transit
      {11, 1, 0, 3, 1, 0},                               // reassembly time exceeded
      {12, 0, 9u << 24, 4, 0, 6},                        // pointer 9 (Protocol) -> 6 (Next Header), Figure 3
      {12, 0, 8u << 24, 4, 0, 7},                        // TTL -> Hop Limit
      {12, 0, 12u << 24, 4, 0, 8},                       // source address
      {12, 0, 16u << 24, 4, 0, 24},                      // destination address
      {12, 0, 2u << 24, 4, 0, 4},                        // total length -> payload length
  };
  for (const auto& r : rows) {
    Bytes in = icmp4_error(r.t4, r.c4, r.rest4, inner4());
    ASSERT_EQ(run46(in).outcome, Outcome::kTranslated) << int{r.t4} << "/" << int{r.c4};
    EXPECT_EQ(pkt(), expected_icmp6(r.t6, r.c6, r.rest6, inner6())) << int{r.t4} << "/" << int{r.c4};
  }
}

TEST_F(Xlat46, UntranslatableIcmp) {
  // Timestamp (13), Information Request (15), Source Quench (4), Redirect (5),
  // 3/14, Parameter Problem pointer with no IPv6 counterpart (e.g. 10: checksum).
  for (uint8_t t : {uint8_t{13}, uint8_t{15}, uint8_t{4}, uint8_t{5}}) {
    Ip4 h = h4(kIcmp);
    Verdict v = run46(v4_packet(h, icmp(t, 0, 0, pattern(20))));
    EXPECT_EQ(v.outcome, Outcome::kDropped) << int{t};
    EXPECT_EQ(v.reason, Drop::kIcmpUntranslatable) << int{t};
  }
  EXPECT_EQ(run46(icmp4_error(3, 14, 0, inner4())).reason, Drop::kIcmpUntranslatable);
  EXPECT_EQ(run46(icmp4_error(12, 0, 10u << 24, inner4())).reason, Drop::kIcmpUntranslatable);
}

TEST_F(Xlat46, IcmpErrorDropReasons) {
  // Wrong checksum.
  Bytes bad = icmp4_error(3, 3, 0, inner4());
  bad[22] ^= 0xff;
  EXPECT_EQ(run46(bad).reason, Drop::kBadIcmpChecksum);
  // Inner packet that is not IPv4.
  Bytes not4 = inner4();
  not4[0] = 0x65;
  EXPECT_EQ(run46(icmp4_error(3, 3, 0, not4)).reason, Drop::kBadInnerPacket);
  EXPECT_EQ(run46(icmp4_error(3, 3, 0, slice(inner4(), 0, 12))).reason, Drop::kBadInnerPacket);
  // An error about an error.
  Ip4 ih;
  ih.src = a4(kServer4);
  ih.dst = a4(kHost4);
  ih.proto = kIcmp;
  Bytes nested = v4_packet(ih, icmp(3, 1, 0, inner4()));
  Verdict v = run46(icmp4_error(11, 0, 0, nested));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kNestedIcmpError);
  // RFC 4884 length (byte 5, 32-bit words) beyond the message: 64 words = 256 bytes.
  EXPECT_EQ(run46(icmp4_error(3, 3, 64u << 16, inner4())).reason, Drop::kBadIcmpLength);
  // Fragmented ICMP.
  Ip4 f = h4(kIcmp);
  f.mf = true;
  EXPECT_EQ(run46(v4_packet(f, icmp(8, 0, 0, pattern(64)))).reason, Drop::kFragmentedIcmp);
}

TEST_F(Xlat46, IcmpErrorTtlExceededIsNotAnswered) {
  Bytes in = icmp4_error(3, 3, 0, inner4());
  in[8] = 1;
  refresh_ipv4_checksum(in);
  Verdict v = run46(in);
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
}

TEST_F(Xlat46, Rfc6791SourceForUnmappedRouter) {
  // Without pool6 the router's address has no IPv6 image; the error takes
  // an address from the RFC 6791 pool instead, or the translator's own.
  cfg.pool6.reset();
  mapping::Eam e;
  e.v4 = net::Ipv4Prefix{ip4("198.51.100.0"), 24};
  e.v6 = net::Ipv6Prefix{ip6("2001:db8:4::"), 120};
  ASSERT_EQ(eamt.add(e), "");
  Bytes inner = inner4();
  Ip6 ih;
  ih.src = a6(kServer6);
  ih.dst = a6("2001:db8:4::a");
  ih.hlim = 60;
  Bytes quoted6 = v6_packet(ih, udp(443, 50000, pattern(100)));

  ASSERT_EQ(run46(icmp4_error(3, 1, 0, inner)).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp6(1, 0, 0, quoted6, kOwn6));

  cfg.rfc6791v6 = net::Ipv6Prefix{ip6("2001:db8:6791::"), 124};
  cfg.randomize_rfc6791 = false;
  ASSERT_EQ(run46(icmp4_error(3, 1, 0, inner)).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp6(1, 0, 0, quoted6, "2001:db8:6791::"));

  cfg.randomize_rfc6791 = true;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(run46(icmp4_error(3, 1, 0, inner)).outcome, Outcome::kTranslated);
    Bytes p = pkt();
    EXPECT_TRUE(cfg.rfc6791v6->contains(net::Ipv6Addr{a6(str6(p, 8).c_str())})) << str6(p, 8);
    EXPECT_TRUE(l4_valid6(p, 40, kIcmp6));
  }

  cfg.rfc6791v6.reset();
  cfg.own_ipv6.reset();
  Verdict v = run46(icmp4_error(3, 1, 0, inner));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kNoMappingSrc);
}

TEST_F(Xlat46, InnerNoMapping) {
  cfg.pool6.reset();
  Verdict v = run46(icmp4_error(3, 1, 0, inner4()));  // inner dst 198.51.100.10 unmapped
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kInnerNoMapping);
}

// --- malformed input ------------------------------------------------------------------------

TEST_F(Xlat46, MalformedInputDrops) {
  Bytes good = v4_packet(h4(kUdp), udp(1, 2, pattern(12)));
  auto expect_drop = [&](const Bytes& in, Drop d) {
    Verdict v = run46(in);
    EXPECT_EQ(v.outcome, Outcome::kDropped) << core::drop_name(d);
    EXPECT_EQ(v.reason, d) << core::drop_name(d) << " got " << core::drop_name(v.reason);
    EXPECT_EQ(out->count, 0u);
  };
  expect_drop(slice(good, 0, 10), Drop::kTruncated);
  expect_drop(v6_packet(h6(kUdp), udp(1, 2, {})), Drop::kBadVersion);
  Bytes ihl = good;
  ihl[0] = 0x44;
  expect_drop(ihl, Drop::kBadIhl);
  Bytes tl = good;
  put16(tl, 2, 12);
  refresh_ipv4_checksum(tl);
  expect_drop(tl, Drop::kBadTotalLength);
  Bytes cs = good;
  cs[11] ^= 0x40;
  expect_drop(cs, Drop::kBadIpv4Checksum);
  expect_drop(ipv4(h4(kUdp), Bytes{0, 1, 0, 2}), Drop::kBadL4Header);
  expect_drop(ipv4(h4(kTcp), pattern(19)), Drop::kBadL4Header);
  expect_drop(ipv4(h4(kIcmp), Bytes{8, 0, 0, 0}), Drop::kBadL4Header);
}

// --- address mapping policy -------------------------------------------------------------------

TEST_F(Xlat46, NoMappingWithoutPool6) {
  cfg.pool6.reset();
  Ip4 h = h4(kUdp);
  EXPECT_EQ(run46(v4_packet(h, udp(1, 2, {}))).reason, Drop::kNoMappingSrc);  // dst via EAM, src nowhere
  h.dst = a4("203.0.113.9");
  EXPECT_EQ(run46(v4_packet(h, udp(1, 2, {}))).reason, Drop::kNoMappingDst);
}

TEST_F(Xlat46, DenylistAndReservedRanges) {
  cfg.denylist4.insert(a4("198.51.100.0"), 24, true);
  cfg.denylist4.insert(a4("192.0.2.0"), 24, true);  // covered by the EAM: EAM wins
  Ip4 h = h4(kUdp);
  Verdict v = run46(v4_packet(h, udp(1, 2, {})));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kDenylisted);
  h.src = a4("203.0.113.50");
  EXPECT_EQ(run46(v4_packet(h, udp(1, 2, {}))).outcome, Outcome::kTranslated);
  h.dst = a4("198.51.100.99");
  EXPECT_EQ(run46(v4_packet(h, udp(1, 2, {}))).reason, Drop::kDenylisted);

  // Reserved (0/8, 127/8, 169.254/16, 224/4, 255.255.255.255) never go through pool6.
  for (const char* r : {"0.1.2.3", "127.0.0.1", "169.254.9.9", "224.0.0.5", "239.255.255.255", "255.255.255.255"}) {
    Ip4 d = h4(kUdp);
    d.src = a4("203.0.113.50");
    d.dst = a4(r);
    EXPECT_EQ(run46(v4_packet(d, udp(1, 2, {}))).reason, Drop::kDenylisted) << r;
    Ip4 s = h4(kUdp);
    s.src = a4(r);
    EXPECT_EQ(run46(v4_packet(s, udp(1, 2, {}))).reason, Drop::kDenylisted) << r;
  }
  // Neighbours of the reserved ranges are fine.
  for (const char* ok : {"1.0.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255", "223.255.255.255"}) {
    Ip4 d = h4(kUdp);
    d.src = a4(ok);
    EXPECT_EQ(run46(v4_packet(d, udp(1, 2, {}))).outcome, Outcome::kTranslated) << ok;
  }
}

TEST_F(Xlat46, Low32Pool6EndToEnd) {
  // draft-ietf-v6ops-framework-md-ipv6only-underlay Table 1 layout.
  mapping::Pool6 p;
  p.prefix = net::Ipv6Prefix{ip6("2001:db8:100::"), 40};
  p.layout = mapping::Pool6Layout::kLow32;
  cfg.pool6 = p;
  ASSERT_EQ(cfg.validate(), "");
  Ip4 h = h4(kUdp);
  h.src = a4("192.0.2.33");
  h.dst = a4("198.51.100.7");
  Bytes seg = udp(1, 2, pattern(10));
  ASSERT_EQ(run46(v4_packet(h, seg)).outcome, Outcome::kTranslated);
  // 192.0.2.33 is inside the EAM (2001:db8::/120): EAM first.
  Ip6 e;
  e.src = a6("2001:db8::21");
  e.dst = a6("2001:db8:100::198.51.100.7");
  e.hlim = 63;
  EXPECT_EQ(pkt(), v6_packet(e, seg));
  eamt = {};
  ASSERT_EQ(run46(v4_packet(h, seg)).outcome, Outcome::kTranslated);
  e.src = a6("2001:db8:100::c000:221");
  EXPECT_EQ(pkt(), v6_packet(e, seg));
}

// Fuzzer finding F2/F3: IPv4 protocol numbers that would read as an IPv6
// extension header (0, 43, 44, 51, 60) or as ICMPv6 (58) are refused.
TEST_F(Xlat46, ProtocolsMeaninglessInIpv6AreRefused) {
  for (uint8_t proto : {uint8_t{0}, uint8_t{43}, uint8_t{44}, uint8_t{51}, uint8_t{58}, uint8_t{60}}) {
    Ip4 h = h4(proto);
    Verdict v = run46(ipv4(h, pattern(16)));
    EXPECT_EQ(v.outcome, Outcome::kDropped) << int{proto};
    EXPECT_EQ(v.reason, Drop::kBadProtocol) << int{proto};
  }
  // 59 (No Next Header) and an unknown transport (DCCP, 33) go through.
  for (uint8_t proto : {uint8_t{33}, uint8_t{59}}) {
    EXPECT_EQ(run46(ipv4(h4(proto), pattern(16))).outcome, Outcome::kTranslated) << int{proto};
  }
}

}  // namespace
}  // namespace edge46::xlat
