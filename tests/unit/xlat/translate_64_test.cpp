// IPv6 -> IPv4 (RFC 7915 section 5) and hairpinning (RFC 7757 section 4).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "unit/xlat/xlat_fixture.h"

namespace edge46::xlat {
namespace {

using namespace test_support;  // NOLINT

class Xlat64 : public XlatTest {};

// The IPv4 packet expected for an IPv6 packet: everything from scratch but
// the Identification, which RFC 7915 5.1 leaves to the implementation; it is
// copied from `actual` (and the header checksum recomputed).
Bytes expect_v4(Ip4 h, Bytes seg, const Bytes& actual) {
  if (actual.size() >= 6) h.id = get16(actual, 4);
  return v4_packet(h, std::move(seg));
}

Ip4 v4_of_h6(uint8_t proto) {
  Ip4 h;
  h.src = a4(kServer4);
  h.dst = a4(kHost4);
  h.ttl = 63;
  h.proto = proto;
  return h;
}

TEST_F(Xlat64, UdpHeaderTranslation) {
  Ip6 h = h6(kUdp);
  h.tc = 0x2e;
  h.flow = 0x12345;
  Bytes seg = udp(53, 40000, pattern(77));
  Bytes in = v6_packet(h, seg);
  ASSERT_EQ(run64(in).outcome, Outcome::kTranslated);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
  Ip4 e = v4_of_h6(kUdp);
  e.tos = 0x2e;  // TOS = Traffic Class; DF clear (<= 1260 bytes), MF clear, offset 0
  EXPECT_EQ(pkt(), expect_v4(e, seg, pkt()));
  EXPECT_TRUE(l4_valid4(pkt()));
  EXPECT_EQ(in, v6_packet(h, seg));  // input intact
}

TEST_F(Xlat64, TcpAndEcho) {
  Bytes t = tcp(443, 5555, 99, pattern(300));
  ASSERT_EQ(run64(v6_packet(h6(kTcp), t)).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expect_v4(v4_of_h6(kTcp), t, pkt()));
  for (auto [t6, t4] : {std::pair{128, 8}, std::pair{129, 0}}) {
    Bytes data = pattern(40, static_cast<uint8_t>(t6));
    ASSERT_EQ(run64(v6_packet(h6(kIcmp6), icmp(static_cast<uint8_t>(t6), 0, 0xaaaa0007, data))).outcome,
              Outcome::kTranslated);
    EXPECT_EQ(pkt(), expect_v4(v4_of_h6(kIcmp), icmp(static_cast<uint8_t>(t4), 0, 0xaaaa0007, data), pkt()));
  }
}

TEST_F(Xlat64, DfSetAbove1260Bytes) {
  // RFC 7915 5.1: DF = 0 if the IPv4 packet is <= 1260 bytes, else 1.
  Bytes s1260 = udp(1, 2, pattern(1260 - 28));
  ASSERT_EQ(run64(v6_packet(h6(kUdp), s1260)).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt().size(), 1260u);
  EXPECT_EQ(get16(pkt(), 6), 0x0000);
  Bytes s1261 = udp(1, 2, pattern(1261 - 28));
  ASSERT_EQ(run64(v6_packet(h6(kUdp), s1261)).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt().size(), 1261u);
  EXPECT_EQ(get16(pkt(), 6), 0x4000);
  Ip4 e = v4_of_h6(kUdp);
  e.df = true;
  EXPECT_EQ(pkt(), expect_v4(e, s1261, pkt()));
}

TEST_F(Xlat64, OverrideTos) {
  Ip6 h = h6(kUdp);
  h.tc = 0xfc;
  cfg.override_tos = true;
  cfg.tos = 0x10;
  ASSERT_EQ(run64(v6_packet(h, udp(1, 2, {}))).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt()[1], 0x10);
  EXPECT_TRUE(ipv4_header_valid(pkt()));
}

TEST_F(Xlat64, ExtensionHeadersAreSkipped) {
  Bytes seg = udp(1, 2, pattern(50));
  fill_csum6(seg, kUdp, a6(kServer6), a6(kHost4As6));
  Bytes pl = ext_header(kRouting);
  append(pl, routing_header(kDestOpts, 0));
  append(pl, ext_header(kUdp, 1));
  append(pl, seg);
  Ip6 h = h6(kHbh);
  ASSERT_EQ(run64(ipv6(h, pl)).outcome, Outcome::kTranslated);
  Bytes seg4 = udp(1, 2, pattern(50));
  EXPECT_EQ(pkt(), expect_v4(v4_of_h6(kUdp), seg4, pkt()));
}

TEST_F(Xlat64, FragmentHeaderBecomesIpv4Fragment) {
  // RFC 7915 5.1.1: ID = low 16 bits of the Fragment header's, MF and
  // offset copied, DF clear.
  Bytes whole = udp(1, 2, pattern(1992));
  fill_csum6(whole, kUdp, a6(kServer6), a6(kHost4As6));
  Bytes whole4 = udp(1, 2, pattern(1992));
  fill_csum4(whole4, kUdp, a4(kServer4), a4(kHost4));

  Bytes first = frag_header(kUdp, 0, true, 0x1234abcd);
  append(first, slice(whole, 0, 1000));
  ASSERT_EQ(run64(ipv6(h6(kFrag), first)).outcome, Outcome::kTranslated);
  Bytes p = pkt();
  EXPECT_EQ(get16(p, 4), 0xabcd);
  EXPECT_EQ(get16(p, 6), 0x2000);  // MF, offset 0
  EXPECT_EQ(get16(p, 2), 1020);
  EXPECT_TRUE(ipv4_header_valid(p));
  EXPECT_EQ(slice(p, 20, 1000), slice(whole4, 0, 1000));

  Bytes second = frag_header(kUdp, 1000, false, 0x1234abcd);
  append(second, slice(whole, 1000, 1000));
  ASSERT_EQ(run64(ipv6(h6(kFrag), second)).outcome, Outcome::kTranslated);
  p = pkt();
  EXPECT_EQ(get16(p, 4), 0xabcd);
  EXPECT_EQ(get16(p, 6), 1000 / 8);
  EXPECT_EQ(slice(p, 20, 1000), slice(whole4, 1000, 1000));

  // Atomic fragment (offset 0, M clear): the ID is still carried, DF clear.
  Bytes atomic = frag_header(kUdp, 0, false, 0x00050006);
  Bytes s = udp(1, 2, pattern(1400));
  fill_csum6(s, kUdp, a6(kServer6), a6(kHost4As6));
  append(atomic, s);
  ASSERT_EQ(run64(ipv6(h6(kFrag), atomic)).outcome, Outcome::kTranslated);
  EXPECT_EQ(get16(pkt(), 4), 0x0006);
  EXPECT_EQ(get16(pkt(), 6), 0x0000);
}

// --- translator-generated ICMPv6 errors --------------------------------------------

TEST_F(Xlat64, HopLimitExceeded) {
  for (uint8_t hl : {uint8_t{0}, uint8_t{1}}) {
    Ip6 h = h6(kUdp);
    h.hlim = hl;
    Bytes in = v6_packet(h, udp(1, 2, pattern(1300)));  // longer than the 1280-byte cap
    Verdict v = run64(in);
    EXPECT_EQ(v.outcome, Outcome::kIcmpError);
    EXPECT_EQ(v.reason, Drop::kTtlExceeded);
    ASSERT_EQ(out->count, 1u);
    EXPECT_EQ(out->packets[0].family, Family::kV6);
    expect_icmp6_error(pkt(), 3, 0, 0, kServer6, in);
    EXPECT_EQ(pkt().size(), 1280u);
  }
}

TEST_F(Xlat64, PacketTooBig) {
  // Fits: 1480 bytes of upper layer -> 1500-byte IPv4 packet.
  ASSERT_EQ(run64(v6_packet(h6(kUdp), udp(1, 2, pattern(1480 - 8)))).outcome, Outcome::kTranslated);
  Bytes in = v6_packet(h6(kUdp), udp(1, 2, pattern(1481 - 8)));
  Verdict v = run64(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kPacketTooBig);
  expect_icmp6_error(pkt(), 2, 0, 1520, kServer6, in);  // IPv4 MTU + 20
  // A small IPv4 MTU: a DF packet (> 1260 bytes) is told the IPv6 minimum
  // (RFC 8200 5) ...
  cfg.ipv4_mtu = 1000;
  Bytes big = v6_packet(h6(kUdp), udp(1, 2, pattern(1300)));
  EXPECT_EQ(run64(big).reason, Drop::kPacketTooBig);
  expect_icmp6_error(pkt(), 2, 0, 1280, kServer6, big);
  // ... while a DF-clear one (<= 1260 bytes) is fragmented on the IPv4 side
  // (RFC 7915 5.1 clears DF precisely so that IPv4 can fragment it).
  Bytes mid = v6_packet(h6(kUdp), udp(1, 2, pattern(1100)));
  Verdict vm = run64(mid);
  ASSERT_EQ(vm.outcome, Outcome::kTranslated);
  ASSERT_EQ(out->count, 2u);
  auto f0 = out->packet(0), f1 = out->packet(1);
  EXPECT_EQ(f0.size(), 20u + 976u);  // (1000 - 20) rounded down to 8
  EXPECT_EQ(f1.size(), 20u + (8u + 1100u - 976u));
  EXPECT_EQ(f0[6] & 0xe0, 0x20);  // MF, no DF
  EXPECT_EQ(f1[6] & 0xe0, 0x00);
  EXPECT_EQ(((f1[6] & 0x1f) << 8 | f1[7]) * 8, 976);
  EXPECT_EQ(f0[4], f1[4]);  // same Identification
  EXPECT_EQ(f0[5], f1[5]);
  // The fragments carry the translated datagram's bytes in order.
  Bytes joined(f0.begin() + 20, f0.end());
  joined.insert(joined.end(), f1.begin() + 20, f1.end());
  EXPECT_TRUE(std::equal(joined.begin() + 8, joined.end(), mid.begin() + 48));
}

TEST_F(Xlat64, RoutingHeaderWithSegmentsLeft) {
  Bytes pl = routing_header(kUdp, 2);
  append(pl, udp(1, 2, pattern(8)));
  Bytes in = ipv6(h6(kRouting), pl);
  Verdict v = run64(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kSegmentsLeft);
  // RFC 7915 5.1: Parameter Problem 4/0 pointing at Segments Left (40 + 3).
  expect_icmp6_error(pkt(), 4, 0, 43, kServer6, in);
}

TEST_F(Xlat64, ExtensionHeaderAfterFragmentHeader) {
  Bytes pl = frag_header(kDestOpts, 0, false, 1);
  append(pl, ext_header(kUdp));
  append(pl, udp(1, 2, pattern(8)));
  Bytes in = ipv6(h6(kFrag), pl);
  Verdict v = run64(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kExtHeaderAfterFragment);
  expect_icmp6_error(pkt(), 1, 1, 0, kServer6, in);
}

TEST_F(Xlat64, NoErrorToMulticastOrUnspecifiedSource) {
  Ip6 h = h6(kUdp);
  h.hlim = 1;
  eamt = {};
  mapping::Eam e;
  e.v4 = net::Ipv4Prefix{ip4("192.0.2.0"), 24};
  e.v6 = net::Ipv6Prefix{ip6("::"), 120};  // maps the unspecified address
  ASSERT_EQ(eamt.add(e), "");
  h.src = a6("::");
  Verdict v = run64(v6_packet(h, udp(1, 2, {})));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
}

// --- ICMPv6 errors -> ICMPv4 errors (RFC 7915 5.2) ---------------------------------------

// Expected ICMPv4 error from `from4`. The quoted packet is built from
// scratch: inner6() has no Fragment header, so its IPv4 form has ID 0 (there
// is no counter in a quoted packet). Only the outer ID, which RFC 7915 5.1
// leaves free (RFC 7739: unpredictable), is copied from `actual`.
Bytes expected_icmp4(uint8_t type, uint8_t code, uint32_t rest, const char* from4, const Bytes& actual) {
  Bytes in4 = inner4(100, /*id=*/0);
  Ip4 h;
  h.src = a4(from4);
  h.dst = a4(kServer4);
  h.proto = kIcmp;
  h.ttl = 49;
  if (actual.size() >= 6) h.id = get16(actual, 4);
  return v4_packet(h, icmp(type, code, rest, in4));
}

TEST_F(Xlat64, IcmpErrorFromMappedRouter) {
  // 2001:db8::ff is inside the EAM: source 192.0.2.255.
  Bytes in = icmp6_error(1, 4, 0, inner6(), "2001:db8::ff");
  ASSERT_EQ(run64(in).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp4(3, 3, 0, "192.0.2.255", pkt()));  // port unreachable
}

TEST_F(Xlat64, ErrorTypeAndCodeMapping) {
  struct {
    uint8_t t6, c6;
    uint32_t rest6;
    uint8_t t4, c4;
    uint32_t rest4;
  } rows[] = {
      {1, 0, 0, 3, 1, 0},            // no route -> host unreachable
      {1, 1, 0, 3, 10, 0},           // admin prohibited -> host admin prohibited
      {1, 2, 0, 3, 1, 0},            // beyond scope
      {1, 3, 0, 3, 1, 0},            // address unreachable
      {1, 4, 0, 3, 3, 0},            // port unreachable
      {3, 0, 0, 11, 0, 0},           // hop limit exceeded
      {3, 1, 0, 11, 1, 0},           // reassembly time exceeded
      {4, 0, 6, 12, 0, 9u << 24},    // pointer 6 (Next Header) -> 9 (Protocol), Figure 6
      {4, 0, 7, 12, 0, 8u << 24},    // Hop Limit -> TTL
      {4, 0, 4, 12, 0, 2u << 24},    // Payload Length -> Total Length
      {4, 0, 30, 12, 0, 16u << 24},  // inside the destination address
      {4, 1, 0, 3, 2, 0},            // unrecognized Next Header -> protocol unreachable
  };
  for (const auto& r : rows) {
    Bytes in = icmp6_error(r.t6, r.c6, r.rest6, inner6(), "2001:db8::ff");
    ASSERT_EQ(run64(in).outcome, Outcome::kTranslated) << int{r.t6} << "/" << int{r.c6};
    EXPECT_EQ(pkt(), expected_icmp4(r.t4, r.c4, r.rest4, "192.0.2.255", pkt())) << int{r.t6} << "/" << int{r.c6};
  }
  // No counterpart: Parameter Problem code 2, pointer into the flow label, unknown types.
  EXPECT_EQ(run64(icmp6_error(4, 2, 0, inner6(), "2001:db8::ff")).reason, Drop::kIcmpUntranslatable);
  EXPECT_EQ(run64(icmp6_error(4, 0, 2, inner6(), "2001:db8::ff")).reason, Drop::kIcmpUntranslatable);
  EXPECT_EQ(run64(icmp6_error(1, 7, 0, inner6(), "2001:db8::ff")).reason, Drop::kIcmpUntranslatable);
  EXPECT_EQ(run64(v6_packet(h6(kIcmp6), icmp(135, 0, 0, pattern(16)))).reason, Drop::kIcmpUntranslatable);
}

TEST_F(Xlat64, PacketTooBigBecomesFragNeeded) {
  // MTU = min(advertised - 20, IPv4 MTU, IPv6 MTU - 20) (RFC 7915 5.2).
  struct {
    uint32_t mtu6, ipv4_mtu, ipv6_mtu, want;
  } cases[] = {
      {1400, 1500, 1500, 1380}, {1280, 1500, 1500, 1260},     {9000, 1500, 9000, 1500},
      {9000, 9000, 1500, 1480}, {70000, 65535, 65535, 65515},
  };
  for (const auto& c : cases) {
    cfg.ipv4_mtu = c.ipv4_mtu;
    cfg.ipv6_mtu = c.ipv6_mtu;
    Bytes in = icmp6_error(2, 0, c.mtu6, inner6(), "2001:db8::ff");
    ASSERT_EQ(run64(in).outcome, Outcome::kTranslated) << c.mtu6;
    EXPECT_EQ(pkt(), expected_icmp4(3, 4, c.want, "192.0.2.255", pkt())) << c.mtu6;
  }
}

TEST_F(Xlat64, Rfc6791SourceForUnmappedRouter) {
  const char* router = "2001:db8:9999::1";  // neither EAM nor pool6
  Bytes in = icmp6_error(1, 0, 0, inner6(), router);
  // No RFC 6791 pool: the translator's own IPv4 address.
  ASSERT_EQ(run64(in).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp4(3, 1, 0, kOwn4, pkt()));
  // A pool, not randomized: its first address.
  cfg.rfc6791v4 = net::Ipv4Prefix{ip4("203.0.113.8"), 29};
  cfg.randomize_rfc6791 = false;
  ASSERT_EQ(run64(in).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp4(3, 1, 0, "203.0.113.8", pkt()));
  // Randomized: always inside the pool, and not always the same.
  cfg.randomize_rfc6791 = true;
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(run64(in).outcome, Outcome::kTranslated);
    Bytes p = pkt();
    EXPECT_EQ(get32(p, 12) & 0xfffffff8u, a4("203.0.113.8"));
    EXPECT_TRUE(ipv4_header_valid(p));
    EXPECT_TRUE(l4_valid4(p));
    seen.insert(str4(p, 12));
  }
  EXPECT_GT(seen.size(), 1u);
  // Neither a pool nor an own address.
  cfg.rfc6791v4.reset();
  cfg.own_ipv4.reset();
  Verdict v = run64(in);
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kNoMappingSrc);
}

