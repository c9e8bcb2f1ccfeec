// RFC 2473 4in6 tunnel step (xlat/encap.h). Every expected packet is built
// with the independent packet builder (tests/support/packet_builder.h):
// header checksums from scratch, fragments by a naive RFC 791 cutter below,
// the RFC 6040 decapsulation table transcribed from its Figure 4. The only
// values taken from the output are the ones the contract leaves to the
// implementation (the flow label's hash value, the IPv4 Identification of a
// generated ICMPv4 error); their properties are tested on their own.
#include "xlat/encap.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "core/drop_reason.h"
#include "support/packet_builder.h"

namespace edge46::xlat {
namespace {

using namespace edge46::test;  // NOLINT
using core::Drop;

constexpr const char* kClient = "192.0.2.10";                  // IPv4 host behind the ingress PE
constexpr const char* kServer = "198.51.100.7";                // IPv4 host behind the egress PE
constexpr const char* kOwn4 = "192.0.2.254";                   // the PE's own IPv4 address
constexpr const char* kOuterSrc = "2001:db8:1::192.0.2.10";    // Pref6(ingress) + client
constexpr const char* kOuterDst = "2001:db8:2::198.51.100.7";  // Pref6(egress) + server
constexpr const char* kCoreRouter = "2001:db8:ffff::1";        // a P router in the IPv6-only core
constexpr uint8_t kIpip = 4;

Ip4 client_hdr(uint8_t proto = kUdp) {
  Ip4 h;
  h.src = a4(kClient);
  h.dst = a4(kServer);
  h.proto = proto;
  h.ttl = 64;
  h.id = 0x4242;
  return h;
}

Bytes with_ttl(Ip4 h, uint8_t ttl, const Bytes& seg) {
  h.ttl = ttl;
  return ipv4(h, seg);  // header checksum from scratch
}

// The outer header the ingress PE must write around `inner` (flow label given).
Bytes outer(const Bytes& inner, uint8_t tc, uint32_t flow, uint8_t hlim = 64) {
  Ip6 h;
  h.src = a6(kOuterSrc);
  h.dst = a6(kOuterDst);
  h.tc = tc;
  h.flow = flow;
  h.hlim = hlim;
  h.next = kIpip;
  return ipv6(h, inner);
}

uint32_t flow_of(std::span<const uint8_t> p) {
  return get32(p, 0) & 0xfffff;
}

class EncapTest : public ::testing::Test {
 protected:
  Config cfg = [] {
    Config c;
    c.own_ipv4 = net::Ipv4Addr{a4(kOwn4)};
    return c;
  }();
  WorkerState ws;
  std::unique_ptr<Output> out = std::make_unique<Output>();
  EncapParams prm = [] {
    EncapParams p;
    p.src = net::Ipv6Addr{a6(kOuterSrc)};
    p.dst = net::Ipv6Addr{a6(kOuterDst)};
    p.hop_limit = 64;
    p.tunnel_mtu = 1460;
    return p;
  }();
  DecapExpect expect{net::Ipv4Addr{a4(kClient)}, net::Ipv4Addr{a4(kServer)}};

  Verdict encap(const Bytes& in) {
    const Bytes copy = in;
    Verdict v = encapsulate_46(cfg, ws, prm, {in.data(), in.size()}, *out);
    EXPECT_EQ(in, copy) << "input modified";
    return v;
  }
  Verdict decap(const Bytes& in) {
    const Bytes copy = in;
    Verdict v = decapsulate_64(cfg, ws, expect, {in.data(), in.size()}, *out);
    EXPECT_EQ(in, copy) << "input modified";
    return v;
  }
  Verdict tunnel_error(const Bytes& in, TunnelError& learned) {
    return tunnel_icmp6_error(cfg, ws, {in.data(), in.size()}, *out, learned);
  }
  Bytes pkt(std::size_t i = 0) const {
    auto s = out->packet(i);
    return Bytes(s.begin(), s.end());
  }

