// mapping/eamt: Explicit Address Mapping Table (RFC 7757).
#include "mapping/eamt.h"

#include <gtest/gtest.h>

#include <random>

#include "unit/net/packet_builder.h"

namespace edge46::mapping {
namespace {

Eam eam(const char* v4, unsigned len4, const char* v6, unsigned len6) {
  Eam e;
  e.v4 = net::Ipv4Prefix{net::Ipv4Addr{test::a4(v4)}, static_cast<uint8_t>(len4)};
  e.v6 = net::Ipv6Prefix{net::Ipv6Addr{test::a6(v6)}, static_cast<uint8_t>(len6)};
  return e;
}
net::Ipv4Addr v4(const char* s) {
  return net::Ipv4Addr{test::a4(s)};
}
net::Ipv6Addr v6(const char* s) {
  return net::Ipv6Addr{test::a6(s)};
}

// The example EAM table of RFC 7757 3.1 (Table 1).
Eamt rfc7757_table() {
  Eamt t;
  EXPECT_EQ(t.add(eam("192.0.2.1", 32, "2001:db8:aaaa::", 128)), "");
  EXPECT_EQ(t.add(eam("192.0.2.2", 32, "2001:db8:bbbb::b", 128)), "");
  EXPECT_EQ(t.add(eam("192.0.2.16", 28, "2001:db8:cccc::", 124)), "");
  EXPECT_EQ(t.add(eam("192.0.2.128", 26, "2001:db8:dddd::", 64)), "");
  EXPECT_EQ(t.add(eam("192.0.2.192", 31, "64:ff9b::", 127)), "");
  return t;
}

TEST(Eamt, Rfc7757Examples4to6) {
  Eamt t = rfc7757_table();
  struct {
    const char* a4;
    const char* a6;
  } rows[] = {
      {"192.0.2.1", "2001:db8:aaaa::"},
      {"192.0.2.2", "2001:db8:bbbb::b"},
      // /28 -> /124: 4 suffix bits, 24 - 16 = 8.
      {"192.0.2.24", "2001:db8:cccc::8"},
      {"192.0.2.31", "2001:db8:cccc::f"},
      // /26 -> /64: 6 suffix bits (150 - 128 = 22 = 010110b) right after
      // bit 64: byte 8 = 0101 1000 = 0x58.
      {"192.0.2.150", "2001:db8:dddd:0:5800::"},
      // /31 -> /127: 1 suffix bit.
      {"192.0.2.193", "64:ff9b::1"},
      {"192.0.2.192", "64:ff9b::"},
  };
  for (const auto& r : rows) {
    const Eam* used = nullptr;
    auto got = t.to_v6(v4(r.a4), &used);
    ASSERT_TRUE(got) << r.a4;
    EXPECT_EQ(got->bytes, test::a6(r.a6)) << r.a4;
    ASSERT_NE(used, nullptr);
    EXPECT_TRUE(used->v4.contains(v4(r.a4)));
    auto back = t.to_v4(*got);
    ASSERT_TRUE(back) << r.a6;
    EXPECT_EQ(*back, v4(r.a4)) << r.a6;
  }
  // Not covered by any entry.
  EXPECT_FALSE(t.to_v6(v4("192.0.2.3")));
  EXPECT_FALSE(t.to_v6(v4("192.0.2.64")));
  EXPECT_FALSE(t.to_v4(v6("2001:db8:aaaa::1")));
  EXPECT_FALSE(t.to_v4(v6("2001:db8:bbbb::c")));
  EXPECT_TRUE(t.covers_v4(v4("192.0.2.130")));
  EXPECT_FALSE(t.covers_v4(v4("192.0.2.127")));
}

TEST(Eamt, Rfc7757IgnoresExtraIpv6SuffixBits) {
  // 2001:db8:dddd::/64 <-> 192.0.2.128/26: only the 6 bits after the IPv6
  // prefix become the IPv4 suffix; later bits are not part of the mapping.
  Eamt t = rfc7757_table();
  auto a = t.to_v4(v6("2001:db8:dddd:0:5bff:ffff:ffff:ffff"));  // 0x5b = 010110 11
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, v4("192.0.2.150"));
  auto b = t.to_v4(v6("2001:db8:dddd:0:fc00::"));  // 111111 -> .191
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, v4("192.0.2.191"));
}

TEST(Eamt, HostBitCarryOverWithUnequalSuffixes) {
  Eamt t;
  // 8 IPv4 suffix bits into an IPv6 /96 (32 bits available): placed right
  // after the prefix, the rest zero.
  ASSERT_EQ(t.add(eam("198.51.100.0", 24, "2001:db8:1::", 96)), "");
  EXPECT_EQ(t.to_v6(v4("198.51.100.7"))->bytes, test::a6("2001:db8:1::700:0"));
  EXPECT_EQ(*t.to_v4(v6("2001:db8:1::7ff:ffff")), v4("198.51.100.7"));
  // Equal suffixes (/120 and /24): a plain copy.
  ASSERT_EQ(t.add(eam("203.0.113.0", 24, "2001:db8:2::", 120)), "");
  EXPECT_EQ(t.to_v6(v4("203.0.113.200"))->bytes, test::a6("2001:db8:2::c8"));
  // The whole IPv4 space into a /64: 32 bits right after bit 64.
  ASSERT_EQ(t.add(eam("0.0.0.0", 0, "2001:db8:3::", 64)), "");
  EXPECT_EQ(t.to_v6(v4("10.20.30.40"))->bytes, test::a6("2001:db8:3:0:a14:1e28::"));
  EXPECT_EQ(*t.to_v4(v6("2001:db8:3:0:a14:1e28:ffff:ffff")), v4("10.20.30.40"));
}