TEST_F(Xlat64, IcmpErrorDropReasons) {
  const char* r = "2001:db8::ff";
  Bytes bad = icmp6_error(1, 4, 0, inner6(), r);
  bad[42] ^= 0x01;
  EXPECT_EQ(run64(bad).reason, Drop::kBadIcmpChecksum);
  Bytes not6 = inner6();
  not6[0] = 0x45;
  EXPECT_EQ(run64(icmp6_error(1, 4, 0, not6, r)).reason, Drop::kBadInnerPacket);
  EXPECT_EQ(run64(icmp6_error(1, 4, 0, slice(inner6(), 0, 30), r)).reason, Drop::kBadInnerPacket);
  // Nested: an error quoting an error.
  Ip6 ih;
  ih.src = a6(kServer6);
  ih.dst = a6(kHost4As6);
  ih.next = kIcmp6;
  Bytes nested = v6_packet(ih, icmp(1, 0, 0, pattern(48)));
  EXPECT_EQ(run64(icmp6_error(3, 0, 0, nested, r)).reason, Drop::kNestedIcmpError);
  // RFC 4884 length (byte 4, 64-bit words) beyond the message: 40 words.
  EXPECT_EQ(run64(icmp6_error(1, 4, 40u << 24, inner6(), r)).reason, Drop::kBadIcmpLength);
  // Quoted packet whose addresses do not map.
  Ip6 u;
  u.src = a6(kServer6);
  u.dst = a6("2001:db8:7777::1");
  EXPECT_EQ(run64(icmp6_error(1, 4, 0, v6_packet(u, udp(1, 2, {})), r)).reason, Drop::kInnerNoMapping);
  // Outer destination that does not map.
  Bytes nd = inner6();
  Ip6 o;
  o.src = a6(r);
  o.dst = a6("2001:db8:7777::1");
  o.next = kIcmp6;
  EXPECT_EQ(run64(v6_packet(o, icmp(1, 4, 0, nd))).reason, Drop::kNoMappingDst);
  // Hop limit 1 on an error: dropped, never answered.
  Ip6 hl = o;
  hl.dst = a6(kServer6);
  hl.hlim = 1;
  Verdict v = run64(v6_packet(hl, icmp(1, 4, 0, nd)));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
  // Fragmented ICMPv6 (error or informational).
  Bytes fe = frag_header(kIcmp6, 0, true, 9);
  append(fe, icmp(1, 4, 0, nd));
  EXPECT_EQ(run64(ipv6(h6(kFrag), fe)).reason, Drop::kFragmentedIcmp);
  Bytes fi = frag_header(kIcmp6, 8, false, 9);
  append(fi, pattern(16));
  EXPECT_EQ(run64(ipv6(h6(kFrag), fi)).reason, Drop::kFragmentedIcmp);
}

