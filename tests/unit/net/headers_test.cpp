// net/headers: bounds-checked IPv4 / IPv6 parsing (RFC 791, RFC 8200) and
// every malformed form the parser must refuse.
#include "net/headers.h"

#include <gtest/gtest.h>

#include "support/packet_builder.h"

namespace edge46::net {
namespace {

using core::Drop;
using test::Bytes;

Bytes good_v4(std::size_t payload = 12) {
  test::Ip4 h;
  h.src = test::a4("198.51.100.2");
  h.dst = test::a4("192.0.2.33");
  h.tos = 0xb8;
  h.ttl = 37;
  h.id = 0xbeef;
  h.df = true;
  return test::v4_packet(h, test::udp(5353, 53, test::pattern(payload)));
}

Drop p4(const Bytes& b, Ipv4Packet& out, bool verify = true) {
  return parse_ipv4({b.data(), b.size()}, out, verify);
}
Drop p4(const Bytes& b) {
  Ipv4Packet p;
  return p4(b, p);
}

TEST(ParseIpv4, GoodPacketFields) {
  Bytes b = good_v4();
  Ipv4Packet p;
  ASSERT_EQ(p4(b, p), Drop::kNone);
  EXPECT_EQ(p.hdr, b.data());
  EXPECT_EQ(p.ihl, 20u);
  EXPECT_EQ(p.total_length, 40u);
  EXPECT_EQ(p.avail, 40u);
  EXPECT_EQ(p.tos, 0xb8);
  EXPECT_EQ(p.ttl, 37);
  EXPECT_EQ(p.protocol, 17);
  EXPECT_EQ(p.id, 0xbeef);
  EXPECT_TRUE(p.df);
  EXPECT_FALSE(p.mf);
  EXPECT_EQ(p.frag_offset, 0u);
  EXPECT_FALSE(p.is_fragment());
  EXPECT_EQ(p.src.value, test::a4("198.51.100.2"));
  EXPECT_EQ(p.dst.value, test::a4("192.0.2.33"));
  EXPECT_EQ(p.payload(), b.data() + 20);
  EXPECT_EQ(p.payload_length(), 20u);
}

TEST(ParseIpv4, FragmentFields) {
  test::Ip4 h;
  h.src = 1;
  h.dst = 2;
  h.mf = true;
  h.frag_off = 8 * 0x1fff;  // largest offset
  Bytes b = test::ipv4(h, test::pattern(8));
  Ipv4Packet p;
  ASSERT_EQ(p4(b, p), Drop::kNone);
  EXPECT_TRUE(p.mf);
  EXPECT_FALSE(p.df);
  EXPECT_EQ(p.frag_offset, 8u * 0x1fffu);
  EXPECT_TRUE(p.is_fragment());
}

TEST(ParseIpv4, OptionsAndLinkPadding) {
  test::Ip4 h;
  h.src = 1;
  h.dst = 2;
  h.options = {1, 1, 1, 0};  // NOP NOP NOP EOL
  Bytes b = test::ipv4(h, test::pattern(10));
  b.insert(b.end(), 6, 0xee);  // Ethernet minimum-frame padding after total length
  Ipv4Packet p;
  ASSERT_EQ(p4(b, p), Drop::kNone);
  EXPECT_EQ(p.ihl, 24u);
  EXPECT_EQ(p.total_length, 34u);
  EXPECT_EQ(p.avail, 34u);
  EXPECT_EQ(p.payload_length(), 10u);
}

TEST(ParseIpv4, Truncated) {
  Bytes b = good_v4();
  EXPECT_EQ(p4(Bytes{}), Drop::kTruncated);
  EXPECT_EQ(p4(Bytes(b.begin(), b.begin() + 19)), Drop::kTruncated);
  // Total length says 40, only 39 present.
  EXPECT_EQ(p4(Bytes(b.begin(), b.end() - 1)), Drop::kTruncated);
}

TEST(ParseIpv4, BadVersion) {
  Bytes b = good_v4();
  for (int v : {0, 5, 6, 15}) {
    Bytes c = b;
    c[0] = static_cast<uint8_t>((v << 4) | 5);
    test::refresh_ipv4_checksum(c);
    EXPECT_EQ(p4(c), Drop::kBadVersion) << v;
  }
}

TEST(ParseIpv4, BadIhl) {
  for (int ihl : {0, 1, 4}) {
    Bytes c = good_v4();
    c[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(p4(c), Drop::kBadIhl) << ihl;
  }
}

TEST(ParseIpv4, IhlBeyondBuffer) {
  // IHL 15 (60 bytes) on a 40-byte packet: the header claims more than is there.
  Bytes c = good_v4();
  c[0] = 0x4f;
  EXPECT_EQ(p4(c), Drop::kTruncated);
}

TEST(ParseIpv4, TotalLengthBelowIhl) {
  Bytes c = good_v4();
  test::put16(c, 2, 19);
  test::refresh_ipv4_checksum(c);
  EXPECT_EQ(p4(c), Drop::kBadTotalLength);
  // With options: total length 22 < IHL 24.
  test::Ip4 h;
  h.options = {1, 1, 1, 1};
  Bytes d = test::ipv4(h, test::pattern(8));
  test::put16(d, 2, 22);
  test::refresh_ipv4_checksum(d);
  EXPECT_EQ(p4(d), Drop::kBadTotalLength);
}

TEST(ParseIpv4, TotalLengthBeyondBuffer) {
  Bytes c = good_v4();
  test::put16(c, 2, static_cast<uint16_t>(c.size() + 1));
  test::refresh_ipv4_checksum(c);
  EXPECT_EQ(p4(c), Drop::kTruncated);
}

TEST(ParseIpv4, BadHeaderChecksum) {
  Bytes c = good_v4();
  c[10] ^= 0x01;
  EXPECT_EQ(p4(c), Drop::kBadIpv4Checksum);
  Ipv4Packet p;
  EXPECT_EQ(p4(c, p, false), Drop::kNone);  // not verified when told not to
  // A checksum error elsewhere in the header.
  Bytes d = good_v4();
  d[8] = 38;  // TTL changed, checksum not refreshed
  EXPECT_EQ(p4(d), Drop::kBadIpv4Checksum);
}

TEST(ParseIpv4Inner, PayloadMayBeCut) {
  Bytes b = good_v4(100);
  Bytes cut(b.begin(), b.begin() + 28);  // header + UDP header only, as in an ICMP error
  Ipv4Packet p;
  ASSERT_EQ(parse_ipv4_inner({cut.data(), cut.size()}, p), Drop::kNone);
  EXPECT_EQ(p.total_length, 128u);
  EXPECT_EQ(p.avail, 28u);
  EXPECT_EQ(p.payload_avail(), 8u);
  // Outer parsing refuses the same bytes.
  EXPECT_EQ(p4(cut), Drop::kTruncated);
  // The header itself must still be whole and sane.
  Bytes h(b.begin(), b.begin() + 19);
  EXPECT_EQ(parse_ipv4_inner({h.data(), h.size()}, p), Drop::kTruncated);
  Bytes v = cut;
  v[0] = 0x65;
  EXPECT_EQ(parse_ipv4_inner({v.data(), v.size()}, p), Drop::kBadVersion);
}

// --- IPv6 -------------------------------------------------------------------------

test::Ip6 hdr6(uint8_t next) {
  test::Ip6 h;
  h.src = test::a6("2001:db8::1");
  h.dst = test::a6("64:ff9b::192.0.2.33");
  h.tc = 0xa5;
  h.flow = 0xabcde;
  h.hlim = 9;
  h.next = next;
  return h;
}

Bytes chain(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const auto& p : parts) test::append(b, p);
  return b;
}

Drop p6(const Bytes& b, Ipv6Packet& out) {
  return parse_ipv6({b.data(), b.size()}, out);
}
Drop p6(const Bytes& b) {
  Ipv6Packet p;
  return p6(b, p);
}

TEST(ParseIpv6, GoodPacketFields) {
  Bytes b = test::v6_packet(hdr6(test::kUdp), test::udp(1, 2, test::pattern(10)));
  b.push_back(0);  // trailing bytes past the payload length are ignored
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_EQ(p.payload_length, 18u);
  EXPECT_EQ(p.avail, 58u);
  EXPECT_EQ(p.traffic_class, 0xa5);
  EXPECT_EQ(p.flow_label, 0xabcdeu);
  EXPECT_EQ(p.hop_limit, 9);
  EXPECT_EQ(p.src.bytes, test::a6("2001:db8::1"));
  EXPECT_EQ(p.dst.bytes, test::a6("64:ff9b::192.0.2.33"));
  EXPECT_EQ(p.protocol, test::kUdp);
  EXPECT_EQ(p.l4_offset, 40u);
  EXPECT_EQ(p.l4_length(), 18u);
  EXPECT_FALSE(p.has_frag);
  EXPECT_FALSE(p.is_fragment());
  EXPECT_EQ(p.segments_left_offset, 0u);
  EXPECT_FALSE(p.ext_after_frag);
}

TEST(ParseIpv6, EmptyPayloadIsNotJumbo) {
  test::Ip6 h = hdr6(59);  // No Next Header
  Bytes b = test::ipv6(h, {});
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_EQ(p.protocol, 59);
  EXPECT_EQ(p.l4_length(), 0u);
}

TEST(ParseIpv6, ExtensionChain) {
  // HBH(8) -> DestOpts(16) -> Routing(SL=0, 24) -> UDP
  Bytes pl = chain({test::ext_header(test::kDestOpts), test::ext_header(test::kRouting, 1),
                    test::routing_header(test::kUdp, 0), test::udp(1, 2, test::pattern(4))});
  Bytes b = test::ipv6(hdr6(test::kHbh), pl);
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_EQ(p.protocol, test::kUdp);
  EXPECT_EQ(p.l4_offset, 40u + 8 + 16 + 24);
  EXPECT_EQ(p.l4_length(), 12u);
  EXPECT_EQ(p.segments_left_offset, 0u);
}

TEST(ParseIpv6, AuthenticationHeaderLengthIn4ByteUnits) {
  // RFC 4302 2.2: AH Payload Len is in 32-bit words, minus 2. 4 -> 24 bytes.
  Bytes ah(24, 0);
  ah[0] = test::kUdp;
  ah[1] = 4;
  Bytes b = test::ipv6(hdr6(51), chain({ah, test::udp(1, 2, {})}));
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_EQ(p.l4_offset, 64u);
  EXPECT_EQ(p.protocol, test::kUdp);
}

TEST(ParseIpv6, Truncated) {
  Bytes b = test::v6_packet(hdr6(test::kUdp), test::udp(1, 2, test::pattern(10)));
  EXPECT_EQ(p6(Bytes(b.begin(), b.begin() + 39)), Drop::kTruncated);
  EXPECT_EQ(p6(Bytes(b.begin(), b.end() - 1)), Drop::kTruncated);  // payload length beyond the buffer
}

TEST(ParseIpv6, BadVersion) {
  Bytes b = test::v6_packet(hdr6(test::kUdp), test::udp(1, 2, test::pattern(10)));
  b[0] = static_cast<uint8_t>(0x40 | (b[0] & 0x0f));
  EXPECT_EQ(p6(b), Drop::kBadVersion);
}

TEST(ParseIpv6, JumbogramRefused) {
  // RFC 2675: payload length 0 with a Hop-by-Hop header carrying the Jumbo option.
  Bytes hbh(8, 0);
  hbh[0] = test::kUdp;
  hbh[2] = 0xc2;  // Jumbo Payload option
  hbh[3] = 4;
  test::put32(hbh, 4, 70000);
  Bytes b = test::ipv6(hdr6(test::kHbh), hbh);
  test::put16(b, 4, 0);
  EXPECT_EQ(p6(b), Drop::kBadPayloadLength);
}

TEST(ParseIpv6, HopByHopNotFirst) {
  Bytes b = test::ipv6(hdr6(test::kDestOpts),
                       chain({test::ext_header(test::kHbh), test::ext_header(test::kUdp), test::udp(1, 2, {})}));
  EXPECT_EQ(p6(b), Drop::kBadExtHeader);
}

TEST(ParseIpv6, TruncatedExtensionHeader) {
  // Destination Options claiming 16 bytes with 8 present.
  Bytes d = test::ext_header(test::kUdp, 1);
  d.resize(8);
  EXPECT_EQ(p6(test::ipv6(hdr6(test::kDestOpts), d)), Drop::kBadExtHeader);
  // Only one byte of an extension header.
  EXPECT_EQ(p6(test::ipv6(hdr6(test::kRouting), Bytes{17})), Drop::kBadExtHeader);
  // Fragment header cut to 6 bytes.
  Bytes f = test::frag_header(test::kUdp, 0, false, 1);
  f.resize(6);
  EXPECT_EQ(p6(test::ipv6(hdr6(test::kFrag), f)), Drop::kBadExtHeader);
  // Missing entirely (payload length 0, next header says DestOpts).
  EXPECT_EQ(p6(test::ipv6(hdr6(test::kDestOpts), {})), Drop::kBadExtHeader);
}

TEST(ParseIpv6, ExtensionHeaderLimit) {
  // kMaxExtHeaders Destination Options headers are fine, one more is not.
  auto build = [](unsigned n) {
    Bytes pl;
    for (unsigned i = 0; i < n; ++i) test::append(pl, test::ext_header(i + 1 == n ? test::kUdp : test::kDestOpts));
    test::append(pl, test::udp(1, 2, {}));
    return test::ipv6(hdr6(test::kDestOpts), pl);
  };
  Ipv6Packet p;
  ASSERT_EQ(p6(build(kMaxExtHeaders), p), Drop::kNone);
  EXPECT_EQ(p.l4_offset, 40u + 8 * kMaxExtHeaders);
  EXPECT_EQ(p6(build(kMaxExtHeaders + 1)), Drop::kTooManyExtHeaders);
  EXPECT_EQ(p6(build(40)), Drop::kTooManyExtHeaders);
}

TEST(ParseIpv6, FragmentHeaderFields) {
  Bytes b = test::ipv6(hdr6(test::kFrag),
                       chain({test::frag_header(test::kUdp, 0, true, 0xdeadbeef), test::udp(1, 2, test::pattern(16))}));
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_TRUE(p.has_frag);
  EXPECT_EQ(p.frag_header_offset, 40u);
  EXPECT_EQ(p.frag_id, 0xdeadbeefu);
  EXPECT_EQ(p.frag_offset, 0u);
  EXPECT_TRUE(p.mf);
  EXPECT_TRUE(p.is_fragment());
  EXPECT_EQ(p.protocol, test::kUdp);
  EXPECT_EQ(p.l4_offset, 48u);

  // An "atomic fragment": offset 0, M clear. Has a header, is no fragment.
  Bytes a = test::ipv6(hdr6(test::kFrag), chain({test::frag_header(test::kUdp, 0, false, 7), test::udp(1, 2, {})}));
  ASSERT_EQ(p6(a, p = {}), Drop::kNone);
  EXPECT_TRUE(p.has_frag);
  EXPECT_FALSE(p.is_fragment());
}

TEST(ParseIpv6, NonFirstFragmentStopsTheWalk) {
  // What follows a non-first fragment's header is opaque data, even if it
  // looks like a (truncated) extension header.
  Bytes junk = {0x3c, 0xff, 0, 0};  // "DestOpts of 2048 bytes", truncated
  Bytes b = test::ipv6(hdr6(test::kFrag), chain({test::frag_header(test::kDestOpts, 1232, false, 5), junk}));
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_EQ(p.frag_offset, 1232u);
  EXPECT_FALSE(p.mf);
  EXPECT_TRUE(p.is_fragment());
  EXPECT_EQ(p.protocol, test::kDestOpts);
  EXPECT_EQ(p.l4_offset, 48u);
  EXPECT_FALSE(p.ext_after_frag);
}

TEST(ParseIpv6, RoutingHeaderWithSegmentsLeft) {
  Bytes b =
      test::ipv6(hdr6(test::kDestOpts),
                 chain({test::ext_header(test::kRouting), test::routing_header(test::kUdp, 3), test::udp(1, 2, {})}));
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_EQ(p.segments_left_offset, 40u + 8 + 3);  // the Segments Left byte
  EXPECT_EQ(p.protocol, test::kUdp);
}

TEST(ParseIpv6, ExtensionHeaderAfterFragment) {
  Bytes b = test::ipv6(hdr6(test::kFrag), chain({test::frag_header(test::kDestOpts, 0, true, 5),
                                                 test::ext_header(test::kUdp), test::udp(1, 2, {})}));
  Ipv6Packet p;
  ASSERT_EQ(p6(b, p), Drop::kNone);
  EXPECT_TRUE(p.ext_after_frag);
  EXPECT_EQ(p.protocol, test::kDestOpts);
  EXPECT_EQ(p.l4_offset, 48u);
  // A second Fragment header counts too.
  Bytes c = test::ipv6(hdr6(test::kFrag), chain({test::frag_header(test::kFrag, 0, false, 5),
                                                 test::frag_header(test::kUdp, 0, false, 6), test::udp(1, 2, {})}));
  ASSERT_EQ(p6(c, p = {}), Drop::kNone);
  EXPECT_TRUE(p.ext_after_frag);
}

TEST(ParseIpv6Inner, CutPayloadIsAccepted) {
  Bytes b = test::v6_packet(hdr6(test::kUdp), test::udp(1, 2, test::pattern(200)));
  Bytes cut(b.begin(), b.begin() + 48);
  Ipv6Packet p;
  ASSERT_EQ(parse_ipv6_inner({cut.data(), cut.size()}, p), Drop::kNone);
  EXPECT_EQ(p.payload_length, 208u);
  EXPECT_EQ(p.avail, 48u);
  EXPECT_EQ(p.l4_avail(), 8u);
  EXPECT_EQ(p.l4_length(), 208u);
  EXPECT_EQ(p6(cut), Drop::kTruncated);
  Bytes h(b.begin(), b.begin() + 39);
  EXPECT_EQ(parse_ipv6_inner({h.data(), h.size()}, p), Drop::kTruncated);
}

}  // namespace
}  // namespace edge46::net