  // Encapsulates and checks one output packet byte for byte against the
  // builder's outer(with_ttl(h, ttl - 1)); returns its flow label.
  uint32_t expect_encap(const Ip4& h, const Bytes& seg) {
    const Bytes in = ipv4(h, seg);
    const Verdict v = encap(in);
    EXPECT_EQ(v.outcome, Outcome::kEncapsulated);
    EXPECT_EQ(v.reason, Drop::kNone);
    EXPECT_EQ(out->count, 1u);
    if (out->count != 1) return 0;
    EXPECT_EQ(out->packets[0].family, Family::kV6);
    const Bytes got = pkt();
    const uint32_t flow = flow_of(got);
    EXPECT_NE(flow, 0u) << "RFC 6437: 0 means no flow label";
    EXPECT_EQ(got, outer(with_ttl(h, static_cast<uint8_t>(h.ttl - 1), seg), h.tos, flow));
    EXPECT_TRUE(ipv4_header_valid(std::span<const uint8_t>(got).subspan(40)));
    return flow;
  }
};

// --- encapsulation ------------------------------------------------------------

TEST_F(EncapTest, UdpByteExact) {
  Bytes seg = udp(40000, 53, pattern(100));
  fill_csum4(seg, kUdp, a4(kClient), a4(kServer));
  expect_encap(client_hdr(kUdp), seg);
  // Outer fields spelled out once.
  const Bytes got = pkt();
  EXPECT_EQ(got[0] >> 4, 6);
  EXPECT_EQ(get16(got, 4), 20u + 108u);  // Payload Length = inner total length
  EXPECT_EQ(got[6], kIpip);              // Next Header 4
  EXPECT_EQ(got[7], 64);                 // Hop Limit
  EXPECT_EQ(str6(got, 8), "2001:db8:1::c000:20a");
  EXPECT_EQ(str6(got, 24), "2001:db8:2::c633:6407");
  EXPECT_EQ(got[40 + 8], 63);  // inner TTL - 1
}

TEST_F(EncapTest, TcpAndIcmpEchoByteExact) {
  Bytes t = tcp(40000, 443, 1000, pattern(300));
  fill_csum4(t, kTcp, a4(kClient), a4(kServer));
  expect_encap(client_hdr(kTcp), t);
  Bytes e = icmp(8, 0, 0x12340001, pattern(56));
  fill_csum4(e, kIcmp, 0, 0);
  Ip4 h = client_hdr(kIcmp);
  h.df = true;
  h.ttl = 2;  // the lowest TTL that is still forwarded
  expect_encap(h, e);
  EXPECT_EQ(pkt()[40 + 8], 1);
}

TEST_F(EncapTest, HopLimitAndTrafficClass) {
  prm.hop_limit = 17;
  Ip4 h = client_hdr();
  h.tos = 0xb9;  // DSCP EF (46), ECN ECT(1): RFC 6040 normal mode copies both
  const Bytes in = ipv4(h, udp(1, 2, pattern(10)));
  ASSERT_EQ(encap(in).outcome, Outcome::kEncapsulated);
  const Bytes got = pkt();
  EXPECT_EQ(got[7], 17);
  EXPECT_EQ((get32(got, 0) >> 20) & 0xff, 0xb9u);
  h.tos = 0x03;  // CE is copied too (normal mode)
  ASSERT_EQ(encap(ipv4(h, udp(1, 2, pattern(10)))).outcome, Outcome::kEncapsulated);
  EXPECT_EQ((get32(pkt(), 0) >> 20) & 0xff, 0x03u);
}

TEST_F(EncapTest, FlowLabelPerFlow) {
  auto label = [&](Ip4 h, const Bytes& seg) {
    EXPECT_EQ(encap(ipv4(h, seg)).outcome, Outcome::kEncapsulated);
    return flow_of(pkt());
  };
  Ip4 h = client_hdr();
  const uint32_t a1 = label(h, udp(40000, 53, pattern(20)));
  h.id = 0x9999;  // another packet of the same flow: other ID, TTL, TOS, payload
  h.ttl = 9;
  h.tos = 0x20;
  const uint32_t a2 = label(h, udp(40000, 53, pattern(700, 3)));
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, 0u);
  // Other flows: another source port, destination port, protocol, address.
  std::set<uint32_t> labels{a1};
  labels.insert(label(client_hdr(), udp(40001, 53, pattern(20))));
  labels.insert(label(client_hdr(), udp(40000, 54, pattern(20))));
  labels.insert(label(client_hdr(kTcp), tcp(40000, 53, 1, pattern(20))));
  Ip4 other = client_hdr();
  other.dst = a4("198.51.100.8");
  labels.insert(label(other, udp(40000, 53, pattern(20))));
  EXPECT_EQ(labels.size(), 5u);
}

TEST_F(EncapTest, FlowLabelOfFragmentsIgnoresTheirPayload) {
  // Two fragments of one datagram (first with ports, second without) get the
  // same label: addresses and protocol only.
  Ip4 h = client_hdr();
  h.mf = true;
  ASSERT_EQ(encap(ipv4(h, udp(40000, 53, pattern(100)))).outcome, Outcome::kEncapsulated);
  const uint32_t first = flow_of(pkt());
  h.mf = false;
  h.frag_off = 104;
  ASSERT_EQ(encap(ipv4(h, pattern(40))).outcome, Outcome::kEncapsulated);
  EXPECT_EQ(flow_of(pkt()), first);
  EXPECT_NE(first, 0u);
}

// --- the PE as an IPv4 router: TTL and size ------------------------------------------

// The ICMPv4 error the PE must send (from its own address, TTL 64, TOS 0)
// quoting `offending` up to 576 bytes in all (RFC 1812 4.3.2.3). The
// Identification is the PE's own choice and is taken from `got`.
Bytes expected_icmp4(const Bytes& got, uint8_t type, uint8_t code, uint32_t rest, const char* dst,
                     const Bytes& offending) {
  Ip4 h;
  h.src = a4(kOwn4);
  h.dst = a4(dst);
  h.proto = kIcmp;
  h.ttl = 64;
  h.id = get16(got, 4);
  const std::size_t quote = std::min<std::size_t>(offending.size(), 576 - 28);
  return v4_packet(h, icmp(type, code, rest, slice(offending, 0, quote)));
}

TEST_F(EncapTest, TtlOneGetsTimeExceeded) {
  Ip4 h = client_hdr();
  h.ttl = 1;
  const Bytes in = ipv4(h, udp(40000, 53, pattern(30)));
  const Verdict v = encap(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 11, 0, 0, kClient, in));