// --- malformed input and mapping ---------------------------------------------------------

TEST_F(Xlat64, MalformedInputDrops) {
  auto expect_drop = [&](const Bytes& in, Drop d) {
    Verdict v = run64(in);
    EXPECT_EQ(v.outcome, Outcome::kDropped) << core::drop_name(d);
    EXPECT_EQ(v.reason, d) << core::drop_name(d) << " got " << core::drop_name(v.reason);
    EXPECT_EQ(out->count, 0u);
  };
  Bytes good = v6_packet(h6(kUdp), udp(1, 2, pattern(12)));
  expect_drop(slice(good, 0, 39), Drop::kTruncated);
  expect_drop(slice(good, 0, good.size() - 1), Drop::kTruncated);
  expect_drop(v4_packet(XlatTest::h4(kUdp), udp(1, 2, pattern(40))), Drop::kBadVersion);
  Bytes jumbo = ipv6(h6(kHbh), ext_header(kUdp));
  put16(jumbo, 4, 0);
  expect_drop(jumbo, Drop::kBadPayloadLength);
  Bytes hbh2 = ext_header(kHbh);
  append(hbh2, ext_header(kUdp));
  expect_drop(ipv6(h6(kDestOpts), hbh2), Drop::kBadExtHeader);
  Bytes many;
  for (int i = 0; i < 9; ++i) append(many, ext_header(i == 8 ? kUdp : kDestOpts));
  append(many, udp(1, 2, {}));
  expect_drop(ipv6(h6(kDestOpts), many), Drop::kTooManyExtHeaders);
  expect_drop(ipv6(h6(kUdp), pattern(7)), Drop::kBadL4Header);
  expect_drop(ipv6(h6(kTcp), pattern(19)), Drop::kBadL4Header);
  expect_drop(ipv6(h6(kIcmp6), Bytes{128, 0, 0, 0}), Drop::kBadL4Header);
}

