// The TUN offload path (src/pipeline/offload): partial checksums completed,
// TCP super-packets translated once with the virtio-net header rewritten, and
// the per-segment fallback when the first segment does not translate plainly.
#include "pipeline/offload.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "config/loader.h"
#include "support/packet_builder.h"

namespace edge46 {
namespace {

using pipeline::VnetHdr;
using test::a4;
using test::a6;
using test::Bytes;

config::Settings settings() {
  auto s = config::load_string(R"(
[translator]
pool6 = "64:ff9b::/96"
ipv4-address = "198.51.100.1"
ipv6-address = "2001:db8:6::1"
[[eamt]]
ipv6 = "2001:db8:6::2/128"
ipv4 = "198.51.100.2/32"
)",
                               "offload.toml");
  EXPECT_TRUE(s);
  return *s;
}

Bytes payload(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  return b;
}

// A TCP packet as the kernel hands it with NEEDS_CSUM: the checksum field
// holds the folded pseudo-header sum.
Bytes partial_tcp6(std::size_t n) {
  auto seg = test::tcp(40000, 5001, 1000, payload(n));
  seg[13] = 0x18;  // PSH|ACK
  test::Ip6 h;
  h.src = a6("2001:db8:6::2");
  h.dst = a6("64:ff9b::192.0.2.2");
  h.next = test::kTcp;
  test::put16(seg, 16, test::pseudo6(h.src, h.dst, test::kTcp, seg.size()).folded());
  return test::ipv6(h, seg);
}

Bytes partial_tcp4(std::size_t n) {
  auto seg = test::tcp(40000, 5001, 1000, payload(n));
  test::Ip4 h;
  h.src = a4("192.0.2.2");
  h.dst = a4("198.51.100.2");
  h.proto = test::kTcp;
  h.df = true;
  test::put16(seg, 16, test::pseudo4(h.src, h.dst, test::kTcp, seg.size()).folded());
  return test::ipv4(h, seg);
}

Bytes partial_udp4(std::size_t n) {
  auto seg = test::udp(40000, 5001, payload(n));
  test::Ip4 h;
  h.src = a4("192.0.2.2");
  h.dst = a4("198.51.100.2");
  h.proto = test::kUdp;
  test::put16(seg, 6, test::pseudo4(h.src, h.dst, test::kUdp, seg.size()).folded());
  return test::ipv4(h, seg);
}

// What the kernel (or a NIC) does with a partial checksum, written with the
// test's own RFC 1071 loop: sum from csum_start to the end (the field holds
// the pseudo-header sum) and store the complement at csum_start + csum_offset.
void complete_partial(Bytes& p, std::size_t csum_start, std::size_t csum_offset) {
  test::Sum s;
  s.bytes(std::span<const uint8_t>(p).subspan(csum_start));
  test::put16(p, csum_start + csum_offset, s.checksum());
}

// A virtio-net header asking for checksum completion (NEEDS_CSUM) at
// csum_start + csum_offset, optionally a GSO super-packet.
VnetHdr needs_csum(uint16_t csum_start, uint16_t csum_offset, uint8_t gso_type = pipeline::kGsoNone,
                   uint16_t gso_size = 0, uint16_t hdr_len = 0) {
  VnetHdr h;
  h.flags = pipeline::kVnetNeedsCsum;
  h.gso_type = gso_type;
  h.gso_size = gso_size;
  h.hdr_len = hdr_len;
  h.csum_start = csum_start;
  h.csum_offset = csum_offset;
  return h;
}

Bytes frame(const VnetHdr& h, const Bytes& pkt) {
  Bytes f(sizeof h);
  std::memcpy(f.data(), &h, sizeof h);
  test::append(f, pkt);
  return f;
}

struct Offload : ::testing::Test {
  config::Settings s = settings();
  pipeline::RoleConfig role{};
  std::unique_ptr<pipeline::OffloadArea> area = std::make_unique<pipeline::OffloadArea>();
  pipeline::CounterSet counters{1};
  pipeline::Counters& c = counters.worker(0);
  std::unique_ptr<pipeline::WorkerContext> ctx = std::make_unique<pipeline::WorkerContext>();
};

TEST_F(Offload, PartialChecksumIsCompletedBeforeTranslation) {
  auto pkt = partial_tcp6(100);
  VnetHdr h = needs_csum(40, 16);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  ASSERT_EQ(area->count, 1u);
  const auto& e = area->em[0];
  EXPECT_EQ(e.vnet.flags, 0);
  EXPECT_EQ(e.vnet.gso_type, pipeline::kGsoNone);
  Bytes out(e.head.begin(), e.head.end());
  EXPECT_TRUE(test::ipv4_header_valid(out));
  EXPECT_TRUE(test::l4_valid4(out));  // full, correct TCP checksum after translation
}

TEST_F(Offload, SuperPacket64IsTranslatedOnce) {
  const std::size_t n = 20000, mss = 1440;
  auto pkt = partial_tcp6(n);
  VnetHdr h = needs_csum(40, 16, pipeline::kGsoTcpV6, mss, 60);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  ASSERT_EQ(area->count, 1u);
  const auto& e = area->em[0];
  EXPECT_EQ(e.vnet.gso_type, pipeline::kGsoTcpV4);
  EXPECT_EQ(e.vnet.gso_size, mss);
  EXPECT_EQ(e.vnet.hdr_len, 40);
  EXPECT_EQ(e.vnet.csum_start, 20);
  EXPECT_EQ(e.vnet.csum_offset, 16);
  EXPECT_EQ(e.vnet.flags, pipeline::kVnetNeedsCsum);
  ASSERT_EQ(e.head.size(), 40u);
  ASSERT_EQ(e.tail.size(), n);
  EXPECT_EQ(0, std::memcmp(e.tail.data(), pkt.data() + 60, n));  // payload untouched, not copied

  Bytes whole(e.head.begin(), e.head.end());
  test::append(whole, e.tail);
  EXPECT_TRUE(test::ipv4_header_valid(whole));
  EXPECT_EQ(test::get16(whole, 2), 40 + n);
  EXPECT_EQ(test::str4(whole, 12), "198.51.100.2");
  EXPECT_EQ(test::str4(whole, 16), "192.0.2.2");
  EXPECT_EQ(whole[33], 0x18);  // flags of the super-packet kept
  // Completing the partial checksum the way the kernel will gives a valid packet.
  complete_partial(whole, 20, 16);
  EXPECT_TRUE(test::l4_valid4(whole));

  auto t = counters.totals();
  EXPECT_EQ(t.get("gso_in"), 1u);
  EXPECT_EQ(t.get("gso_segments_in"), (n + mss - 1) / mss);
  EXPECT_EQ(t.get("gso_out"), 1u);
  EXPECT_EQ(t.get("bytes_in.ipv6"), pkt.size());
  EXPECT_EQ(t.get("bytes_out.ipv4"), pkt.size() - 20);
}

TEST_F(Offload, SuperPacket46IsTranslatedOnce) {
  const std::size_t n = 9000, mss = 1400;
  auto pkt = partial_tcp4(n);
  VnetHdr h = needs_csum(20, 16, pipeline::kGsoTcpV4 | pipeline::kGsoEcn, mss);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  ASSERT_EQ(area->count, 1u);
  const auto& e = area->em[0];
  EXPECT_EQ(e.vnet.gso_type, pipeline::kGsoTcpV6 | pipeline::kGsoEcn);
  EXPECT_EQ(e.vnet.csum_start, 40);
  EXPECT_EQ(e.vnet.hdr_len, 60);
  Bytes whole(e.head.begin(), e.head.end());
  test::append(whole, e.tail);
  EXPECT_EQ(test::get16(whole, 4), 20 + n);
  EXPECT_EQ(test::str6(whole, 8), "64:ff9b::c000:202");
  EXPECT_EQ(test::str6(whole, 24), "2001:db8:6::2");
  complete_partial(whole, 40, 16);
  EXPECT_TRUE(test::l4_valid6(whole, 40, test::kTcp));
}

// MSS 1480 over IPv4 makes 1500-byte segments that grow to 1520 bytes of
// IPv6, more than ipv6-mtu 1500: each segment draws the same ICMPv4
// Fragmentation Needed it would draw without offloads.
TEST_F(Offload, FirstSegmentTooBigFallsBackPerSegment) {
  const std::size_t n = 1480 * 3, mss = 1480;
  auto pkt = partial_tcp4(n);
  VnetHdr h = needs_csum(20, 16, pipeline::kGsoTcpV4, mss);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  ASSERT_EQ(area->count, 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    Bytes p(area->em[i].head.begin(), area->em[i].head.end());
    ASSERT_GE(p.size(), 28u);
    EXPECT_EQ(p[0] >> 4, 4);
    EXPECT_EQ(p[9], test::kIcmp);
    EXPECT_EQ(p[20], 3);                  // Destination Unreachable
    EXPECT_EQ(p[21], 4);                  // Fragmentation Needed
    EXPECT_EQ(test::get16(p, 26), 1480);  // next-hop MTU = 1500 - 20
    EXPECT_EQ(area->em[i].vnet.gso_type, pipeline::kGsoNone);
  }
  auto t = counters.totals();
  EXPECT_EQ(t.get("icmp_errors"), 3u);
  EXPECT_EQ(t.get("gso_out"), 0u);
}

TEST_F(Offload, ShortFrameIsCounted) {
  Bytes f = {1, 2, 3};
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  EXPECT_EQ(area->count, 0u);
  EXPECT_EQ(counters.totals().get("drop.not_ip"), 1u);
}

// Offsets beyond the packet: nothing is read or written outside it, and the
// frame is dropped under its own name rather than translated.
TEST_F(Offload, BadChecksumOffsetsDoNotReadOutside) {
  auto pkt = partial_tcp6(10);
  VnetHdr h = needs_csum(60000, 16);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);  // ASan builds check the reads
  EXPECT_EQ(area->count, 0u);
  auto t = counters.totals();
  EXPECT_EQ(t.get("drop.offload_bad_checksum_offsets"), 1u);
  EXPECT_EQ(t.get("translated"), 0u);
  EXPECT_EQ(t.get("packets_out.ipv4"), 0u);
  EXPECT_EQ(0, std::memcmp(f.data() + sizeof h, pkt.data(), pkt.size()));  // frame left as it was
}