  h.ttl = 0;
  EXPECT_EQ(encap(ipv4(h, udp(1, 2, {}))).reason, Drop::kTtlExceeded);
  cfg.own_ipv4.reset();  // nothing to answer from: dropped with the same reason
  const Verdict d = encap(in);
  EXPECT_EQ(d.outcome, Outcome::kDropped);
  EXPECT_EQ(d.reason, Drop::kTtlExceeded);
  EXPECT_EQ(out->count, 0u);
}

TEST_F(EncapTest, DfTooBigGetsFragNeededWithTunnelMtu) {
  prm.tunnel_mtu = 1400;
  Ip4 h = client_hdr();
  h.df = true;
  Bytes seg = udp(40000, 53, pattern(1401 - 28));  // inner 1401 bytes
  fill_csum4(seg, kUdp, h.src, h.dst);
  const Bytes in = ipv4(h, seg);
  const Verdict v = encap(in);
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kFragNeeded);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 3, 4, 1400, kClient, in));  // next-hop MTU = tunnel MTU
  EXPECT_EQ(pkt().size(), 576u);
  // Exactly the tunnel MTU passes.
  seg = udp(40000, 53, pattern(1400 - 28));
  fill_csum4(seg, kUdp, h.src, h.dst);
  expect_encap(h, seg);
}

// Naive RFC 791 3.2 cutter for the expectations: the first fragment keeps
// all options, the later ones the copied options padded to 4 bytes; data in
// multiples of 8 but the last.
std::vector<Bytes> naive_fragments(Ip4 h, const Bytes& data, std::size_t mtu, const Bytes& later_options) {
  std::vector<Bytes> v;
  std::size_t off = 0;
  const uint16_t base = h.frag_off;
  const bool orig_mf = h.mf;
  bool first = true;
  while (off < data.size()) {
    Ip4 f = h;
    if (!first) f.options = later_options;
    const std::size_t hl = 20 + f.options.size();
    const std::size_t n = std::min((mtu - hl) / 8 * 8, data.size() - off);
    f.frag_off = static_cast<uint16_t>(base + off);
    f.mf = off + n < data.size() || orig_mf;
    v.push_back(ipv4(f, slice(data, off, n)));
    off += n;
    first = false;
  }
  return v;
}

TEST_F(EncapTest, DfClearIsFragmentedBeforeEncapsulation) {
  prm.tunnel_mtu = 1400;
  Ip4 h = client_hdr();
  // Options: Router Alert (type 148, copied flag set), then Record Route
  // (type 7, not copied) with one empty slot, then End of Option List.
  h.options = {148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0};
  Bytes seg = udp(40000, 5000, pattern(3000 - 8));
  fill_csum4(seg, kUdp, h.src, h.dst);
  const Bytes in = ipv4(h, seg);
  ASSERT_EQ(in.size(), 3032u);
  const Verdict v = encap(in);
  ASSERT_EQ(v.outcome, Outcome::kEncapsulated);
  ASSERT_EQ(v.reason, Drop::kNone);

  Ip4 want = h;
  want.ttl = 63;
  const auto frags = naive_fragments(want, seg, 1400, Bytes{148, 4, 0, 0});
  ASSERT_EQ(out->count, frags.size());
  ASSERT_EQ(frags.size(), 3u);
  const uint32_t flow = flow_of(pkt(0));
  Bytes reassembled;
  for (std::size_t i = 0; i < frags.size(); ++i) {
    const Bytes got = pkt(i);
    EXPECT_EQ(out->packets[i].family, Family::kV6);
    EXPECT_LE(got.size() - 40, 1400u) << i;
    EXPECT_EQ(flow_of(got), flow) << "one datagram, one label";
    EXPECT_EQ(got, outer(frags[i], h.tos, flow)) << "fragment " << i;
    const auto inner = std::span<const uint8_t>(got).subspan(40);
    EXPECT_TRUE(ipv4_header_valid(inner));
    EXPECT_EQ(get16(inner, 4), 0x4242);  // same Identification
    EXPECT_EQ(get16(inner, 6) & 0x4000, 0);
    const auto ihl = ihl_of(inner);
    EXPECT_EQ(ihl, i == 0 ? 32u : 24u);
    append(reassembled, inner.subspan(ihl));
  }
  EXPECT_EQ(reassembled, seg);
  // The label is the unfragmented flow's: the same flow below the MTU.
  ASSERT_EQ(encap(ipv4(h, udp(40000, 5000, pattern(10)))).outcome, Outcome::kEncapsulated);
  EXPECT_EQ(flow_of(pkt()), flow);
}