TEST_F(Xlat64, NoMapping) {
  Ip6 h = h6(kUdp);
  h.dst = a6("2001:db8:7777::1");
  EXPECT_EQ(run64(v6_packet(h, udp(1, 2, {}))).reason, Drop::kNoMappingDst);
  h = h6(kUdp);
  h.src = a6("2001:db8:7777::1");
  EXPECT_EQ(run64(v6_packet(h, udp(1, 2, {}))).reason, Drop::kNoMappingSrc);
  // pool6 addresses that embed reserved or denylisted IPv4 addresses.
  for (const char* r :
       {"64:ff9b::7f00:1", "64:ff9b::a9fe:101", "64:ff9b::e000:1", "64:ff9b::ffff:ffff", "64:ff9b::1:2"}) {
    Ip6 d = h6(kUdp);
    d.dst = a6(r);
    EXPECT_EQ(run64(v6_packet(d, udp(1, 2, {}))).reason, Drop::kDenylisted) << r;
    Ip6 s = h6(kUdp);
    s.src = a6(r);
    EXPECT_EQ(run64(v6_packet(s, udp(1, 2, {}))).reason, Drop::kDenylisted) << r;
  }
  cfg.denylist4.insert(a4("198.51.100.0"), 24, true);
  EXPECT_EQ(run64(v6_packet(h6(kUdp), udp(1, 2, {}))).reason, Drop::kDenylisted);
  Ip6 back = h6(kUdp);
  back.src = a6(kHost4As6);
  back.dst = a6(kServer6);
  EXPECT_EQ(run64(v6_packet(back, udp(1, 2, {}))).reason, Drop::kDenylisted);
}