// Offsets inside the packet that do not name its TCP/UDP checksum field
// (virtio 1.1 5.1.6.2: the checksum goes at csum_start + csum_offset, with
// csum_start the start of the transport header). Completing there would
// overwrite another field and leave the real checksum partial: each frame is
// dropped under its own name, nothing is written.
TEST_F(Offload, ChecksumOffsetsNotAtTheL4ChecksumAreDropped) {
  struct Case {
    const char* what;
    Bytes pkt;
    uint8_t gso_type;
    uint16_t gso_size, csum_start, csum_offset;
  };
  const Case cases[] = {
      {"IPv6 TCP, offset at the window field", partial_tcp6(100), pipeline::kGsoNone, 0, 40, 14},
      {"IPv6 TCP, the UDP offset", partial_tcp6(100), pipeline::kGsoNone, 0, 40, 6},
      {"IPv6 TCP, start inside the IPv6 header", partial_tcp6(100), pipeline::kGsoNone, 0, 24, 16},
      {"IPv4 TCP, start 4 bytes late", partial_tcp4(100), pipeline::kGsoNone, 0, 24, 16},
      {"IPv4 TCP, start at the IPv4 header", partial_tcp4(100), pipeline::kGsoNone, 0, 0, 10},
      {"IPv4 UDP, the TCP offset", partial_udp4(100), pipeline::kGsoNone, 0, 20, 16},
      {"IPv4 TCP super-packet, offset at the window", partial_tcp4(4000), pipeline::kGsoTcpV4, 1400, 20, 14},
      {"IPv6 TCP super-packet, start 1 byte late", partial_tcp6(4000), pipeline::kGsoTcpV6, 1400, 41, 16},
      {"checksum field past the end", partial_tcp6(10), pipeline::kGsoNone, 0, 40, 200},
  };
  uint64_t n = 0;
  for (const auto& k : cases) {
    SCOPED_TRACE(k.what);
    VnetHdr h = needs_csum(k.csum_start, k.csum_offset, k.gso_type, k.gso_size);
    auto f = frame(h, k.pkt);
    pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
    ++n;
    EXPECT_EQ(area->count, 0u);
    auto t = counters.totals();
    EXPECT_EQ(t.get("drop.offload_bad_checksum_offsets"), n);
    EXPECT_EQ(t.get("translated"), 0u);
    EXPECT_EQ(t.get("gso_out"), 0u);
  }
}