TEST_F(EncapTest, NonLastFragmentKeepsMfOnItsLastPiece) {
  prm.tunnel_mtu = 1000;
  Ip4 h = client_hdr();
  h.mf = true;
  h.frag_off = 1480;
  const Bytes data = pattern(1480, 9);
  ASSERT_EQ(encap(ipv4(h, data)).outcome, Outcome::kEncapsulated);
  Ip4 want = h;
  want.ttl = 63;
  const auto frags = naive_fragments(want, data, 1000, {});
  ASSERT_EQ(out->count, frags.size());
  for (std::size_t i = 0; i < frags.size(); ++i) {
    EXPECT_EQ(pkt(i), outer(frags[i], 0, flow_of(pkt(i)))) << i;
    EXPECT_TRUE(get16(pkt(i), 40 + 6) & 0x2000) << "MF on piece " << i;
  }
  EXPECT_EQ(get16(pkt(0), 40 + 6) & 0x1fff, 1480 / 8);
}

TEST_F(EncapTest, TinyTunnelMtuNeedsTooManyPieces) {
  prm.tunnel_mtu = 20;  // counts as 68: 48 data bytes a piece
  const Bytes in = ipv4(client_hdr(), pattern(60000));
  const Verdict v = encap(in);
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTooManyFragments);
  EXPECT_EQ(out->count, 0u);
  // 64 pieces of 48 bytes do fit.
  ASSERT_EQ(encap(ipv4(client_hdr(), pattern(64 * 48))).outcome, Outcome::kEncapsulated);
  EXPECT_EQ(out->count, 64u);
  EXPECT_EQ(pkt(63).size(), 40u + 68u);
}

TEST_F(EncapTest, MalformedInputGetsTheParserReasons) {
  const Bytes good = ipv4(client_hdr(), udp(1, 2, pattern(20)));
  EXPECT_EQ(encap(slice(good, 0, 19)).reason, Drop::kTruncated);
  EXPECT_EQ(encap(slice(good, 0, good.size() - 1)).reason, Drop::kTruncated);
  Bytes bad = good;
  bad[10] ^= 1;
  EXPECT_EQ(encap(bad).reason, Drop::kBadIpv4Checksum);
  bad = good;
  bad[0] = 0x65;
  EXPECT_EQ(encap(bad).reason, Drop::kBadVersion);
  bad = good;
  bad[0] = 0x44;
  EXPECT_EQ(encap(bad).reason, Drop::kBadIhl);
  EXPECT_EQ(out->count, 0u);
  // Link padding past Total Length is not encapsulated.
  Bytes padded = good;
  padded.resize(good.size() + 6, 0);
  ASSERT_EQ(encap(padded).outcome, Outcome::kEncapsulated);
  EXPECT_EQ(pkt().size(), 40 + good.size());
}

// --- decapsulation ------------------------------------------------------------------

// What the egress PE receives: an inner packet as the ingress sent it.
Bytes tunnel_packet(const Bytes& inner, uint8_t tc = 0, std::span<const uint8_t> ext = {}, uint8_t first_next = kIpip) {
  Ip6 h;
  h.src = a6(kOuterSrc);
  h.dst = a6(kOuterDst);
  h.tc = tc;
  h.flow = 0x12345;
  h.hlim = 50;
  h.next = first_next;
  Bytes payload(ext.begin(), ext.end());
  append(payload, inner);
  return ipv6(h, payload);
}

TEST_F(EncapTest, DecapByteExact) {
  Bytes seg = udp(53, 40000, pattern(200));
  Ip4 h = client_hdr();
  h.tos = 0x28;
  fill_csum4(seg, kUdp, h.src, h.dst);
  const Verdict v = decap(tunnel_packet(ipv4(h, seg), 0x28));
  EXPECT_EQ(v.outcome, Outcome::kDecapsulated);
  EXPECT_EQ(v.reason, Drop::kNone);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
  EXPECT_EQ(pkt(), with_ttl(h, 63, seg));
}

