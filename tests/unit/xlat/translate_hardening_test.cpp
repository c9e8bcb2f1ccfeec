// Issue 7 hardening of the translation core: reserved sources of translated
// ICMP errors, the Fragment header in MTU arithmetic, IPv6 UDP checksum 0,
// AH, nonsensical Packet Too Big MTUs and unpredictable IPv4
// Identification. Expected values come from the RFCs, not from the code.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "unit/xlat/xlat_fixture.h"

namespace edge46::xlat {
namespace {

using namespace test_support;  // NOLINT

class Hardening : public XlatTest {};

constexpr uint8_t kAh = 51;

// --- packet shapes of these tests ------------------------------------------------

// inner6() with a Fragment header (first fragment, MF set).
Bytes inner6_fragment(std::size_t payload = 100) {
  Ip6 h;
  h.src = a6(kServer6);
  h.dst = a6(kHost4As6);
  h.hlim = 60;
  h.next = kFrag;
  Bytes seg = udp(443, 50000, pattern(payload));
  fill_csum6(seg, kUdp, h.src, h.dst);
  Bytes body = frag_header(kUdp, 0, true, 0x01020304);
  append(body, seg);
  return ipv6(h, body);
}

// pool6 (64:ff9b::/96) images of IPv4 addresses that RFC 1122 3.2.1.3 and
// RFC 1812 5.3.7 / RFC 3927 2.7 forbid as a source.
struct Reserved {
  const char* v4;
  const char* v6;
};
constexpr Reserved kReserved[] = {
    {"127.0.0.1", "64:ff9b::7f00:1"},     {"0.0.0.0", "64:ff9b::"},
    {"224.0.0.1", "64:ff9b::e000:1"},     {"255.255.255.255", "64:ff9b::ffff:ffff"},
    {"169.254.1.1", "64:ff9b::a9fe:101"},
};

// --- item 10: reserved IPv4 sources of translated ICMP errors ------------------------------

TEST_F(Hardening, Icmp6ErrorFromReservedImageUsesRfc6791Pool) {
  cfg.rfc6791v4 = net::Ipv4Prefix{ip4("203.0.113.8"), 32};
  for (const auto& r : kReserved) {
    Verdict v = run64(icmp6_error(1, 4, 0, inner6(), r.v6));
    ASSERT_EQ(v.outcome, Outcome::kTranslated) << r.v4;
    Bytes e = pkt();
    EXPECT_EQ(str4(e, 12), "203.0.113.8") << r.v4;
    EXPECT_TRUE(ipv4_header_valid(e));
    EXPECT_TRUE(l4_valid4(e));
  }
}

TEST_F(Hardening, Icmp6ErrorFromReservedImageFallsBackToOwnAddress) {
  // No RFC 6791 pool: the translator's own IPv4 address (RFC 6791 2).
  for (const auto& r : kReserved) {
    ASSERT_EQ(run64(icmp6_error(3, 0, 0, inner6(), r.v6)).outcome, Outcome::kTranslated) << r.v4;
    EXPECT_EQ(str4(pkt(), 12), kOwn4) << r.v4;
  }
}

TEST_F(Hardening, Icmp6ErrorFromReservedImageWithoutAnySourceIsDropped) {
  cfg.own_ipv4.reset();
  for (const auto& r : kReserved) {
    Verdict v = run64(icmp6_error(1, 4, 0, inner6(), r.v6));
    EXPECT_EQ(v.outcome, Outcome::kDropped) << r.v4;
    EXPECT_EQ(v.reason, Drop::kReservedSource) << r.v4;
    EXPECT_EQ(out->count, 0u);
  }
}

TEST_F(Hardening, Icmp4ErrorFromReservedSourceIsDropped) {
  // Even with an RFC 6791 IPv6 pool: a martian source is not a router.
  cfg.rfc6791v6 = net::Ipv6Prefix{ip6("2001:db8:6791::"), 112};
  for (const auto& r : kReserved) {
    Verdict v = run46(icmp4_error(3, 1, 0, inner4(), r.v4));
    EXPECT_EQ(v.outcome, Outcome::kDropped) << r.v4;
    EXPECT_EQ(v.reason, Drop::kReservedSource) << r.v4;
    EXPECT_EQ(out->count, 0u);
  }
  // A unicast router still passes.
  ASSERT_EQ(run46(icmp4_error(3, 1, 0, inner4(), "203.0.113.1")).outcome, Outcome::kTranslated);
  EXPECT_EQ(str6(pkt(), 8), "64:ff9b::cb00:7101");
}

// --- item 11: the Fragment header in MTU arithmetic ------------------------------------------

TEST_F(Hardening, FragNeededForDfFragmentLeavesRoomForFragmentHeader) {
  // IPv6 link 1500. A DF-set IPv4 fragment gains 40 - 20 + 8 = 28 bytes, so
  // the largest one that fits is 1472 bytes (RFC 7915 4.1 / 4.2).
  for (bool last : {false, true}) {
    Ip4 h = h4(kUdp);
    h.df = true;
    h.mf = !last;
    h.frag_off = last ? 1480 : 0;
    auto frag_of = [&](std::size_t total) {
      Bytes data = pattern(total - 20);
      return ipv4(h, data);
    };
    Bytes big = frag_of(1473);
    Verdict v = run46(big);
    EXPECT_EQ(v.reason, Drop::kFragNeeded) << last;
    if (!last) {
      ASSERT_EQ(v.outcome, Outcome::kIcmpError);
      expect_icmp4_error(pkt(), 3, 4, 1472, kHost4, big);
    } else {
      EXPECT_EQ(v.outcome, Outcome::kDropped);  // a non-first fragment is not answered (RFC 1812 4.3.2.7)
    }
    // A sender obeying the reported MTU gets through.
    Bytes fits = frag_of(1472);
    ASSERT_EQ(run46(fits).outcome, Outcome::kTranslated) << last;
    EXPECT_EQ(pkt().size(), 1500u);
  }
  // A whole DF packet still gets 1500 - 20.
  Ip4 h = h4(kUdp);
  h.df = true;
  Bytes whole = v4_packet(h, udp(1, 2, pattern(1481 - 28)));
  ASSERT_EQ(run46(whole).reason, Drop::kFragNeeded);
  expect_icmp4_error(pkt(), 3, 4, 1480, kHost4, whole);
}

TEST_F(Hardening, PacketTooBigAboutFragmentReportsRoomForFragmentHeader) {
  // RFC 7915 5.2: minimum(MTU - 28, IPv4 MTU, IPv6 MTU - 28) when the packet
  // in error carries a Fragment header.
  struct {
    uint32_t mtu6, ipv4_mtu, ipv6_mtu, want;
  } cases[] = {{1400, 1500, 1500, 1372}, {1500, 1500, 1500, 1472}, {9000, 9000, 1500, 1472}, {9000, 1400, 9000, 1400}};
  for (const auto& c : cases) {
    cfg.ipv4_mtu = c.ipv4_mtu;
    cfg.ipv6_mtu = c.ipv6_mtu;
    ASSERT_EQ(run64(icmp6_error(2, 0, c.mtu6, inner6_fragment(), "2001:db8::ff")).outcome, Outcome::kTranslated);
    Bytes e = pkt();
    EXPECT_EQ(e[20], 3);
    EXPECT_EQ(e[21], 4);
    EXPECT_EQ(get32(e, 24), c.want) << c.mtu6;
    EXPECT_TRUE(l4_valid4(e));
  }
  // Without a Fragment header: MTU - 20 as before.
  ASSERT_EQ(run64(icmp6_error(2, 0, 1400, inner6(), "2001:db8::ff")).outcome, Outcome::kTranslated);
  EXPECT_EQ(get32(pkt(), 24), 1380u);
}

TEST_F(Hardening, FragNeededAboutFragmentBecomesPtbWithFragmentHeaderRoom) {
  // RFC 7915 4.2: minimum(MTU + 28, IPv6 MTU, IPv4 MTU + 28) when the quoted
  // IPv4 packet is a fragment (its IPv6 original carried a Fragment header).
  ASSERT_EQ(run46(icmp4_error(3, 4, 1400, inner4(100, 7, /*more_fragments=*/true), "203.0.113.1")).outcome,
            Outcome::kTranslated);
  Bytes e = pkt();
  EXPECT_EQ(e[40], 2);
  EXPECT_EQ(get32(e, 44), 1428u);
  EXPECT_TRUE(l4_valid6(e, 40, kIcmp6));
  cfg.ipv4_mtu = 1400;
  cfg.ipv6_mtu = 9000;
  ASSERT_EQ(run46(icmp4_error(3, 4, 1450, inner4(100, 7, /*more_fragments=*/true), "203.0.113.1")).outcome,
            Outcome::kTranslated);
  EXPECT_EQ(get32(pkt(), 44), 1428u);
  // Not a fragment: + 20 as before.
  ASSERT_EQ(run46(icmp4_error(3, 4, 1400, inner4(), "203.0.113.1")).outcome, Outcome::kTranslated);
  EXPECT_EQ(get32(pkt(), 44), 1420u);
}

// --- item 13 ----------------------------------------------------------------------------------

TEST_F(Hardening, Ipv6UdpChecksumZeroIsDropped) {
  // RFC 8200 8.1: an IPv6 UDP checksum of 0 is invalid; the packet is
  // dropped, not translated with a checksum nobody computed.
  Ip6 h = h6(kUdp);
  Bytes seg = udp(53, 40000, pattern(50));
  Bytes in = ipv6(h, seg);  // checksum field left 0
  ASSERT_EQ(get16(in, 46), 0);
  Verdict v = run64(in);
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kUdp6ZeroChecksum);
  EXPECT_EQ(out->count, 0u);
  // A valid checksum that happens to be 0xffff still translates.
  ASSERT_EQ(run64(v6_packet(h, seg)).outcome, Outcome::kTranslated);
  EXPECT_TRUE(l4_valid4(pkt()));
}

Bytes ah_header(uint8_t next) {
  Bytes b(24, 0);  // 12-byte fixed part + 12-byte ICV
  b[0] = next;
  b[1] = 24 / 4 - 2;
  put32(b, 4, 0x1000);  // SPI
  put32(b, 8, 1);       // sequence number
  return b;
}

TEST_F(Hardening, AuthenticationHeaderIsRefusedBothWays) {
  // RFC 7915 4.1 / 5.1: AH's ICV covers the addresses the translator
  // rewrites; 4->6 refuses protocol 51, so 6->4 must not strip it.
  Ip6 h = h6(kAh);
  Bytes seg = udp(53, 40000, pattern(40));
  fill_csum6(seg, kUdp, h.src, h.dst);
  Bytes body = ah_header(kUdp);
  append(body, seg);
  Verdict v = run64(ipv6(h, body));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kBadProtocol);
  EXPECT_EQ(out->count, 0u);
  // After a Destination Options header too.
  Ip6 h2 = h6(kDestOpts);
  Bytes body2 = ext_header(kAh);
  append(body2, body);
  EXPECT_EQ(run64(ipv6(h2, body2)).reason, Drop::kBadProtocol);
  // 4->6 (already so).
  EXPECT_EQ(run46(v4_packet(h4(kAh), pattern(40))).reason, Drop::kBadProtocol);
  // An ICMPv6 error quoting an AH packet is refused like its 4->6 mirror.
  Ip6 hi = h6(kAh);
  hi.hlim = 60;
  EXPECT_EQ(run64(icmp6_error(1, 4, 0, ipv6(hi, body), "2001:db8::ff")).reason, Drop::kBadInnerPacket);
}