// A partial UDP checksum is completed like a TCP one; a sum of zero is sent
// as 0xffff (RFC 768: 0 would mean "no checksum", which the 4->6 direction
// refuses).
TEST_F(Offload, PartialUdpChecksumIsCompleted) {
  auto pkt = partial_udp4(101);
  VnetHdr h = needs_csum(20, 6);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  ASSERT_EQ(area->count, 1u);
  Bytes out(area->em[0].head.begin(), area->em[0].head.end());
  ASSERT_EQ(out[0] >> 4, 6);
  EXPECT_TRUE(test::l4_valid6(out, 40, test::kUdp));
  EXPECT_EQ(counters.totals().get("translated"), 1u);
}

TEST_F(Offload, PartialUdpChecksumSummingToZeroIsSentAsAllOnes) {
  // Two bytes of payload chosen so that the data sums to 0xffff: the
  // complement is 0.
  auto pkt = partial_udp4(2);
  test::put16(pkt, 28, 0);
  test::Sum sum;
  sum.bytes(std::span<const uint8_t>(pkt).subspan(20));
  test::put16(pkt, 28, static_cast<uint16_t>(~sum.folded()));
  test::Sum check;
  check.bytes(std::span<const uint8_t>(pkt).subspan(20));
  ASSERT_EQ(check.checksum(), 0);
  VnetHdr h = needs_csum(20, 6);
  auto f = frame(h, pkt);
  pipeline::process_vnet(pipeline::Env{s.xlat, role, s.eamt}, f, *area, c, *ctx);
  ASSERT_EQ(area->count, 1u);
  Bytes out(area->em[0].head.begin(), area->em[0].head.end());
  ASSERT_EQ(out[0] >> 4, 6);
  EXPECT_NE(test::get16(out, 46), 0);
  EXPECT_TRUE(test::l4_valid6(out, 40, test::kUdp));
  auto t = counters.totals();
  EXPECT_EQ(t.get("translated"), 1u);
  EXPECT_EQ(t.get("drop.udp_zero_checksum"), 0u);
}

}  // namespace
}  // namespace edge46