TEST_F(Xlat64, Low32Pool6EndToEnd) {
  mapping::Pool6 p;
  p.prefix = net::Ipv6Prefix{ip6("2001:db8:100::"), 40};
  p.layout = mapping::Pool6Layout::kLow32;
  cfg.pool6 = p;
  Ip6 h = h6(kUdp);
  h.dst = a6("2001:db8:100::192.0.2.33");
  Bytes seg = udp(1, 2, pattern(10));
  // 192.0.2.33 is EAM-covered (an IPv6 node): intrinsic hairpin. Turn it off
  // to see the plain translation.
  cfg.hairpin = HairpinMode::kOff;
  ASSERT_EQ(run64(v6_packet(h, seg)).outcome, Outcome::kTranslated);
  Ip4 e = v4_of_h6(kUdp);
  e.dst = a4("192.0.2.33");
  EXPECT_EQ(pkt(), expect_v4(e, seg, pkt()));
  // The RFC 6052 position of the same prefix is not the low32 one.
  h.dst = a6("2001:db8:1c0:2:21::");
  EXPECT_EQ(run64(v6_packet(h, seg)).reason, Drop::kDenylisted);  // embeds 0.0.0.0 (reserved) in low32
}

// --- hairpinning (RFC 7757 4, RFC 7756 Figure 5) -------------------------------------------