TEST_F(EncapTest, DecapAfterPermittedExtensionHeaders) {
  const Bytes inner = ipv4(client_hdr(), udp(1, 2, pattern(40)));
  const Bytes want = with_ttl(client_hdr(), 63, udp(1, 2, pattern(40)));
  // Destination Options (a tunnel encapsulation limit would live there).
  ASSERT_EQ(decap(tunnel_packet(inner, 0, ext_header(kIpip), kDestOpts)).outcome, Outcome::kDecapsulated);
  EXPECT_EQ(pkt(), want);
  // Hop-by-Hop, then Destination Options.
  Bytes chain = ext_header(kDestOpts);
  append(chain, ext_header(kIpip, 1));
  ASSERT_EQ(decap(tunnel_packet(inner, 0, chain, kHbh)).outcome, Outcome::kDecapsulated);
  EXPECT_EQ(pkt(), want);
  // An atomic fragment (offset 0, M 0) is a whole packet (RFC 6946).
  ASSERT_EQ(decap(tunnel_packet(inner, 0, frag_header(kIpip, 0, false, 77), kFrag)).outcome, Outcome::kDecapsulated);
  EXPECT_EQ(pkt(), want);
  // A Routing header with segments left is not for us yet.
  EXPECT_EQ(decap(tunnel_packet(inner, 0, routing_header(kIpip, 1), kRouting)).reason, Drop::kSegmentsLeft);
}

TEST_F(EncapTest, DecapRefusesFragmentedOuter) {
  const Bytes inner = ipv4(client_hdr(), udp(1, 2, pattern(40)));
  Verdict v = decap(tunnel_packet(inner, 0, frag_header(kIpip, 0, true, 77), kFrag));
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kDecapFragmented);
  v = decap(tunnel_packet(slice(inner, 0, 16), 0, frag_header(kIpip, 64, false, 77), kFrag));
  EXPECT_EQ(v.reason, Drop::kDecapFragmented);
  EXPECT_EQ(out->count, 0u);
}

TEST_F(EncapTest, DecapRefusesOtherPayloads) {
  const Bytes inner = ipv4(client_hdr(), udp(1, 2, pattern(40)));
  // Next Header 41 (IPv6 in IPv6) or UDP is not a 4in6 packet.
  EXPECT_EQ(decap(tunnel_packet(inner, 0, {}, 41)).reason, Drop::kDecapNot4in6);
  EXPECT_EQ(decap(tunnel_packet(inner, 0, {}, kUdp)).reason, Drop::kDecapNot4in6);
  // Inner packet truncated, longer than the outer payload, shorter (padding
  // inside the tunnel), with a bad header checksum, not IPv4.
  EXPECT_EQ(decap(tunnel_packet(slice(inner, 0, 19))).reason, Drop::kDecapBadInner);
  EXPECT_EQ(decap(tunnel_packet(slice(inner, 0, inner.size() - 1))).reason, Drop::kDecapBadInner);
  Bytes longer = inner;
  longer.push_back(0);
  EXPECT_EQ(decap(tunnel_packet(longer)).reason, Drop::kDecapBadInner);
  Bytes bad = inner;
  bad[12] ^= 1;
  EXPECT_EQ(decap(tunnel_packet(bad)).reason, Drop::kDecapBadInner);
  bad = inner;
  bad[0] = 0x65;
  EXPECT_EQ(decap(tunnel_packet(bad)).reason, Drop::kDecapBadInner);
  // The outer itself truncated.
  const Bytes whole = tunnel_packet(inner);
  EXPECT_EQ(decap(slice(whole, 0, 39)).reason, Drop::kTruncated);
  EXPECT_EQ(decap(slice(whole, 0, whole.size() - 1)).reason, Drop::kTruncated);
  EXPECT_EQ(out->count, 0u);
}

TEST_F(EncapTest, DecapAddressMismatchIsSpoofing) {
  Ip4 h = client_hdr();
  h.src = a4("192.0.2.11");  // the outer source embeds .10
  EXPECT_EQ(decap(tunnel_packet(ipv4(h, udp(1, 2, {})))).reason, Drop::kDecapAddressMismatch);
  h = client_hdr();
  h.dst = a4("203.0.113.9");  // a destination the outer does not name
  EXPECT_EQ(decap(tunnel_packet(ipv4(h, udp(1, 2, {})))).reason, Drop::kDecapAddressMismatch);
  EXPECT_EQ(out->count, 0u);
}

// RFC 6040 section 4.2, Figure 4, transcribed: [inner][outer] with
// codepoints Not-ECT 0, ECT(1) 1, ECT(0) 2, CE 3; -1 = drop.
constexpr int kFigure4[4][4] = {
    // outer: Not-ECT  ECT(1)  ECT(0)  CE
    {0, 0, 0, -1},  // inner Not-ECT
    {1, 1, 1, 3},   // inner ECT(1)
    {2, 1, 2, 3},   // inner ECT(0)
    {3, 3, 3, 3},   // inner CE
};