TEST(Eamt, RandomRoundTripAgainstBitReference) {
  std::mt19937_64 rng(7757);
  for (int i = 0; i < 2000; ++i) {
    unsigned len4 = static_cast<unsigned>(rng() % 33);
    unsigned suffix = 32 - len4;
    unsigned len6 = static_cast<unsigned>(rng() % (128 - suffix + 1));
    uint32_t p4 = static_cast<uint32_t>(rng()) & net::mask4(len4);
    net::u128 p6 = ((net::u128{rng()} << 64) | rng()) & net::mask6(len6);
    Eam e;
    e.v4 = net::Ipv4Prefix{net::Ipv4Addr{p4}, static_cast<uint8_t>(len4)};
    e.v6 = net::Ipv6Prefix{net::Ipv6Addr::from_u128(p6), static_cast<uint8_t>(len6)};
    Eamt t;
    ASSERT_EQ(t.add(e), "");
    uint32_t a = p4 | (static_cast<uint32_t>(rng()) & ~net::mask4(len4));
    // Reference: copy suffix bits one at a time to positions len6, len6+1, ...
    net::Ipv6Addr want = net::Ipv6Addr::from_u128(p6);
    for (unsigned k = 0; k < suffix; ++k) {
      if ((a >> (suffix - 1 - k)) & 1u) {
        unsigned pos = len6 + k;
        want.bytes[pos / 8] |= static_cast<uint8_t>(0x80u >> (pos % 8));
      }
    }
    auto got = t.to_v6(net::Ipv4Addr{a});
    ASSERT_TRUE(got);
    ASSERT_EQ(*got, want) << to_string(e.v4) << " " << to_string(e.v6);
    ASSERT_EQ(*t.to_v4(*got), net::Ipv4Addr{a});
  }
}

TEST(Eamt, LongestMatchAndUsedEntry) {
  Eamt t;
  ASSERT_EQ(t.add(eam("192.0.2.0", 24, "2001:db8:100::", 120)), "");
  ASSERT_EQ(t.add(eam("192.0.2.128", 25, "2001:db8:200::", 121)), "");
  const Eam* used = nullptr;
  EXPECT_EQ(t.to_v6(v4("192.0.2.129"), &used)->bytes, test::a6("2001:db8:200::1"));
  EXPECT_EQ(used->v4.len, 25);
  EXPECT_EQ(t.to_v6(v4("192.0.2.1"), &used)->bytes, test::a6("2001:db8:100::1"));
  EXPECT_EQ(used->v4.len, 24);
  EXPECT_EQ(*t.to_v4(v6("2001:db8:200::7f"), &used), v4("192.0.2.255"));
  EXPECT_EQ(used->v6.len, 121);
  EXPECT_TRUE(t.remove(eam("192.0.2.128", 25, "2001:db8:200::", 121)));
  EXPECT_FALSE(t.remove(eam("192.0.2.128", 25, "2001:db8:200::", 121)));
  EXPECT_EQ(t.to_v6(v4("192.0.2.129"))->bytes, test::a6("2001:db8:100::81"));
  EXPECT_FALSE(t.to_v4(v6("2001:db8:200::7f")));
  EXPECT_EQ(t.entries().size(), 1u);
}

TEST(Eamt, CollisionsRefusedWithMessage) {
  Eamt t;
  ASSERT_EQ(t.add(eam("192.0.2.1", 32, "2001:db8::1", 128)), "");
  std::string m1 = t.add(eam("192.0.2.1", 32, "2001:db8::2", 128));
  EXPECT_NE(m1.find("192.0.2.1/32"), std::string::npos) << m1;
  std::string m2 = t.add(eam("192.0.2.2", 32, "2001:db8::1", 128));
  EXPECT_NE(m2.find("2001:db8::1/128"), std::string::npos) << m2;
  EXPECT_EQ(t.entries().size(), 1u);
  EXPECT_EQ(t.to_v6(v4("192.0.2.1"))->bytes, test::a6("2001:db8::1"));  // unchanged
  EXPECT_FALSE(t.to_v6(v4("192.0.2.2")));
}

TEST(Eamt, InvalidEntriesRefusedWithMessage) {
  Eamt t;
  EXPECT_NE(t.add(eam("192.0.2.1", 24, "2001:db8::", 120)), "");   // IPv4 host bits
  EXPECT_NE(t.add(eam("192.0.2.0", 24, "2001:db8::1", 120)), "");  // IPv6 host bits
  // 8 IPv4 suffix bits need at least 8 IPv6 suffix bits: /121 leaves 7.
  std::string m = t.add(eam("192.0.2.0", 24, "2001:db8::", 121));
  EXPECT_NE(m, "");
  EXPECT_NE(m.find("2001:db8::/121"), std::string::npos) << m;
  EXPECT_EQ(t.add(eam("192.0.2.0", 24, "2001:db8::", 120)), "");  // exactly enough
  EXPECT_NE(t.add(eam("0.0.0.0", 0, "2001:db8::", 97)), "");
  EXPECT_EQ(t.entries().size(), 1u);
  EXPECT_FALSE(t.empty());
}

}  // namespace
}  // namespace edge46::mapping