TEST_F(Hardening, PacketTooBigBelowIpv6MinimumUsesPlateaus) {
  // An MTU below 1280 cannot be an IPv6 link's (RFC 8200 5); as RFC 7915 4.2
  // does for MTU 0, estimate from the quoted packet with the RFC 1191 5
  // plateaus: the largest one below its IPv4 length.
  struct {
    uint32_t mtu6;
    std::size_t inner_payload;  // UDP data; IPv4 length = 28 + this
    uint32_t want;
  } cases[] = {
      {0, 1400, 1006},     // IPv4 1428 -> 1006
      {0, 1472, 1480},     // IPv4 1500 -> 1492, capped by the IPv6 link (1500 - 20)
      {1000, 1472, 1480},  // nonsense, same
      {1279, 600, 508},    // IPv4 628 -> 508
      {0, 10, 68},         // IPv4 38: no plateau below, 68 (RFC 791)
  };
  for (const auto& c : cases) {
    Verdict v = run64(icmp6_error(2, 0, c.mtu6, inner6(c.inner_payload), "2001:db8::ff"));
    ASSERT_EQ(v.outcome, Outcome::kTranslated) << c.mtu6 << "/" << c.inner_payload;
    Bytes e = pkt();
    EXPECT_EQ(e[20], 3);
    EXPECT_EQ(e[21], 4);
    EXPECT_EQ(get32(e, 24), c.want) << c.mtu6 << "/" << c.inner_payload;
    EXPECT_TRUE(l4_valid4(e));
  }
}