TEST_F(EncapTest, DecapEcnFollowsRfc6040) {
  for (int in_ecn = 0; in_ecn < 4; ++in_ecn) {
    for (int out_ecn = 0; out_ecn < 4; ++out_ecn) {
      SCOPED_TRACE("inner ECN " + std::to_string(in_ecn) + " outer ECN " + std::to_string(out_ecn));
      Ip4 h = client_hdr();
      h.tos = static_cast<uint8_t>(0xb8 | in_ecn);  // DSCP EF inside, CS1 outside: the inner DSCP stays
      const Bytes seg = udp(1, 2, pattern(30));
      const Verdict v = decap(tunnel_packet(ipv4(h, seg), static_cast<uint8_t>(0x20 | out_ecn)));
      const int want = kFigure4[in_ecn][out_ecn];
      if (want < 0) {
        EXPECT_EQ(v.outcome, Outcome::kDropped);
        EXPECT_EQ(v.reason, Drop::kDecapEcnCeNotEct);
        EXPECT_EQ(out->count, 0u);
        continue;
      }
      ASSERT_EQ(v.outcome, Outcome::kDecapsulated);
      Ip4 w = h;
      w.tos = static_cast<uint8_t>(0xb8 | want);
      EXPECT_EQ(pkt(), with_ttl(w, 63, seg));
    }
  }
}

TEST_F(EncapTest, DecapTtlOneGetsTimeExceededToInnerSource) {
  Ip4 h = client_hdr();
  h.ttl = 1;
  const Bytes inner = ipv4(h, udp(40000, 53, pattern(30)));
  const Verdict v = decap(tunnel_packet(inner));
  EXPECT_EQ(v.outcome, Outcome::kIcmpError);
  EXPECT_EQ(v.reason, Drop::kTtlExceeded);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV4);  // out on the IPv4 side, routed back into the tunnel
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 11, 0, 0, kClient, inner));
}

// RFC 2473 3.1/3.3: one hop for the tunnel, but the PE at each end is an
// IPv4 router: TTL - 2 across the core, the rest intact.
TEST_F(EncapTest, RoundTripCostsTwoTtl) {
  Ip4 h = client_hdr(kTcp);
  h.tos = 0x02;  // ECT(0)
  h.df = true;
  h.options = {148, 4, 0, 0};
  Bytes seg = tcp(40000, 443, 77, pattern(900));
  fill_csum4(seg, kTcp, h.src, h.dst);
  const Bytes original = ipv4(h, seg);
  ASSERT_EQ(encap(original).outcome, Outcome::kEncapsulated);
  Bytes wire = pkt();
  wire[7] = 3;  // core routers spent outer hop limit
  ASSERT_EQ(decap(wire).outcome, Outcome::kDecapsulated);
  EXPECT_EQ(pkt(), with_ttl(h, 62, seg));
  EXPECT_TRUE(l4_valid4(pkt()));

  // A core router marks congestion on the outer header: the inner ECT(0)
  // packet leaves as CE (RFC 6040 4.2).
  ASSERT_EQ(encap(original).outcome, Outcome::kEncapsulated);
  wire = pkt();
  wire[1] |= 0x30;  // Traffic Class low bits = ECN: CE
  ASSERT_EQ(decap(wire).outcome, Outcome::kDecapsulated);
  Ip4 ce = h;
  ce.tos = 0x03;
  EXPECT_EQ(pkt(), with_ttl(ce, 62, seg));

  // A fragmented datagram round-trips piece by piece.
  prm.tunnel_mtu = 600;
  h.df = false;
  const Bytes big = ipv4(h, seg);
  ASSERT_EQ(encap(big).outcome, Outcome::kEncapsulated);
  const std::size_t n = out->count;
  ASSERT_GT(n, 1u);
  std::vector<Bytes> pieces;
  for (std::size_t i = 0; i < n; ++i) pieces.push_back(pkt(i));
  Bytes data;
  for (const Bytes& p : pieces) {
    ASSERT_EQ(decap(p).outcome, Outcome::kDecapsulated);
    const Bytes d = pkt();
    EXPECT_EQ(d[8], 62);
    EXPECT_TRUE(ipv4_header_valid(d));
    append(data, slice(d, ihl_of(d), d.size() - ihl_of(d)));
  }
  EXPECT_EQ(data, seg);
}

// --- ICMPv6 errors from the core (RFC 2473 8) ------------------------------------------

// The 4in6 packet the ingress sent for `inner` (hop limit 64, label 0x54321).
Bytes sent_tunnel_packet(const Bytes& inner) {
  return outer(inner, 0, 0x54321);
}

// An ICMPv6 error from a core router to the ingress PE's outer source,
// quoting as much of `sent` as fits in 1280 bytes (RFC 4443 2.4 c).
Bytes core_error(uint8_t type, uint8_t code, uint32_t rest, const Bytes& sent) {
  Ip6 h;
  h.src = a6(kCoreRouter);
  h.dst = a6(kOuterSrc);
  h.next = kIcmp6;
  h.hlim = 60;
  return v6_packet(h, icmp(type, code, rest, slice(sent, 0, std::min<std::size_t>(sent.size(), 1280 - 48))));
}

Bytes big_inner(bool df, std::size_t size = 1400) {
  Ip4 h = client_hdr();
  h.df = df;
  h.ttl = 63;  // as the ingress sent it
  Bytes seg = udp(40000, 5000, pattern(size - 28));
  fill_csum4(seg, kUdp, h.src, h.dst);
  return ipv4(h, seg);
}

