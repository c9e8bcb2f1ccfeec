// mapping/eamt: Explicit Address Mapping Table (RFC 7757).
#include "mapping/eamt.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <vector>

#include "support/packet_builder.h"

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
  // The whole IPv4 space into a /64: 32 bits right after bit 64 (alone in
  // its table: it overlaps every other IPv4 prefix).
  Eamt all;
  ASSERT_EQ(all.add(eam("0.0.0.0", 0, "2001:db8:3::", 64)), "");
  EXPECT_EQ(all.to_v6(v4("10.20.30.40"))->bytes, test::a6("2001:db8:3:0:a14:1e28::"));
  EXPECT_EQ(*all.to_v4(v6("2001:db8:3:0:a14:1e28:ffff:ffff")), v4("10.20.30.40"));
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

TEST(Eamt, UsedEntryAndRemove) {
  // Entries are disjoint (a /24 around the /25 would be refused), so the
  // entry used is the one containing the address.
  Eamt t;
  ASSERT_EQ(t.add(eam("192.0.2.0", 25, "2001:db8:100::", 121)), "");
  ASSERT_EQ(t.add(eam("192.0.2.128", 25, "2001:db8:200::", 121)), "");
  const Eam* used = nullptr;
  EXPECT_EQ(t.to_v6(v4("192.0.2.129"), &used)->bytes, test::a6("2001:db8:200::1"));
  EXPECT_EQ(used->v6, eam("192.0.2.128", 25, "2001:db8:200::", 121).v6);
  EXPECT_EQ(t.to_v6(v4("192.0.2.1"), &used)->bytes, test::a6("2001:db8:100::1"));
  EXPECT_EQ(used->v6, eam("192.0.2.0", 25, "2001:db8:100::", 121).v6);
  EXPECT_EQ(*t.to_v4(v6("2001:db8:200::7f"), &used), v4("192.0.2.255"));
  EXPECT_EQ(used->v4, eam("192.0.2.128", 25, "2001:db8:200::", 121).v4);
  // Removing needs both prefixes to match the entry.
  EXPECT_FALSE(t.remove(eam("192.0.2.128", 25, "2001:db8:300::", 121)));
  EXPECT_TRUE(t.remove(eam("192.0.2.128", 25, "2001:db8:200::", 121)));
  EXPECT_FALSE(t.remove(eam("192.0.2.128", 25, "2001:db8:200::", 121)));
  EXPECT_FALSE(t.to_v6(v4("192.0.2.129")));
  EXPECT_FALSE(t.to_v4(v6("2001:db8:200::7f")));
  EXPECT_EQ(t.to_v6(v4("192.0.2.1"))->bytes, test::a6("2001:db8:100::1"));
  EXPECT_EQ(t.entries().size(), 1u);
  // The freed prefixes can be mapped again.
  EXPECT_EQ(t.add(eam("192.0.2.128", 25, "2001:db8:200::", 121)), "");
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

// Item 7 of issue 7: an overlap on either side is refused, as Jool does, and
// the message names the entry it collides with.
TEST(Eamt, OverlapsRefusedOnEitherSideNamingTheEntry) {
  Eamt t;
  ASSERT_EQ(t.add(eam("198.51.100.0", 24, "2001:db8:6::", 120)), "");
  const std::string existing = "2001:db8:6::/120 <-> 198.51.100.0/24";
  struct {
    Eam e;
    const char* why;
  } refused[] = {
      {eam("198.51.100.10", 32, "2001:db8:7::1", 128), "IPv4 inside"},
      {eam("198.51.0.0", 16, "2001:db8:7::", 112), "IPv4 around"},
      {eam("198.51.100.0", 24, "2001:db8:7::", 120), "IPv4 equal"},
      {eam("192.0.2.1", 32, "2001:db8:6::10", 128), "IPv6 inside"},
      {eam("192.0.2.0", 24, "2001:db8::", 32), "IPv6 around"},
      {eam("192.0.2.0", 24, "2001:db8:6::", 120), "IPv6 equal"},
      {eam("0.0.0.0", 0, "::", 0), "everything"},
  };
  for (const auto& r : refused) {
    std::string m = t.add(r.e);
    EXPECT_NE(m.find("overlaps"), std::string::npos) << r.why << ": " << m;
    EXPECT_NE(m.find(existing), std::string::npos) << r.why << ": " << m;
  }
  EXPECT_EQ(t.entries().size(), 1u);
  // The neighbours on both sides are disjoint and accepted.
  EXPECT_EQ(t.add(eam("198.51.99.0", 24, "2001:db8:5:ffff:ffff:ffff:ffff:ff00", 120)), "");
  EXPECT_EQ(t.add(eam("198.51.101.0", 24, "2001:db8:6::100", 120)), "");
  // The catch-all entry conflicts with anything once something is mapped,
  // and with everything when it is there first.
  Eamt all;
  ASSERT_EQ(all.add(eam("0.0.0.0", 0, "::", 0)), "");
  std::string m = all.add(eam("192.0.2.1", 32, "2001:db8::1", 128));
  EXPECT_NE(m.find("overlaps the existing entry ::/0 <-> 0.0.0.0/0"), std::string::npos) << m;
  EXPECT_EQ(all.entries().size(), 1u);
}

// Random prefixes against a brute-force disjointness check: add accepts
// exactly the entries that overlap nothing on either side; remove and
// lookups stay consistent while removals move entries around.
TEST(Eamt, RandomOverlapsAgainstBruteForce) {
  std::mt19937_64 rng(7);
  Eamt t;
  std::vector<Eam> ref;
  auto covers4 = [](const net::Ipv4Prefix& a, const net::Ipv4Prefix& b) {
    unsigned l = std::min(a.len, b.len);
    return (a.addr.value & net::mask4(l)) == (b.addr.value & net::mask4(l));
  };
  auto covers6 = [](const net::Ipv6Prefix& a, const net::Ipv6Prefix& b) {
    unsigned l = std::min(a.len, b.len);
    return (a.addr.to_u128() & net::mask6(l)) == (b.addr.to_u128() & net::mask6(l));
  };
  for (int step = 0; step < 20000; ++step) {
    if (!ref.empty() && rng() % 3 == 0) {
      std::size_t k = rng() % ref.size();
      ASSERT_TRUE(t.remove(ref[k]));
      ASSERT_FALSE(t.remove(ref[k]));
      ref.erase(ref.begin() + static_cast<std::ptrdiff_t>(k));
      continue;
    }
    // Few distinct bits, so overlaps are frequent.
    auto l4 = static_cast<uint8_t>(20 + rng() % 13);
    auto a4 = static_cast<uint32_t>(0xc6330000u | (rng() & 0xfff)) & net::mask4(l4);
    auto l6 = static_cast<uint8_t>(96 + (32 - l4) + rng() % (l4 - 19));
    net::u128 a6 = ((net::u128{0x20010db8} << 96) | (static_cast<net::u128>(rng() & 0xfffff) << 12)) & net::mask6(l6);
    Eam e{net::Ipv6Prefix{net::Ipv6Addr::from_u128(a6), l6}, net::Ipv4Prefix{net::Ipv4Addr{a4}, l4}};
    bool clash = false;
    for (const auto& x : ref) clash = clash || covers4(x.v4, e.v4) || covers6(x.v6, e.v6);
    std::string why = t.add(e);
    ASSERT_EQ(why.empty(), !clash) << why;
    if (!clash) ref.push_back(e);
  }
  ASSERT_EQ(t.entries().size(), ref.size());
  for (const auto& x : ref) {
    const Eam* used = nullptr;
    auto got = t.to_v6(x.v4.addr, &used);
    ASSERT_TRUE(got);
    ASSERT_EQ(*used, x);
    ASSERT_EQ(got->to_u128(), x.v6.addr.to_u128());
    ASSERT_EQ(*t.to_v4(x.v6.addr, &used), x.v4.addr);
    ASSERT_EQ(*used, x);
  }
}

// Item 16 of issue 7: the table grows by increments. 20 000 entries used to
// take hours (every add rebuilt both tables); now they take milliseconds,
// and a budget of seconds leaves room for a sanitizer build.
TEST(Eamt, TwentyThousandEntriesAddAndRemoveIncrementally) {
  auto nth = [](uint32_t i) {
    return Eam{net::Ipv6Prefix{net::Ipv6Addr::from_u128((net::u128{0x20010db8} << 96) | (net::u128{i} << 8)), 120},
               net::Ipv4Prefix{net::Ipv4Addr{0x0a000000u | (i << 8)}, 24}};
  };
  const auto start = std::chrono::steady_clock::now();
  Eamt t;
  constexpr uint32_t kN = 20000;
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(t.add(nth(i)), "");
  for (uint32_t i = 0; i < kN; i += 2) ASSERT_TRUE(t.remove(nth(i)));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(3));
  ASSERT_EQ(t.entries().size(), kN / 2);
  EXPECT_FALSE(t.to_v6(v4("10.0.0.1")));
  EXPECT_EQ(t.to_v6(v4("10.0.1.9"))->to_u128(), (net::u128{0x20010db8} << 96) | 0x109);
  EXPECT_EQ(*t.to_v4(net::Ipv6Addr::from_u128((net::u128{0x20010db8} << 96) | (net::u128{kN - 1} << 8) | 7)),
            net::Ipv4Addr{0x0a000000u | ((kN - 1) << 8) | 7});
}

}  // namespace
}  // namespace edge46::mapping
