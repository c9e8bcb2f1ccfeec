// Reassembly of fragmented ICMP / ICMPv6 (src/pipeline/reassembly.h) and the
// ICMP error token bucket (src/pipeline/rate_limit.h). Expected datagrams are
// built whole with the independent test builder and compared byte for byte.
#include "pipeline/reassembly.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "pipeline/rate_limit.h"
#include "support/fragments.h"
#include "support/packet_builder.h"

namespace edge46 {
namespace {

using pipeline::PipelineDrop;
using pipeline::Reassembler;
using Status = Reassembler::Status;
using test::a4;
using test::a6;
using test::Bytes;

constexpr uint64_t kMs = 1'000'000;

// --- IPv4 -------------------------------------------------------------------

test::Ip4 hdr4(uint16_t id = 0x4242) {
  test::Ip4 h;
  h.src = a4("198.51.100.7");
  h.dst = a4("192.0.2.1");
  h.proto = test::kIcmp;
  h.id = id;
  h.ttl = 61;
  return h;
}

// An ICMP echo request with `n` data bytes, checksum filled.
Bytes echo4_seg(std::size_t n, uint8_t seed = 0) {
  auto seg = test::icmp(8, 0, 0x12340001, test::pattern(n, seed));
  test::fill_csum4(seg, test::kIcmp, hdr4().src, hdr4().dst);
  return seg;
}

Bytes frag4(const test::Ip4& h, const Bytes& seg, std::size_t off, std::size_t len, bool mf) {
  return test::fragment4(h, seg, off, len, mf);
}

net::Ipv4Packet parse4(const Bytes& b) {
  net::Ipv4Packet p{};
  EXPECT_EQ(net::parse_ipv4(b, p, true), core::Drop::kNone);
  return p;
}

// --- IPv6 -------------------------------------------------------------------

test::Ip6 hdr6() {
  test::Ip6 h;
  h.src = a6("2001:db8:a::");
  h.dst = a6("64:ff9b::198.51.100.7");
  h.next = test::kFrag;
  h.hlim = 63;
  return h;
}

Bytes echo6_seg(std::size_t n, uint8_t seed = 0) {
  auto seg = test::icmp(128, 0, 0x56780002, test::pattern(n, seed));
  test::fill_csum6(seg, test::kIcmp6, hdr6().src, hdr6().dst);
  return seg;
}

Bytes frag6(const Bytes& seg, std::size_t off, std::size_t len, bool mf, uint32_t id = 0xabcdef01) {
  return test::fragment6(hdr6(), seg, off, len, mf, id);
}

// The whole datagram as the reassembler promises it: the Fragment header
// kept, offset 0, M 0.
Bytes whole6(const Bytes& seg, uint32_t id = 0xabcdef01) {
  auto payload = test::frag_header(test::kIcmp6, 0, false, id);
  test::append(payload, seg);
  return test::ipv6(hdr6(), payload);
}

net::Ipv6Packet parse6(const Bytes& b) {
  net::Ipv6Packet p{};
  EXPECT_EQ(net::parse_ipv6(b, p), core::Drop::kNone);
  return p;
}

Bytes got(const Reassembler& r) {
  auto d = r.datagram();
  return Bytes(d.begin(), d.end());
}

struct Reasm : ::testing::Test {
  std::unique_ptr<Reassembler> ra = std::make_unique<Reassembler>(pipeline::ReassemblyLimits{});
  void reset(pipeline::ReassemblyLimits lim) { ra = std::make_unique<Reassembler>(lim); }
  Reassembler::Result add4(const Bytes& b, uint64_t now = 0) {
    auto p = parse4(b);
    EXPECT_TRUE(Reassembler::wants(p));
    return ra->add(p, now);
  }
  Reassembler::Result add6(const Bytes& b, uint64_t now = 0) {
    auto p = parse6(b);
    EXPECT_TRUE(Reassembler::wants(p));
    return ra->add(p, now);
  }
};

TEST_F(Reasm, WantsOnlyIcmpFragments) {
  auto seg = echo4_seg(2000);
  EXPECT_FALSE(Reassembler::wants(parse4(test::ipv4(hdr4(), seg))));  // whole
  auto h = hdr4();
  h.proto = test::kUdp;
  EXPECT_FALSE(Reassembler::wants(parse4(frag4(h, seg, 0, 1480, true))));  // UDP fragment
  EXPECT_TRUE(Reassembler::wants(parse4(frag4(hdr4(), seg, 1480, 528, false))));
  auto seg6 = echo6_seg(2000);
  EXPECT_TRUE(Reassembler::wants(parse6(frag6(seg6, 0, 1232, true))));
  EXPECT_TRUE(Reassembler::wants(parse6(frag6(seg6, 1232, 776, false))));
  // An atomic fragment (offset 0, M 0) is not a fragment.
  EXPECT_FALSE(Reassembler::wants(parse6(whole6(seg6))));
}

TEST_F(Reasm, InOrderIpv4IsByteExact) {
  auto seg = echo4_seg(3000);  // 3008 bytes: 1480 + 1480 + 48
  EXPECT_EQ(add4(frag4(hdr4(), seg, 0, 1480, true)).status, Status::kHeld);
  EXPECT_EQ(add4(frag4(hdr4(), seg, 1480, 1480, true)).status, Status::kHeld);
  ASSERT_EQ(add4(frag4(hdr4(), seg, 2960, 48, false)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(hdr4(), seg));  // DF clear, MF 0, offset 0, same ID and TTL
  EXPECT_TRUE(test::l4_valid4(got(*ra)));
  EXPECT_EQ(ra->slots_in_use(), 0u);
  EXPECT_EQ(ra->blocks_free(), ra->blocks_total());
}

TEST_F(Reasm, OutOfOrderIpv6IsByteExact) {
  auto seg = echo6_seg(3000);  // 3008 bytes: 1232 + 1232 + 544
  EXPECT_EQ(add6(frag6(seg, 2464, 544, false)).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(seg, 0, 1232, true)).status, Status::kHeld);
  ASSERT_EQ(add6(frag6(seg, 1232, 1232, true)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), whole6(seg));
  EXPECT_TRUE(test::l4_valid6(got(*ra), 48, test::kIcmp6));
  EXPECT_EQ(ra->blocks_free(), ra->blocks_total());
}

TEST_F(Reasm, FirstFragmentLastIpv4) {
  auto seg = echo4_seg(1600);
  EXPECT_EQ(add4(frag4(hdr4(), seg, 800, 808, false)).status, Status::kHeld);
  ASSERT_EQ(add4(frag4(hdr4(), seg, 0, 800, true)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(hdr4(), seg));
}

TEST_F(Reasm, FirstFragmentOptionsAreKeptIpv4) {
  auto h = hdr4();
  h.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
  auto seg = echo4_seg(1600);
  EXPECT_EQ(add4(frag4(h, seg, 0, 800, true)).status, Status::kHeld);
  ASSERT_EQ(add4(frag4(hdr4(), seg, 800, 808, false)).status, Status::kComplete);  // options not copied
  EXPECT_EQ(got(*ra), test::ipv4(h, seg));
}

TEST_F(Reasm, InterleavedDatagramsAreKeptApart) {
  auto a = echo4_seg(2000, 1), b = echo4_seg(2000, 2);
  auto ha = hdr4(1), hb = hdr4(2);
  auto s6 = echo6_seg(2000, 3);
  EXPECT_EQ(add4(frag4(ha, a, 0, 1480, true)).status, Status::kHeld);
  EXPECT_EQ(add4(frag4(hb, b, 0, 1480, true)).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(s6, 0, 1232, true)).status, Status::kHeld);
  EXPECT_EQ(ra->slots_in_use(), 3u);
  ASSERT_EQ(add4(frag4(hb, b, 1480, 528, false)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(hb, b));
  ASSERT_EQ(add6(frag6(s6, 1232, 776, false)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), whole6(s6));
  ASSERT_EQ(add4(frag4(ha, a, 1480, 528, false)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(ha, a));
}

// RFC 8200 4.5: an exact duplicate may be dropped alone.
TEST_F(Reasm, DuplicateIsDroppedAloneBothFamilies) {
  auto seg = echo4_seg(2000);
  EXPECT_EQ(add4(frag4(hdr4(), seg, 0, 1480, true)).status, Status::kHeld);
  auto d = add4(frag4(hdr4(), seg, 0, 1480, true));
  EXPECT_EQ(d.status, Status::kDropped);
  EXPECT_EQ(d.reason, PipelineDrop::kReasmDuplicate);
  ASSERT_EQ(add4(frag4(hdr4(), seg, 1480, 528, false)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(hdr4(), seg));

  auto s6 = echo6_seg(2000);
  EXPECT_EQ(add6(frag6(s6, 1232, 776, false)).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(s6, 1232, 776, false)).reason, PipelineDrop::kReasmDuplicate);
  ASSERT_EQ(add6(frag6(s6, 0, 1232, true)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), whole6(s6));
}

// RFC 5722: overlapping fragments discard the whole datagram.
TEST_F(Reasm, OverlapDiscardsTheDatagramIpv6) {
  auto seg = echo6_seg(3000);
  EXPECT_EQ(add6(frag6(seg, 0, 1232, true)).status, Status::kHeld);
  auto r = add6(frag6(seg, 1224, 1232, true));  // starts 8 bytes early
  EXPECT_EQ(r.status, Status::kDropped);
  EXPECT_EQ(r.reason, PipelineDrop::kReasmOverlap);
  EXPECT_EQ(ra->slots_in_use(), 0u);
  EXPECT_EQ(ra->blocks_free(), ra->blocks_total());
  // What remains of the datagram never completes.
  EXPECT_EQ(add6(frag6(seg, 1232, 1232, true)).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(seg, 2464, 544, false)).status, Status::kHeld);
}

TEST_F(Reasm, OverlapDiscardsTheDatagramIpv4) {
  auto seg = echo4_seg(3000);
  EXPECT_EQ(add4(frag4(hdr4(), seg, 1480, 1480, true)).status, Status::kHeld);
  // Same offset, other length: not a duplicate.
  auto r = add4(frag4(hdr4(), seg, 1480, 1528, false));
  EXPECT_EQ(r.reason, PipelineDrop::kReasmOverlap);
  EXPECT_EQ(ra->slots_in_use(), 0u);
}

TEST_F(Reasm, TimeoutDiscardsAndFreesIpv4) {
  reset({64, 1024 * 1024, 2000});
  auto seg = echo4_seg(2000);
  EXPECT_EQ(add4(frag4(hdr4(), seg, 0, 1480, true), 10 * kMs).status, Status::kHeld);
  EXPECT_EQ(ra->expire(2009 * kMs), 0u);
  EXPECT_EQ(ra->expire(2010 * kMs), 1u);
  EXPECT_EQ(ra->slots_in_use(), 0u);
  EXPECT_EQ(ra->blocks_free(), ra->blocks_total());
  // The late last fragment starts a new datagram that lacks its head.
  EXPECT_EQ(add4(frag4(hdr4(), seg, 1480, 528, false), 2011 * kMs).status, Status::kHeld);
}

TEST_F(Reasm, TimeoutCountsFromTheFirstFragmentIpv6) {
  reset({64, 1024 * 1024, 500});
  auto seg = echo6_seg(3000);
  EXPECT_EQ(add6(frag6(seg, 0, 1232, true), 0).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(seg, 1232, 1232, true), 400 * kMs).status, Status::kHeld);
  EXPECT_EQ(ra->expire(500 * kMs), 1u);  // a later fragment does not extend the deadline
}

TEST_F(Reasm, MemoryBudgetDiscardsTheDatagramThatDoesNotFit) {
  reset({8, 65536, 2000});  // 32 blocks of 2 KiB
  ASSERT_EQ(ra->blocks_total(), 32u);
  auto a = echo4_seg(40000, 1), b = echo4_seg(40000, 2);
  auto ha = hdr4(1), hb = hdr4(2);
  // a takes 20 blocks (40008 bytes) when whole; hold all but its head.
  for (std::size_t off = 1480; off < a.size(); off += 1480) {
    const std::size_t n = std::min<std::size_t>(1480, a.size() - off);
    ASSERT_EQ(add4(frag4(ha, a, off, n, off + n < a.size())).status, Status::kHeld);
  }
  // b gets the remaining 12 blocks and then runs out.
  Reassembler::Result r;
  std::size_t off = 0;
  for (; off < b.size(); off += 1480) {
    const std::size_t n = std::min<std::size_t>(1480, b.size() - off);
    r = add4(frag4(hb, b, off, n, off + n < b.size()));
    if (r.status != Status::kHeld) break;
  }
  EXPECT_EQ(r.status, Status::kDropped);
  EXPECT_EQ(r.reason, PipelineDrop::kReasmNoMemory);
  EXPECT_GT(off, 12u * 2048 - 1480);
  EXPECT_LT(off, 13u * 2048);
  EXPECT_EQ(ra->slots_in_use(), 1u);  // a is untouched
  ASSERT_EQ(add4(frag4(ha, a, 0, 1480, true)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(ha, a));
  EXPECT_EQ(ra->blocks_free(), 32u);
}

TEST_F(Reasm, NoFreeSlotDropsTheNewDatagram) {
  reset({2, 1024 * 1024, 2000});
  auto seg = echo4_seg(2000);
  EXPECT_EQ(add4(frag4(hdr4(1), seg, 0, 1480, true)).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(echo6_seg(2000), 0, 1232, true)).status, Status::kHeld);
  auto r = add4(frag4(hdr4(3), seg, 0, 1480, true));
  EXPECT_EQ(r.reason, PipelineDrop::kReasmNoSlot);
  // The live ones were not evicted.
  ASSERT_EQ(add4(frag4(hdr4(1), seg, 1480, 528, false)).status, Status::kComplete);
  EXPECT_EQ(got(*ra), test::ipv4(hdr4(1), seg));
}

TEST_F(Reasm, DisabledTakesNothing) {
  reset({0, 1024 * 1024, 2000});
  EXPECT_FALSE(ra->enabled());
}

TEST_F(Reasm, TooBigIpv4AndIpv6) {
  // RFC 791: offset + length beyond a 65535-byte packet.
  auto seg = echo4_seg(100);
  auto b = frag4(hdr4(), seg, 0, 24, false);
  test::put16(b, 6, static_cast<uint16_t>(65512 / 8));  // offset 65512 + 24 > 65535 - 20
  test::refresh_ipv4_checksum(b);
  EXPECT_EQ(add4(b).reason, PipelineDrop::kReasmTooBig);

  // The reassembled IPv6 Payload Length (Fragment header + data) is 16 bits.
  auto raw6 = [](uint16_t off) {
    auto payload = test::frag_header(test::kIcmp6, off, false, 7);
    test::append(payload, test::pattern(24));
    return test::ipv6(hdr6(), payload);
  };
  EXPECT_EQ(add6(raw6(65504)).reason, PipelineDrop::kReasmTooBig);  // 8 + 65528 > 65535
  EXPECT_EQ(add6(raw6(65488)).status, Status::kHeld);               // 20 + 65512 fits IPv4 too
}

// An IPv6 datagram whose IPv4 translation (20-byte header + the same 65520
// bytes) would not fit a Total Length, though its own Payload Length does
// (8 + 65520): refused by the reassembler, not passed on to be translated.
TEST_F(Reasm, TooBigForItsIpv4Translation) {
  auto raw6 = [](uint16_t off) {
    auto payload = test::frag_header(test::kIcmp6, off, false, 8);
    test::append(payload, test::pattern(24));
    return test::ipv6(hdr6(), payload);
  };
  EXPECT_EQ(add6(raw6(65496)).reason, PipelineDrop::kReasmTooBig);  // 20 + 65520 > 65535
  EXPECT_EQ(ra->slots_in_use(), 0u);
  // A held datagram whose later fragment reaches past the bound goes whole.
  auto seg = echo6_seg(1000);
  EXPECT_EQ(add6(frag6(seg, 0, 1000, true, 9)).status, Status::kHeld);
  auto far = frag6(seg, 0, 24, false, 9);
  test::put16(far, 42, static_cast<uint16_t>(65496));  // offset 65496, M 0
  EXPECT_EQ(add6(far).reason, PipelineDrop::kReasmTooBig);
  EXPECT_EQ(ra->slots_in_use(), 0u);
  EXPECT_EQ(ra->blocks_free(), ra->blocks_total());
}

TEST_F(Reasm, BadFragmentLengths) {
  auto seg = echo4_seg(3000);
  // Not the last and not a multiple of 8 (RFC 791, RFC 8200 4.5).
  EXPECT_EQ(add4(frag4(hdr4(), seg, 0, 1001, true)).reason, PipelineDrop::kReasmBadFragment);
  // Beyond the last fragment's end.
  EXPECT_EQ(add4(frag4(hdr4(), seg, 1000, 1008, false)).status, Status::kHeld);
  EXPECT_EQ(add4(frag4(hdr4(), seg, 2008, 800, true)).reason, PipelineDrop::kReasmBadFragment);
  EXPECT_EQ(ra->slots_in_use(), 0u);
  // A second, different last fragment.
  auto s6 = echo6_seg(3000);
  EXPECT_EQ(add6(frag6(s6, 2464, 544, false)).status, Status::kHeld);
  EXPECT_EQ(add6(frag6(s6, 1232, 800, false)).reason, PipelineDrop::kReasmBadFragment);
}

TEST_F(Reasm, TooManyFragments) {
  auto seg = echo6_seg(1000);  // 1008 bytes = 126 fragments of 8
  for (uint32_t i = 0; i < Reassembler::kMaxFragments; ++i) {
    ASSERT_EQ(add6(frag6(seg, i * 8, 8, true)).status, Status::kHeld) << i;
  }
  auto r = add6(frag6(seg, Reassembler::kMaxFragments * 8, 8, true));
  EXPECT_EQ(r.reason, PipelineDrop::kReasmTooManyFragments);
  EXPECT_EQ(ra->slots_in_use(), 0u);
}

// Random fragments (offsets, lengths, M flags, IDs, both families) never
// break the bounds, and expiry returns every block.
TEST_F(Reasm, RandomFragmentsKeepTheInvariants) {
  reset({8, 65536, 1000});
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<uint32_t>(x);
  };
  auto data = test::pattern(1600);
  for (int i = 0; i < 20000; ++i) {
    const bool v4 = (rnd() & 1) != 0;
    const uint32_t off = (rnd() % 8192) * 8;
    const uint32_t len = 1 + rnd() % 1480;
    const bool mf = (rnd() & 3) != 0;
    Reassembler::Result r;
    if (v4) {
      auto h = hdr4(static_cast<uint16_t>(rnd() % 4));
      h.frag_off = static_cast<uint16_t>(std::min<uint32_t>(off, 65528));
      h.mf = mf || h.frag_off == 0;
      r = add4(test::ipv4(h, test::slice(data, 0, len)), uint64_t(i) * kMs);
    } else {
      auto payload = test::frag_header(test::kIcmp6, static_cast<uint16_t>(std::min<uint32_t>(off, 65528)),
                                       mf || off == 0, rnd() % 4);
      test::append(payload, test::slice(data, 0, len));
      r = add6(test::ipv6(hdr6(), payload), uint64_t(i) * kMs);
    }
    if (r.status == Status::kComplete) {
      EXPECT_LE(ra->datagram().size(), 65535u + 40u);
    }
    ASSERT_LE(ra->slots_in_use(), 8u);
    ra->expire(uint64_t(i) * kMs);
  }
  ra->expire(~uint64_t{0});
  EXPECT_EQ(ra->slots_in_use(), 0u);
  EXPECT_EQ(ra->blocks_free(), ra->blocks_total());
}

// --- token bucket ----------------------------------------------------------------

TEST(TokenBucket, BurstThenRate) {
  pipeline::TokenBucket b;
  const pipeline::RateLimit lim{1000, 50};  // one token per millisecond
  uint64_t t = 5'000 * kMs;
  int ok = 0;
  for (int i = 0; i < 100; ++i) ok += b.take(t, lim) ? 1 : 0;
  EXPECT_EQ(ok, 50);  // starts full
  EXPECT_FALSE(b.take(t + kMs - 1, lim));
  EXPECT_TRUE(b.take(t + kMs, lim));
  EXPECT_FALSE(b.take(t + kMs, lim));
  // 10 ms: 10 tokens.
  ok = 0;
  for (int i = 0; i < 100; ++i) ok += b.take(t + 11 * kMs, lim) ? 1 : 0;
  EXPECT_EQ(ok, 10);
  // A long pause refills to the burst, not beyond.
  ok = 0;
  for (int i = 0; i < 100; ++i) ok += b.take(t + 3600'000 * kMs, lim) ? 1 : 0;
  EXPECT_EQ(ok, 50);
}

TEST(TokenBucket, FractionalRefillAccumulates) {
  pipeline::TokenBucket b;
  const pipeline::RateLimit lim{3, 1};  // one token every 333.33 ms
  EXPECT_TRUE(b.take(0, lim));
  EXPECT_FALSE(b.take(200 * kMs, lim));
  EXPECT_FALSE(b.take(333 * kMs, lim));
  EXPECT_TRUE(b.take(334 * kMs, lim));
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  pipeline::TokenBucket b;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(b.take(0, {0, 1}));
}

}  // namespace
}  // namespace edge46