TEST_F(EncapTest, PacketTooBigBecomesFragNeededAndLowersTheTunnelMtu) {
  const Bytes inner = big_inner(true);
  const Bytes err = core_error(2, 0, 1300, sent_tunnel_packet(inner));
  EXPECT_TRUE(quotes_encapsulated(err));
  TunnelError learned;
  const Verdict v = tunnel_error(err, learned);
  EXPECT_EQ(v.outcome, Outcome::kTranslated);
  EXPECT_EQ(v.reason, Drop::kNone);
  EXPECT_TRUE(learned.pmtu);
  EXPECT_EQ(learned.egress, net::Ipv6Addr{a6(kOuterDst)});
  EXPECT_EQ(learned.mtu, 1260u);
  ASSERT_EQ(out->count, 1u);
  EXPECT_EQ(out->packets[0].family, Family::kV4);
  // The quote holds 1232 - 40 bytes of the inner packet; 548 of them fit.
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 3, 4, 1260, kClient, inner));
  EXPECT_EQ(pkt().size(), 576u);
}

TEST_F(EncapTest, PacketTooBigBelowTheIpv6MinimumCountsAs1280) {
  TunnelError learned;
  const Bytes inner = big_inner(true);
  ASSERT_EQ(tunnel_error(core_error(2, 0, 600, sent_tunnel_packet(inner)), learned).outcome, Outcome::kTranslated);
  EXPECT_EQ(learned.mtu, 1240u);
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 3, 4, 1240, kClient, inner));
  // A "too big" report for a packet that fitted is not credible.
  const Bytes small = big_inner(true, 1000);
  const Verdict v = tunnel_error(core_error(2, 0, 1280, sent_tunnel_packet(small)), learned);
  EXPECT_EQ(v.reason, Drop::kTunnelErrorNotRelayed);
  EXPECT_FALSE(learned.pmtu);
  EXPECT_EQ(out->count, 0u);
}

TEST_F(EncapTest, PacketTooBigForDfClearOnlyTeaches) {
  TunnelError learned;
  const Verdict v = tunnel_error(core_error(2, 0, 1300, sent_tunnel_packet(big_inner(false))), learned);
  EXPECT_EQ(v.outcome, Outcome::kDropped);
  EXPECT_EQ(v.reason, Drop::kTunnelPtbDfClear);
  EXPECT_EQ(out->count, 0u);
  EXPECT_TRUE(learned.pmtu);
  EXPECT_EQ(learned.mtu, 1260u);
  // And the next packet of that flow is cut to the learned MTU.
  prm.tunnel_mtu = learned.mtu;
  Ip4 h = client_hdr();
  ASSERT_EQ(encap(ipv4(h, pattern(1400 - 20))).outcome, Outcome::kEncapsulated);
  EXPECT_EQ(out->count, 2u);
  EXPECT_LE(pkt(0).size(), 1300u);
}

TEST_F(EncapTest, UnreachableTimeExceededParameterProblemBecomeHostUnreachable) {
  Ip4 h = client_hdr(kTcp);
  h.ttl = 63;
  Bytes seg = tcp(40000, 443, 1, pattern(20));
  fill_csum4(seg, kTcp, h.src, h.dst);
  const Bytes inner = ipv4(h, seg);
  const Bytes sent = sent_tunnel_packet(inner);
  struct Case {
    uint8_t type, code;
    uint32_t rest;
  };
  for (Case c : {Case{1, 0, 0}, Case{1, 3, 0}, Case{1, 4, 0}, Case{3, 0, 0}, Case{4, 0, 6}, Case{4, 1, 6}}) {
    SCOPED_TRACE(std::to_string(c.type) + "/" + std::to_string(c.code));
    TunnelError learned;
    const Verdict v = tunnel_error(core_error(c.type, c.code, c.rest, sent), learned);
    EXPECT_EQ(v.outcome, Outcome::kTranslated);
    EXPECT_FALSE(learned.pmtu);
    ASSERT_EQ(out->count, 1u);
    EXPECT_EQ(pkt(), expected_icmp4(pkt(), 3, 1, 0, kClient, inner));
  }
  // Reassembly time exceeded cannot be about a packet we never fragmented.
  TunnelError learned;
  EXPECT_EQ(tunnel_error(core_error(3, 1, 0, sent), learned).reason, Drop::kTunnelErrorNotRelayed);
  // Nor do informational messages relay.
  EXPECT_EQ(tunnel_error(core_error(128, 0, 0, sent), learned).reason, Drop::kTunnelErrorNotRelayed);
}