class Hairpin : public XlatTest {
 protected:
  void SetUp() override {
    // RFC 7756 5.1 Figure 5: BR with EAMs {192.0.2.1, 2001:db8:a::} and
    // {192.0.2.2, 2001:db8:b::}, translation prefix 2001:db8:46::/96.
    cfg = Config{};
    eamt = mapping::Eamt{};
    mapping::Pool6 p;
    p.prefix = net::Ipv6Prefix{ip6("2001:db8:46::"), 96};
    cfg.pool6 = p;
    mapping::Eam a, b;
    a.v4 = net::Ipv4Prefix{ip4("192.0.2.1"), 32};
    a.v6 = net::Ipv6Prefix{ip6("2001:db8:a::"), 128};
    b.v4 = net::Ipv4Prefix{ip4("192.0.2.2"), 32};
    b.v6 = net::Ipv6Prefix{ip6("2001:db8:b::"), 128};
    ASSERT_EQ(eamt.add(a), "");
    ASSERT_EQ(eamt.add(b), "");
    cfg.own_ipv4 = ip4(kOwn4);
    cfg.own_ipv6 = ip6(kOwn6);
  }
  static Ip6 pkt2(uint8_t next) {  // Figure 5, Pkt#2
    Ip6 h;
    h.src = a6("2001:db8:a::");
    h.dst = a6("2001:db8:46::192.0.2.2");
    h.next = next;
    h.hlim = 30;
    return h;
  }
};

