// net/addr: address and prefix parsing and printing (RFC 4291 2.2 text forms,
// RFC 5952 canonical output, CIDR prefixes with host-bit checks).
#include "net/addr.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "support/packet_builder.h"

namespace edge46::net {
namespace {

TEST(Ipv4AddrParse, AcceptsDottedQuad) {
  auto a = parse_ipv4("192.0.2.33");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0xc0000221u);  // 192=c0, 0, 2, 33=0x21
  EXPECT_EQ(parse_ipv4("0.0.0.0")->value, 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255")->value, 0xffffffffu);
}

TEST(Ipv4AddrParse, RejectsMalformed) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
                        "1.2.3.4/24", "::1", "01.2.3.4", "1.2.3.4.", "999999999999999999999"}) {
    EXPECT_FALSE(parse_ipv4(s)) << '"' << s << '"';
  }
}

TEST(Ipv4AddrParse, RejectsEmbeddedNul) {
  // A string_view is not NUL-terminated text: trailing bytes after a NUL
  // are part of the input and make it invalid.
  std::string s("1.2.3.4\0junk", 12);
  EXPECT_FALSE(parse_ipv4(s));
  std::string t("::1\0junk", 8);
  EXPECT_FALSE(parse_ipv6(t));
  std::string u("192.0.2.0\0/24", 13);
  EXPECT_FALSE(parse_ipv4_prefix(u));
}

TEST(Ipv6AddrParse, AcceptsRfc4291Forms) {
  auto a = parse_ipv6("2001:db8::192.0.2.33");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bytes, test::a6("2001:db8::c000:221"));
  EXPECT_EQ(parse_ipv6("::")->bytes, test::V6{});
  auto full = parse_ipv6("2001:0DB8:0000:0000:0008:0800:200C:417A");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->bytes, (test::V6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a}));
}

TEST(Ipv6AddrParse, RejectsMalformed) {
  for (const char* s : {"", ":", "2001:db8:::1", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                        "::1.2.3", "2001:db8::/32", "192.0.2.1", " ::1", "::1 "}) {
    EXPECT_FALSE(parse_ipv6(s)) << '"' << s << '"';
  }
  EXPECT_FALSE(parse_ipv6(std::string(100, '1')));
}

TEST(AddrPrint, CanonicalText) {
  EXPECT_EQ(to_string(Ipv4Addr{0xc0000221u}), "192.0.2.33");
  // RFC 5952 4: lower case, longest zero run compressed, leading zeros dropped.
  EXPECT_EQ(to_string(*parse_ipv6("2001:0DB8:0:0:0:0:0:1")), "2001:db8::1");
  EXPECT_EQ(to_string(*parse_ipv6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  EXPECT_EQ(to_string(Ipv6Addr{}), "::");
}

TEST(AddrPrint, RoundTripsRandomAddresses) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Ipv4Addr a{static_cast<uint32_t>(rng())};
    auto back = parse_ipv4(to_string(a));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, a);
    Ipv6Addr b;
    for (auto& x : b.bytes) x = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : rng());
    auto back6 = parse_ipv6(to_string(b));
    ASSERT_TRUE(back6);
    EXPECT_EQ(*back6, b);
  }
}

TEST(Ipv6AddrU128, BigEndianLayout) {
  Ipv6Addr a;
  a.bytes = test::a6("0102:0304:0506:0708:090a:0b0c:0d0e:0f10");
  u128 v = a.to_u128();
  EXPECT_EQ(static_cast<uint64_t>(v >> 64), 0x0102030405060708ull);
  EXPECT_EQ(static_cast<uint64_t>(v), 0x090a0b0c0d0e0f10ull);
  EXPECT_EQ(Ipv6Addr::from_u128(v), a);
}

TEST(Masks, EdgeLengths) {
  EXPECT_EQ(mask4(0), 0u);
  EXPECT_EQ(mask4(1), 0x80000000u);
  EXPECT_EQ(mask4(24), 0xffffff00u);
  EXPECT_EQ(mask4(32), 0xffffffffu);
  EXPECT_EQ(mask6(0), u128{0});
  EXPECT_EQ(mask6(128), ~u128{0});
  EXPECT_EQ(static_cast<uint64_t>(mask6(64) >> 64), ~0ull);
  EXPECT_EQ(static_cast<uint64_t>(mask6(64)), 0ull);
  EXPECT_EQ(static_cast<uint64_t>(mask6(96)), 0xffffffff00000000ull);
}

