// mapping/rfc6052: IPv4-embedded IPv6 addresses (RFC 6052 2.2) and the
// low32 layout of draft-ietf-v6ops-framework-md-ipv6only-underlay.
#include "mapping/rfc6052.h"

#include <gtest/gtest.h>

#include <random>

#include "support/packet_builder.h"

namespace edge46::mapping {
namespace {

Pool6 pool(const char* prefix, unsigned len, Pool6Layout l = Pool6Layout::kRfc6052) {
  Pool6 p;
  p.prefix.addr.bytes = test::a6(prefix);
  p.prefix.len = static_cast<uint8_t>(len);
  p.layout = l;
  return p;
}
net::Ipv4Addr v4(const char* s) {
  return net::Ipv4Addr{test::a4(s)};
}

struct Row {
  const char* prefix;
  unsigned len;
  const char* embedded;
};

// RFC 6052 2.4, Table 1 (192.0.2.33 under each Network-Specific Prefix).
constexpr Row kRfc6052Table[] = {
    {"2001:db8::", 32, "2001:db8:c000:221::"},
    {"2001:db8:100::", 40, "2001:db8:1c0:2:21::"},
    {"2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"},
    {"2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"},
    {"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"},
    {"2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"},
};

TEST(Rfc6052, Section24Table) {
  for (const auto& r : kRfc6052Table) {
    Pool6 p = pool(r.prefix, r.len);
    EXPECT_EQ(validate_pool6(p), "") << r.len;
    EXPECT_EQ(embed(p, v4("192.0.2.33")).bytes, test::a6(r.embedded)) << "/" << r.len;
    auto back = extract(p, net::Ipv6Addr{test::a6(r.embedded)});
    ASSERT_TRUE(back) << r.len;
    EXPECT_EQ(*back, v4("192.0.2.33")) << r.len;
  }
}

TEST(Rfc6052, WellKnownPrefix) {
  // RFC 6052 2.4: 64:ff9b::/96 + 192.0.2.33 = 64:ff9b::c000:221.
  Pool6 p = pool("64:ff9b::", 96);
  EXPECT_EQ(embed(p, v4("192.0.2.33")).bytes, test::a6("64:ff9b::c000:221"));
}

TEST(Rfc6052, UOctetMustBeZero) {
  // Bits 64-71 are reserved (RFC 6052 2.2); a prefix shorter than /96 that
  // sets them is refused, for every length that does not cover them.
  for (unsigned len : {32u, 40u, 48u, 56u, 64u}) {
    Pool6 p = pool("2001:db8::", len);
    p.prefix.addr.bytes[8] = 0x01;
    EXPECT_NE(validate_pool6(p), "") << len;
  }
  // Embedding never writes into the u-octet.
  for (unsigned len : {32u, 40u, 48u, 56u, 64u}) {
    net::Ipv6Addr a = embed(pool("2001:db8::", len), v4("255.255.255.255"));
    EXPECT_EQ(a.bytes[8], 0) << len;
  }
}

TEST(Rfc6052, ValidatePool6Lengths) {
  for (unsigned len = 0; len <= 128; ++len) {
    Pool6 p = pool("::", len);
    bool valid = len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
    EXPECT_EQ(rfc6052_length_valid(len), valid) << len;
    EXPECT_EQ(validate_pool6(p).empty(), valid) << len;
  }
}

TEST(Low32, ValidatePool6) {
  for (unsigned len = 0; len <= 128; ++len) {
    EXPECT_EQ(validate_pool6(pool("::", len, Pool6Layout::kLow32)).empty(), len <= 96) << len;
  }
}

// Independent reference: place the 32 IPv4 bits one by one after the
// prefix, skipping bits 64-71 (RFC 6052 2.2, Figure 1).
net::Ipv6Addr reference_embed(const net::Ipv6Addr& prefix, unsigned len, uint32_t a) {
  net::Ipv6Addr out = prefix;
  unsigned pos = len;
  for (int bit = 31; bit >= 0; --bit) {
    if (pos >= 64 && pos < 72) pos = 72;
    if ((a >> bit) & 1u) out.bytes[pos / 8] |= static_cast<uint8_t>(0x80u >> (pos % 8));
    ++pos;
  }
  return out;
}

TEST(Rfc6052, RoundTripEveryLengthRandomAddresses) {
  std::mt19937_64 rng(6052);
  for (unsigned len : {32u, 40u, 48u, 56u, 64u, 96u}) {
    for (int i = 0; i < 2000; ++i) {
      // Random prefix with zero host bits and a zero u-octet.
      net::Ipv6Addr pfx;
      for (unsigned b = 0; b < len / 8; ++b) pfx.bytes[b] = static_cast<uint8_t>(rng());
      if (len < 96) pfx.bytes[8] = 0;
      Pool6 p;
      p.prefix = net::Ipv6Prefix{pfx, static_cast<uint8_t>(len)};
      ASSERT_EQ(validate_pool6(p), "");
      const uint32_t a = static_cast<uint32_t>(rng());
      net::Ipv6Addr e = embed(p, net::Ipv4Addr{a});
      ASSERT_EQ(e, reference_embed(pfx, len, a)) << "len " << len;
      EXPECT_TRUE(p.prefix.contains(e));
      auto back = extract(p, e);
      ASSERT_TRUE(back);
      EXPECT_EQ(back->value, a);
      // The suffix bits after the IPv4 address do not matter to extraction.
      net::Ipv6Addr noisy = e;
      if (len < 96) noisy.bytes[15] ^= 0x5a;
      EXPECT_EQ(extract(p, noisy)->value, a);
    }
  }
}

TEST(Rfc6052, ExtractOutsideThePrefix) {
  Pool6 p = pool("64:ff9b::", 96);
  EXPECT_FALSE(extract(p, net::Ipv6Addr{test::a6("64:ff9c::1")}));
  EXPECT_FALSE(extract(p, net::Ipv6Addr{test::a6("2001:db8::192.0.2.1")}));
  Pool6 q = pool("2001:db8:100::", 40);
  EXPECT_FALSE(extract(q, net::Ipv6Addr{test::a6("2001:db8:200::")}));
}

// draft-ietf-v6ops-framework-md-ipv6only-underlay, Table 1: the IPv4 address
// occupies the last 32 bits whatever the prefix length.
TEST(Low32, DraftTable1) {
  struct {
    const char* prefix;
    unsigned len;
    const char* embedded;
  } rows[] = {
      {"2001:db8::", 32, "2001:db8::192.0.2.33"},
      {"2001:db8:100::", 40, "2001:db8:100::192.0.2.33"},
      {"2001:db8:122::", 48, "2001:db8:122::192.0.2.33"},
  };
  for (const auto& r : rows) {
    Pool6 p = pool(r.prefix, r.len, Pool6Layout::kLow32);
    ASSERT_EQ(validate_pool6(p), "");
    EXPECT_EQ(embed(p, v4("192.0.2.33")).bytes, test::a6(r.embedded)) << r.len;
    EXPECT_EQ(*extract(p, net::Ipv6Addr{test::a6(r.embedded)}), v4("192.0.2.33"));
  }
  // The brief's spelling of the /40 row.
  EXPECT_EQ(test::a6("2001:db8:100::c000:221"), test::a6("2001:db8:100::192.0.2.33"));
}

TEST(Low32, RoundTripRandom) {
  std::mt19937_64 rng(32);
  for (int i = 0; i < 3000; ++i) {
    unsigned len = static_cast<unsigned>(rng() % 97);
    net::u128 v = (net::u128{rng()} << 64 | rng()) & net::mask6(len);
    Pool6 p;
    p.prefix = net::Ipv6Prefix{net::Ipv6Addr::from_u128(v), static_cast<uint8_t>(len)};
    p.layout = Pool6Layout::kLow32;
    uint32_t a = static_cast<uint32_t>(rng());
    net::Ipv6Addr e = embed(p, net::Ipv4Addr{a});
    EXPECT_EQ(e.to_u128(), v | a);
    EXPECT_EQ(extract(p, e)->value, a);
  }
}

TEST(Layout, Names) {
  EXPECT_EQ(layout_name(Pool6Layout::kLow32), "low32");
  EXPECT_EQ(layout_name(Pool6Layout::kRfc6052), "rfc6052");
  EXPECT_EQ(parse_layout("low32"), Pool6Layout::kLow32);
  EXPECT_EQ(parse_layout("rfc6052"), Pool6Layout::kRfc6052);
  EXPECT_FALSE(parse_layout("RFC6052"));
  EXPECT_FALSE(parse_layout(""));
}

}  // namespace
}  // namespace edge46::mapping