TEST_F(Hairpin, IntrinsicFigure5) {
  for (uint8_t proto : {kUdp, kTcp, kIcmp6}) {
    Bytes seg = proto == kUdp   ? udp(1, 2, pattern(20))
                : proto == kTcp ? tcp(1, 2, 3, pattern(20))
                                : icmp(128, 0, 0x10001, pattern(20));
    Verdict v = run64(v6_packet(pkt2(proto), seg));
    ASSERT_EQ(v.outcome, Outcome::kHairpinned) << int{proto};
    ASSERT_EQ(out->count, 1u);
    EXPECT_EQ(out->packets[0].family, Family::kV6);
    // Pkt#3: SRC 2001:db8:46::192.0.2.1, DST 2001:db8:b::; one hop.
    Ip6 e;
    e.src = a6("2001:db8:46::192.0.2.1");
    e.dst = a6("2001:db8:b::");
    e.hlim = 29;
    e.next = proto;
    EXPECT_EQ(pkt(), v6_packet(e, seg)) << int{proto};
  }
}

TEST_F(Hairpin, OffTranslatesToIpv4) {
  cfg.hairpin = HairpinMode::kOff;
  Bytes seg = udp(1, 2, pattern(20));
  Verdict v = run64(v6_packet(pkt2(kUdp), seg));
  ASSERT_EQ(v.outcome, Outcome::kTranslated);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
  Ip4 e;
  e.src = a4("192.0.2.1");
  e.dst = a4("192.0.2.2");
  e.ttl = 29;
  EXPECT_EQ(pkt(), expect_v4(e, seg, pkt()));
}

TEST_F(Hairpin, NotForPool6DestinationsOutsideTheEamt) {
  Ip6 h = pkt2(kUdp);
  h.dst = a6("2001:db8:46::198.51.100.1");
  ASSERT_EQ(run64(v6_packet(h, udp(1, 2, {}))).outcome, Outcome::kTranslated);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
}

TEST_F(Hairpin, BigPacketIsNotRefusedForTheIpv4Mtu) {
  // A hairpinned packet never crosses the IPv4 link.
  cfg.ipv4_mtu = 1280;
  cfg.ipv6_mtu = 9000;
  cfg.lowest_ipv6_mtu = 9000;
  Bytes seg = udp(1, 2, pattern(3000));
  Verdict v = run64(v6_packet(pkt2(kUdp), seg));
  ASSERT_EQ(v.outcome, Outcome::kHairpinned);
  Ip6 e;
  e.src = a6("2001:db8:46::192.0.2.1");
  e.dst = a6("2001:db8:b::");
  e.hlim = 29;
  EXPECT_EQ(pkt(), v6_packet(e, seg));
}

// Fuzzer finding F1: an all-zero ICMPv4 message sums to 0, so its only valid
// checksum is 0xffff; the incremental update must not leave 0x0000.
TEST_F(Xlat64, EchoReplyOfZerosGetsChecksumFfff) {
  Bytes in = v6_packet(h6(kIcmp6), icmp(129, 0, 0, {}));
  ASSERT_EQ(run64(in).outcome, Outcome::kTranslated);
  Bytes e = pkt();
  ASSERT_EQ(e.size(), 28u);
  EXPECT_EQ(e[20], 0);  // Echo Reply
  EXPECT_EQ(e[22], 0xff);
  EXPECT_EQ(e[23], 0xff);
}

// Fuzzer finding F3: ICMPv4 carried in IPv6 is not translated into a raw
// ICMPv4 message.
TEST_F(Xlat64, IcmpV4InsideIpv6IsRefused) {
  Verdict v = run64(v6_packet(h6(kIcmp), icmp(3, 3, 0, pattern(28))));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kBadProtocol);
}

}  // namespace
}  // namespace edge46::xlat