// --- item 13d: IPv4 Identification (RFC 7739) ----------------------------------------------------

uint16_t id_of(const Output& o) {
  auto p = o.packet(0);
  return get16(p, 4);
}

TEST_F(Hardening, Ipv4IdsOfOneFlowAreNotASequenceAndDoNotRepeat) {
  std::vector<uint16_t> ids;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(run64(v6_packet(h6(kUdp), udp(53, 40000, pattern(20)))).outcome, Outcome::kTranslated);
    ids.push_back(id_of(*out));
  }
  int plus_one = 0;
  for (std::size_t i = 1; i < ids.size(); ++i) plus_one += static_cast<uint16_t>(ids[i] - ids[i - 1]) == 1;
  EXPECT_LT(plus_one, 500) << "consecutive IDs of a flow form a +1 sequence";
  EXPECT_EQ(std::set<uint16_t>(ids.begin(), ids.end()).size(), ids.size()) << "an ID repeated within 2000 packets";
}

TEST_F(Hardening, Ipv4IdsToDifferentDestinationsRevealNoGlobalCounter) {
  // One packet to each of 200 destinations, interleaved with a fixed flow:
  // with a global counter, consecutive IDs differ by small amounts.
  std::vector<uint16_t> ids;
  for (int i = 1; i <= 200; ++i) {
    Ip6 h = h6(kUdp);
    h.dst[15] = static_cast<uint8_t>(i);  // 198.51.100.i
    ASSERT_EQ(run64(v6_packet(h, udp(53, 40000, pattern(20)))).outcome, Outcome::kTranslated);
    ids.push_back(id_of(*out));
  }
  int small = 0;
  for (std::size_t i = 1; i < ids.size(); ++i) small += static_cast<uint16_t>(ids[i] - ids[i - 1]) <= 64;
  EXPECT_LE(small, 5) << "IDs to different destinations advance like one counter";
}

