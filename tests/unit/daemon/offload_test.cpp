// The TUN offload path (src/pipeline/offload): partial checksums completed,
// TCP super-packets translated once with the virtio-net header rewritten, and
// the per-segment fallback when the first segment does not translate plainly.
#include "pipeline/offload.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "../net/packet_builder.h"
#include "config/loader.h"

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
  test::Sum s;
  s.addr6(h.src);
  s.addr6(h.dst);
  s.word(static_cast<uint16_t>(seg.size() >> 16));
  s.word(static_cast<uint16_t>(seg.size()));
  s.word(test::kTcp);
  test::put16(seg, 16, s.folded());
  return test::ipv6(h, seg);
}

Bytes partial_tcp4(std::size_t n) {
  auto seg = test::tcp(40000, 5001, 1000, payload(n));
  test::Ip4 h;
  h.src = a4("192.0.2.2");
  h.dst = a4("198.51.100.2");
  h.proto = test::kTcp;
  h.df = true;
  test::Sum s;
  s.addr4(h.src);
  s.addr4(h.dst);
  s.word(test::kTcp);
  s.word(static_cast<uint16_t>(seg.size()));
  test::put16(seg, 16, s.folded());
  return test::ipv4(h, seg);
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
  VnetHdr h;
  h.flags = pipeline::kVnetNeedsCsum;
  h.csum_start = 40;
  h.csum_offset = 16;
  auto f = frame(h, pkt);
  pipeline::process_vnet(s.xlat, role, f, *area, c, *ctx);
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
  VnetHdr h;
  h.flags = pipeline::kVnetNeedsCsum;
  h.gso_type = pipeline::kGsoTcpV6;
  h.gso_size = mss;
  h.hdr_len = 60;
  h.csum_start = 40;
  h.csum_offset = 16;
  auto f = frame(h, pkt);
  pipeline::process_vnet(s.xlat, role, f, *area, c, *ctx);
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
  ASSERT_TRUE(pipeline::complete_checksum(whole, 20, 16));
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
  VnetHdr h;
  h.flags = pipeline::kVnetNeedsCsum;
  h.gso_type = pipeline::kGsoTcpV4 | pipeline::kGsoEcn;
  h.gso_size = mss;
  h.csum_start = 20;
  h.csum_offset = 16;
  auto f = frame(h, pkt);
  pipeline::process_vnet(s.xlat, role, f, *area, c, *ctx);
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
  ASSERT_TRUE(pipeline::complete_checksum(whole, 40, 16));
  EXPECT_TRUE(test::l4_valid6(whole, 40, test::kTcp));
}

// MSS 1480 over IPv4 makes 1500-byte segments that grow to 1520 bytes of
// IPv6, more than ipv6-mtu 1500: each segment draws the same ICMPv4
// Fragmentation Needed it would draw without offloads.
TEST_F(Offload, FirstSegmentTooBigFallsBackPerSegment) {
  const std::size_t n = 1480 * 3, mss = 1480;
  auto pkt = partial_tcp4(n);
  VnetHdr h;
  h.flags = pipeline::kVnetNeedsCsum;
  h.gso_type = pipeline::kGsoTcpV4;
  h.gso_size = mss;
  h.csum_start = 20;
  h.csum_offset = 16;
  auto f = frame(h, pkt);
  pipeline::process_vnet(s.xlat, role, f, *area, c, *ctx);
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
  pipeline::process_vnet(s.xlat, role, f, *area, c, *ctx);
  EXPECT_EQ(area->count, 0u);
  EXPECT_EQ(counters.totals().get("drop.not_ip"), 1u);
}

TEST_F(Offload, BadChecksumOffsetsDoNotReadOutside) {
  auto pkt = partial_tcp6(10);
  VnetHdr h;
  h.flags = pipeline::kVnetNeedsCsum;
  h.csum_start = 60000;
  h.csum_offset = 16;
  auto f = frame(h, pkt);
  pipeline::process_vnet(s.xlat, role, f, *area, c, *ctx);  // must not crash (ASan build checks)
  SUCCEED();
}

}  // namespace
}  // namespace edge46
