// Round trips through both directions: stateless translation is reversible
// (RFC 7915 1.3, RFC 6052 2.3) for the fields it carries.
#include <gtest/gtest.h>

#include <random>

#include "unit/xlat/xlat_fixture.h"

namespace edge46::xlat {
namespace {

using namespace test_support;  // NOLINT

class RoundTrip : public XlatTest {
 protected:
  std::mt19937_64 rng{46};

  Bytes random_segment(uint8_t proto, std::size_t n) {
    Bytes data(n);
    for (auto& x : data) x = static_cast<uint8_t>(rng());
    auto port = [&] { return static_cast<uint16_t>(rng()); };
    if (proto == kUdp) return udp(port(), port(), data);
    if (proto == kTcp) return tcp(port(), port(), static_cast<uint32_t>(rng()), data);
    return icmp(rng() % 2 ? 8 : 0, 0, static_cast<uint32_t>(rng()), data);  // echo request / reply
  }
  uint8_t random_proto() {
    const uint8_t ps[] = {kUdp, kTcp, kIcmp};
    return ps[rng() % 3];
  }
};

TEST_F(RoundTrip, FourToSixToFour) {
  for (int i = 0; i < 400; ++i) {
    const uint8_t proto = random_proto();
    Ip4 h = h4(proto);
    h.tos = static_cast<uint8_t>(rng());
    h.ttl = static_cast<uint8_t>(3 + rng() % 250);
    h.id = static_cast<uint16_t>(rng());
    Bytes orig = v4_packet(h, random_segment(proto, rng() % (1260 - 20 - 20 - 8)));
    ASSERT_LE(orig.size(), 1260u);

    ASSERT_EQ(run46(orig).outcome, Outcome::kTranslated) << i;
    ASSERT_EQ(out->count, 1u);
    Bytes v6 = pkt();
    EXPECT_TRUE(l4_valid6(v6, 40, proto == kIcmp ? kIcmp6 : proto)) << i;

    ASSERT_EQ(run64(v6).outcome, Outcome::kTranslated) << i;
    Bytes back = pkt();
    EXPECT_TRUE(ipv4_header_valid(back));
    EXPECT_TRUE(l4_valid4(back)) << i;
    // Restored except TTL - 2 and the Identification.
    Bytes want = orig;
    want[8] = static_cast<uint8_t>(h.ttl - 2);
    want[4] = back[4];
    want[5] = back[5];
    refresh_ipv4_checksum(want);
    ASSERT_EQ(back, want) << i;
  }
}

TEST_F(RoundTrip, SixToFourToSix) {
  for (int i = 0; i < 400; ++i) {
    const uint8_t proto = random_proto();
    const uint8_t next = proto == kIcmp ? kIcmp6 : proto;
    Ip6 h = h6(next);
    h.tc = static_cast<uint8_t>(rng());
    h.hlim = static_cast<uint8_t>(3 + rng() % 250);
    Bytes seg = random_segment(proto, rng() % 1400);
    if (next == kIcmp6) seg[0] = seg[0] == 8 ? 128 : 129;
    Bytes orig = v6_packet(h, seg);

    ASSERT_EQ(run64(orig).outcome, Outcome::kTranslated) << i;
    Bytes v4 = pkt();
    EXPECT_TRUE(ipv4_header_valid(v4));
    EXPECT_TRUE(l4_valid4(v4)) << i;
    // Packets above 1260 bytes come out with DF (RFC 7915 5.1) and
    // must then fit the 1500-byte IPv6 link unfragmented.
    ASSERT_EQ(run46(v4).outcome, Outcome::kTranslated) << i;
    ASSERT_EQ(out->count, 1u) << i;
    Bytes back = pkt();
    EXPECT_TRUE(l4_valid6(back, 40, next)) << i;
    Bytes want = orig;  // flow label was 0; hop limit two lower
    want[7] = static_cast<uint8_t>(h.hlim - 2);
    ASSERT_EQ(back, want) << i;
  }
}

TEST_F(RoundTrip, UdpChecksumZeroResultIsSentAsAllOnes) {
  // RFC 768 / RFC 8200 8.1: a computed UDP checksum of 0 is transmitted as
  // 0xffff. Search for a payload whose IPv6 checksum comes out as 0.
  for (uint32_t k = 0; k < 200000; ++k) {
    Bytes seg = udp(1, 2, Bytes{static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)});
    Bytes s6 = seg;
    fill_csum6(s6, kUdp, a6(kHost4As6), a6(kServer6));
    if (get16(s6, 6) != 0xffff) continue;
    ASSERT_EQ(run46(v4_packet(h4(kUdp), seg)).outcome, Outcome::kTranslated);
    EXPECT_EQ(get16(pkt(), 46), 0xffff);
    EXPECT_TRUE(l4_valid6(pkt(), 40, kUdp));
    return;
  }
  FAIL() << "no payload found";
}

}  // namespace
}  // namespace edge46::xlat
