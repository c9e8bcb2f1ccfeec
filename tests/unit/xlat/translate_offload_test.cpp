// Offload hints (virtio-net header): GSO super-packets skip the size rules;
// partial checksums carry the uncomplemented pseudo-header sum, which must be
// re-expressed for the other family's pseudo-header.
#include <gtest/gtest.h>

#include "unit/xlat/xlat_fixture.h"

namespace edge46::xlat {
namespace {

using namespace test_support;  // NOLINT

class Offload46 : public XlatTest {
 protected:
  Verdict run(const Bytes& in, Family f, Offload o) { return translate(cfg, f, {in.data(), in.size()}, *out, o); }
};

uint16_t pseudo4(uint32_t s, uint32_t d, uint8_t proto, std::size_t len) {
  Sum x;
  x.addr4(s);
  x.addr4(d);
  x.word(proto);
  x.word(static_cast<uint16_t>(len));
  return x.folded();
}
uint16_t pseudo6(const V6& s, const V6& d, uint8_t proto, std::size_t len) {
  Sum x;
  x.addr6(s);
  x.addr6(d);
  x.word(static_cast<uint16_t>(len >> 16));
  x.word(static_cast<uint16_t>(len));
  x.word(proto);
  return x.folded();
}
bool same_ones_complement(uint16_t a, uint16_t b) {
  return a % 0xffff == b % 0xffff;
}

TEST_F(Offload46, PartialChecksumBecomesIpv6PseudoHeaderSum) {
  for (uint8_t proto : {kUdp, kTcp}) {
    Bytes seg = proto == kUdp ? udp(1, 2, pattern(100)) : tcp(1, 2, 3, pattern(100));
    const std::size_t off = csum_offset(proto);
    put16(seg, off, pseudo4(a4(kHost4), a4(kServer4), proto, seg.size()));
    Bytes in = ipv4(h4(proto), seg);
    ASSERT_EQ(run(in, Family::kV4, Offload{false, true}).outcome, Outcome::kTranslated);
    Bytes p = pkt();
    uint16_t want = pseudo6(a6(kHost4As6), a6(kServer6), proto, seg.size());
    EXPECT_TRUE(same_ones_complement(get16(p, 40 + off), want))
        << int{proto} << ": " << get16(p, 40 + off) << " vs " << want;
    // Completing the sum over the segment (as the kernel does) gives a valid checksum.
    Bytes l4 = slice(p, 40, p.size() - 40);
    Sum s;
    s.bytes(l4);
    put16(l4, off, static_cast<uint16_t>(~s.folded()));
    Bytes done = slice(p, 0, 40);
    append(done, l4);
    EXPECT_TRUE(l4_valid6(done, 40, proto)) << int{proto};
  }
}

TEST_F(Offload46, PartialChecksumSixToFour) {
  for (uint8_t proto : {kUdp, kTcp}) {
    Bytes seg = proto == kUdp ? udp(1, 2, pattern(100)) : tcp(1, 2, 3, pattern(100));
    const std::size_t off = csum_offset(proto);
    put16(seg, off, pseudo6(a6(kServer6), a6(kHost4As6), proto, seg.size()));
    Bytes in = ipv6(h6(proto), seg);
    ASSERT_EQ(run(in, Family::kV6, Offload{false, true}).outcome, Outcome::kTranslated);
    uint16_t want = pseudo4(a4(kServer4), a4(kHost4), proto, seg.size());
    EXPECT_TRUE(same_ones_complement(get16(pkt(), 20 + off), want)) << int{proto};
  }
}

TEST_F(Offload46, PartialUdpZeroFieldIsNotAZeroChecksum) {
  // With a partial checksum, 0 in the field is a sum, not "no checksum".
  Bytes seg = udp(1, 2, pattern(10));
  Bytes in = ipv4(h4(kUdp), seg);  // field 0
  EXPECT_EQ(run(in, Family::kV4, Offload{false, true}).outcome, Outcome::kTranslated);
  EXPECT_EQ(run(in, Family::kV4, Offload{}).reason, Drop::kUdpZeroChecksum);
}

TEST_F(Offload46, GsoSkipsSizeRules) {
  Ip4 h = h4(kTcp);
  h.df = true;
  Bytes seg = tcp(1, 2, 3, pattern(3000));
  Bytes in = v4_packet(h, seg);
  EXPECT_EQ(run(in, Family::kV4, Offload{}).reason, Drop::kFragNeeded);
  ASSERT_EQ(run(in, Family::kV4, Offload{true, false}).outcome, Outcome::kTranslated);
  ASSERT_EQ(out->count, 1u);
  Ip6 e;
  e.src = a6(kHost4As6);
  e.dst = a6(kServer6);
  e.hlim = 63;
  e.next = kTcp;
  EXPECT_EQ(pkt(), v6_packet(e, seg));  // one packet, no Fragment header
  h.df = false;
  ASSERT_EQ(run(v4_packet(h, seg), Family::kV4, Offload{true, false}).outcome, Outcome::kTranslated);
  EXPECT_EQ(out->count, 1u);  // not split to lowest-ipv6-mtu either

  Bytes in6 = v6_packet(h6(kTcp), seg);
  EXPECT_EQ(run(in6, Family::kV6, Offload{}).reason, Drop::kPacketTooBig);
  ASSERT_EQ(run(in6, Family::kV6, Offload{true, false}).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt().size(), 20u + seg.size());
  EXPECT_TRUE(l4_valid4(pkt()));
}

}  // namespace
}  // namespace edge46::xlat