TEST_F(EncapTest, Rfc4884LengthAttributeEndsTheQuote) {
  const Bytes inner = ipv4(client_hdr(), udp(1, 2, pattern(100)));
  Bytes sent = sent_tunnel_packet(inner);
  sent.resize(160, 0);  // quote cut at 20 units of 8 bytes, an extension after it
  Bytes body = sent;
  append(body, Bytes{0x20, 0, 0, 0, 0, 8, 1, 1, 0, 0, 0, 0});
  Ip6 eh;
  eh.src = a6(kCoreRouter);
  eh.dst = a6(kOuterSrc);
  eh.next = kIcmp6;
  const Bytes err = v6_packet(eh, icmp(1, 3, 20u << 24, body));
  TunnelError learned;
  ASSERT_EQ(tunnel_error(err, learned).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 3, 1, 0, kClient, slice(inner, 0, 120)));
  // A length attribute beyond the message.
  const Bytes bad = v6_packet(eh, icmp(1, 3, 200u << 24, body));
  EXPECT_EQ(tunnel_error(bad, learned).reason, Drop::kBadIcmpLength);
}

TEST_F(EncapTest, ErrorsThatAreNotRelayed) {
  TunnelError learned;
  // About an ICMPv4 error the client sent: never an error about an error.
  Ip4 h = client_hdr(kIcmp);
  h.ttl = 63;
  Bytes e = icmp(3, 3, 0, pattern(28));
  fill_csum4(e, kIcmp, 0, 0);
  Bytes err = core_error(1, 3, 0, sent_tunnel_packet(ipv4(h, e)));
  EXPECT_EQ(tunnel_error(err, learned).reason, Drop::kTunnelErrorNotRelayed);
  // About a non-first fragment.
  h = client_hdr();
  h.ttl = 63;
  h.frag_off = 800;
  err = core_error(1, 3, 0, sent_tunnel_packet(ipv4(h, pattern(100))));
  EXPECT_EQ(tunnel_error(err, learned).reason, Drop::kTunnelErrorNotRelayed);
  EXPECT_EQ(out->count, 0u);
  // A PE without an IPv4 address of its own cannot speak, but still learns.
  cfg.own_ipv4.reset();
  err = core_error(2, 0, 1300, sent_tunnel_packet(big_inner(true)));
  EXPECT_EQ(tunnel_error(err, learned).reason, Drop::kTunnelErrorNoOwnIpv4);
  EXPECT_TRUE(learned.pmtu);
  EXPECT_EQ(out->count, 0u);
}

TEST_F(EncapTest, MalformedTunnelErrors) {
  TunnelError learned;
  const Bytes sent = sent_tunnel_packet(big_inner(true));
  Bytes err = core_error(1, 3, 0, sent);
  err[50] ^= 0x40;  // inside the quote: checksum no longer matches
  EXPECT_EQ(tunnel_error(err, learned).reason, Drop::kBadIcmpChecksum);
  // The quote stops inside the inner IPv4 header.
  err = core_error(1, 3, 0, slice(sent, 0, 40 + 19));
  EXPECT_EQ(tunnel_error(err, learned).reason, Drop::kBadInnerPacket);
  EXPECT_FALSE(quotes_encapsulated(slice(err, 0, 40 + 8 + 39)));
  // Just the two headers are enough.
  err = core_error(1, 3, 0, slice(sent, 0, 60));
  EXPECT_EQ(tunnel_error(err, learned).outcome, Outcome::kTranslated);
  EXPECT_EQ(pkt(), expected_icmp4(pkt(), 3, 1, 0, kClient, slice(big_inner(true), 0, 20)));
  // Truncated error.
  err = core_error(1, 3, 0, sent);
  EXPECT_EQ(tunnel_error(slice(err, 0, 45), learned).reason, Drop::kTruncated);
  EXPECT_FALSE(quotes_encapsulated(slice(err, 0, 45)));
  EXPECT_EQ(out->count, 0u);
}

TEST_F(EncapTest, ErrorQuotingAPacketThatWasNotEncapsulated) {
  // A translate-mode packet (UDP straight in IPv6) in the quote.
  Ip6 q;
  q.src = a6(kOuterSrc);
  q.dst = a6(kOuterDst);
  q.next = kUdp;
  const Bytes native = v6_packet(q, udp(40000, 53, pattern(50)));
  const Bytes err = core_error(1, 3, 0, native);
  EXPECT_FALSE(quotes_encapsulated(err));
  TunnelError learned;
  EXPECT_EQ(tunnel_error(err, learned).reason, Drop::kBadInnerPacket);
  EXPECT_EQ(out->count, 0u);
  // Not an error at all: an echo request carrying a 4in6-looking payload.
  Ip6 eh;
  eh.src = a6(kCoreRouter);
  eh.dst = a6(kOuterSrc);
  eh.next = kIcmp6;
  EXPECT_FALSE(quotes_encapsulated(v6_packet(eh, icmp(128, 0, 1, sent_tunnel_packet(big_inner(true, 100))))));
  // An IPv4 packet is not an ICMPv6 error.
  EXPECT_FALSE(quotes_encapsulated(big_inner(true, 100)));
  EXPECT_TRUE(quotes_encapsulated(core_error(3, 0, 0, sent_tunnel_packet(big_inner(true, 100)))));
}

}  // namespace
}  // namespace edge46::xlat