TEST(Ipv4PrefixParse, Valid) {
  auto p = parse_ipv4_prefix("192.0.2.0/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->addr.value, 0xc0000200u);
  EXPECT_EQ(p->len, 24);
  auto bare = parse_ipv4_prefix("192.0.2.1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->len, 32);
  auto all = parse_ipv4_prefix("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->len, 0);
  EXPECT_TRUE(all->contains(Ipv4Addr{0xdeadbeef}));
}

TEST(Ipv4PrefixParse, Invalid) {
  for (const char* s : {"192.0.2.0/33", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/2a", "192.0.2.0/ 24", "/24",
                        "192.0.2/24", "192.0.2.0/24/1", "192.0.2.0//24", "2001:db8::/32"}) {
    EXPECT_FALSE(parse_ipv4_prefix(s)) << s;
  }
}

TEST(Ipv4PrefixParse, HostBits) {
  EXPECT_FALSE(parse_ipv4_prefix("192.0.2.1/24"));
  EXPECT_FALSE(parse_ipv4_prefix("11.0.0.0/7"));  // 11 = 00001011: its last bit is a host bit of /7
  EXPECT_TRUE(parse_ipv4_prefix("10.0.0.0/7"));   // 10 = 00001010: no host bit
  auto p = parse_ipv4_prefix("192.0.2.1/24", true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->addr.value, 0xc0000200u);  // masked
  EXPECT_EQ(p->len, 24);
}

TEST(Ipv6PrefixParse, ValidAndHostBits) {
  auto p = parse_ipv6_prefix("2001:db8::/32");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len, 32);
  EXPECT_EQ(p->addr.bytes, test::a6("2001:db8::"));
  EXPECT_TRUE(parse_ipv6_prefix("::/0"));
  EXPECT_EQ(parse_ipv6_prefix("2001:db8::1")->len, 128);
  EXPECT_FALSE(parse_ipv6_prefix("2001:db8::1/64"));
  EXPECT_FALSE(parse_ipv6_prefix("2001:db8:4000::/33"));  // bit 33 set
  EXPECT_TRUE(parse_ipv6_prefix("2001:db8:8000::/33"));   // bit 32 is inside the prefix
  EXPECT_TRUE(parse_ipv6_prefix("2001:db8:8000::/33 ") == std::nullopt);
  auto m = parse_ipv6_prefix("2001:db8::1/64", true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->addr.bytes, test::a6("2001:db8::"));
  for (const char* s : {"2001:db8::/129", "2001:db8::/", "2001:db8::/x", "/64", "192.0.2.0/24"}) {
    EXPECT_FALSE(parse_ipv6_prefix(s)) << s;
  }
}

TEST(PrefixPrint, Text) {
  EXPECT_EQ(to_string(*parse_ipv4_prefix("198.51.100.0/24")), "198.51.100.0/24");
  EXPECT_EQ(to_string(*parse_ipv6_prefix("64:ff9b::/96")), "64:ff9b::/96");
}

TEST(PrefixContains, Boundaries) {
  auto p = *parse_ipv4_prefix("192.0.2.128/25");
  EXPECT_TRUE(p.contains(Ipv4Addr{test::a4("192.0.2.128")}));
  EXPECT_TRUE(p.contains(Ipv4Addr{test::a4("192.0.2.255")}));
  EXPECT_FALSE(p.contains(Ipv4Addr{test::a4("192.0.2.127")}));
  EXPECT_FALSE(p.contains(Ipv4Addr{test::a4("192.0.3.128")}));
  auto q = *parse_ipv6_prefix("2001:db8:100::/40");
  EXPECT_TRUE(q.contains(*parse_ipv6("2001:db8:1ff:ffff::1")));
  EXPECT_FALSE(q.contains(*parse_ipv6("2001:db8:200::")));
}

}  // namespace
}  // namespace edge46::net