TEST_F(Hardening, GeneratedErrorIdsAreNotASequence) {
  // Translator-generated ICMPv4 errors (Time Exceeded) to one host.
  std::vector<uint16_t> ids;
  for (int i = 0; i < 200; ++i) {
    Ip4 h = h4(kUdp);
    h.ttl = 1;
    h.id = static_cast<uint16_t>(i);
    ASSERT_EQ(run46(v4_packet(h, udp(1, 2, pattern(20)))).outcome, Outcome::kIcmpError);
    ids.push_back(id_of(*out));
  }
  int plus_one = 0;
  for (std::size_t i = 1; i < ids.size(); ++i) plus_one += static_cast<uint16_t>(ids[i] - ids[i - 1]) == 1;
  EXPECT_LT(plus_one, 50);
  EXPECT_EQ(std::set<uint16_t>(ids.begin(), ids.end()).size(), ids.size());
}

TEST_F(Hardening, Ipv4IdSeedingIsDeterministicOrRandom) {
  auto sequence = [&](WorkerState& w) {
    std::vector<uint16_t> v;
    Bytes in = v6_packet(h6(kUdp), udp(53, 40000, pattern(20)));
    for (int i = 0; i < 16; ++i) {
      EXPECT_EQ(translate(cfg, eamt, w, Family::kV6, {in.data(), in.size()}, *out).outcome, Outcome::kTranslated);
      v.push_back(id_of(*out));
    }
    return v;
  };
  WorkerState a, b, c;
  seed(a, 42);
  seed(b, 42);
  seed(c, 43);
  EXPECT_EQ(sequence(a), sequence(b));
  EXPECT_NE(sequence(a), sequence(c));
  WorkerState r1, r2;
  ASSERT_TRUE(seed_from_entropy(r1));
  ASSERT_TRUE(seed_from_entropy(r2));
  EXPECT_NE(sequence(r1), sequence(r2));
}

}  // namespace
}  // namespace edge46::xlat
