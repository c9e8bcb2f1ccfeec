// The BGP codec (bgp/wire.h) against bytes written by hand from the RFCs
// (RFC 4271 4, RFC 5492, RFC 4760, RFC 8950, RFC 6793, RFC 9012, RFC 7606).
// No expected byte here comes from the code under test.
#include "bgp/wire.h"

#include <gtest/gtest.h>

#include <string_view>

using namespace edge46;
using namespace edge46::bgp;

namespace {

// "ff ff 00" -> bytes; spaces and newlines ignored.
std::vector<uint8_t> hex(std::string_view s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_EQ(hi, -1) << "odd number of hex digits";
  return out;
}

constexpr std::string_view kMarker = "ffffffff ffffffff ffffffff ffffffff";

std::string msg(std::string_view len_type_body) {
  return std::string(kMarker) + std::string(len_type_body);
}

std::span<const uint8_t> body_of(const std::vector<uint8_t>& m) {
  return std::span(m).subspan(kHeaderLen);
}

[[maybe_unused]] net::Ipv6Addr v6(const char* s) {
  return *net::parse_ipv6(s);
}
[[maybe_unused]] net::Ipv4Prefix p4(const char* s) {
  return *net::parse_ipv4_prefix(s);
}
[[maybe_unused]] net::Ipv6Prefix p6(const char* s) {
  return *net::parse_ipv6_prefix(s);
}

// ---------------------------------------------------------------- header

TEST(WireHeader, KeepaliveIsNineteenOctets) {
  EXPECT_EQ(encode_keepalive(), hex(msg("0013 04")));
  auto h = parse_header(hex(msg("0013 04")));
  ASSERT_TRUE(h && *h);
  EXPECT_EQ((*h)->type, MsgType::kKeepalive);
  EXPECT_EQ((*h)->length, 19);
}

TEST(WireHeader, ShortBufferIsNotAnError) {
  auto b = hex(msg("0013"));
  auto h = parse_header(b);
  ASSERT_TRUE(h);
  EXPECT_FALSE(*h);
}

TEST(WireHeader, BadMarkerIsConnectionNotSynchronized) {
  auto b = hex("ffffffff ffffffff ffffffff fffffffe 0013 04");
  auto h = parse_header(b);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 1, {}}));
}

TEST(WireHeader, BadLengthCarriesTheLengthField) {
  auto h = parse_header(hex(msg("0012 04")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 2, {0x00, 0x12}}));
  h = parse_header(hex(msg("1001 02")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 2, {0x10, 0x01}}));
  // RFC 4271 6.1: a KEEPALIVE of 20 octets, an OPEN of 28, an UPDATE of 22.
  h = parse_header(hex(msg("0014 04")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 2, {0x00, 0x14}}));
  h = parse_header(hex(msg("001c 01")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 2, {0x00, 0x1c}}));
  h = parse_header(hex(msg("0016 02")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 2, {0x00, 0x16}}));
  h = parse_header(hex(msg("0014 03")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 2, {0x00, 0x14}}));
  // 4096 is fine.
  h = parse_header(hex(msg("1000 02")));
  ASSERT_TRUE(h && *h);
  EXPECT_EQ((*h)->length, 4096);
}

TEST(WireHeader, BadTypeCarriesTheType) {
  auto h = parse_header(hex(msg("0013 09")));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (Notification{1, 3, {0x09}}));
}

// ---------------------------------------------------------------- OPEN

// AS 65001, hold 90, id 192.0.2.1; one Capabilities parameter (RFC 5492 4)
// with MP (1) AFI 1 SAFI 1 (RFC 4760 8), Route Refresh (2, RFC 2918),
// Extended Next Hop (5) (1, 1, 2) (RFC 8950 3), 4-octet AS (65) 65001.
constexpr std::string_view kOpen =
    "0035 01"
    "04 fde9 005a c0000201"
    "18 02 16"
    "01 04 0001 00 01"
    "02 00"
    "05 06 0001 0001 0002"
    "41 04 0000fde9";

Open our_open(uint32_t asn) {
  Open o;
  o.asn = asn;
  o.hold_time = 90;
  o.bgp_id = 0xc0000201;
  o.caps.mp_ipv4 = o.caps.ext_next_hop = o.caps.four_octet_as = o.caps.route_refresh = true;
  return o;
}

TEST(WireOpen, EncodeOurFourCapabilities) {
  EXPECT_EQ(encode_open(our_open(65001), CodePoints{}), hex(msg(kOpen)));
}

TEST(WireOpen, ParseOurFourCapabilities) {
  auto b = hex(msg(kOpen));
  auto o = parse_open(body_of(b), CodePoints{});
  ASSERT_TRUE(o) << describe(o.error());
  EXPECT_EQ(o->version, 4);
  EXPECT_EQ(o->asn, 65001u);
  EXPECT_EQ(o->hold_time, 90);
  EXPECT_EQ(o->bgp_id, 0xc0000201u);
  Capabilities want;
  want.mp_ipv4 = want.ext_next_hop = want.four_octet_as = want.route_refresh = true;
  want.as4 = 65001;
  EXPECT_EQ(o->caps, want);
}

TEST(WireOpen, FourOctetAsSendsAsTrans) {
  // AS 4200000001 = 0xfa56ea01; My AS = 23456 (0x5ba0), RFC 6793 4.1.
  auto want =
      hex(msg("0035 01 04 5ba0 005a c0000201 18 02 16 01 04 0001 00 01 02 00 05 06 0001 0001 0002 41 04 fa56ea01"));
  EXPECT_EQ(encode_open(our_open(4200000001u), CodePoints{}), want);
  auto o = parse_open(body_of(want), CodePoints{});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->asn, 4200000001u);
}

TEST(WireOpen, OtherSafiAndOneCapabilityPerParameter) {
  // SAFI 2 configured; the peer sends each capability in its own parameter,
  // MP for IPv6 unicast, an ENH tuple for another family, and unknown cap 70.
  CodePoints cp;
  cp.safi = 2;
  auto b =
      hex(msg("0041 01 04 fde9 0000 c0000202 24"
              "02 06 01 04 0001 00 02"
              "02 06 01 04 0002 00 01"
              "02 0e 05 0c 0001 0080 0002 0001 0002 0002"
              "02 02 46 00"));
  auto o = parse_open(body_of(b), cp);
  ASSERT_TRUE(o) << describe(o.error());
  EXPECT_TRUE(o->caps.mp_ipv4);
  EXPECT_TRUE(o->caps.mp_ipv6);
  EXPECT_TRUE(o->caps.ext_next_hop);
  EXPECT_FALSE(o->caps.four_octet_as);
  EXPECT_FALSE(o->caps.route_refresh);
  EXPECT_EQ(o->asn, 65001u);
  EXPECT_EQ(o->hold_time, 0);
  // With SAFI 1 configured, neither the MP nor the ENH tuple matches.
  o = parse_open(body_of(b), CodePoints{});
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->caps.mp_ipv4);
  EXPECT_FALSE(o->caps.ext_next_hop);
}

TEST(WireOpen, Errors) {
  auto e = [](std::string_view body) {
    auto b = hex(msg(body));
    auto o = parse_open(body_of(b), CodePoints{});
    EXPECT_FALSE(o);
    return o ? Notification{} : o.error();
  };
  // RFC 4271 6.2.
  EXPECT_EQ(e("001d 01 03 fde9 005a c0000201 00"), (Notification{2, 1, {0x00, 0x04}}));
  EXPECT_EQ(e("001d 01 04 fde9 0001 c0000201 00"), (Notification{2, 6, {}}));
  EXPECT_EQ(e("001d 01 04 fde9 0002 c0000201 00"), (Notification{2, 6, {}}));
  EXPECT_EQ(e("001d 01 04 fde9 005a 00000000 00"), (Notification{2, 3, {}}));
  EXPECT_EQ(e("0020 01 04 fde9 005a c0000201 03 01 01 00"),
            (Notification{2, 4, {}}));  // type 1 (RFC 4271 auth, deprecated)
  // Parameters length disagreeing with the message.
  EXPECT_EQ(e("001f 01 04 fde9 005a c0000201 03 02 00").code, 2);
  // A capability overrunning its parameter.
  EXPECT_EQ(e("0021 01 04 fde9 005a c0000201 04 02 02 41 04").code, 2);
}

// ---------------------------------------------------------------- NOTIFICATION, ROUTE-REFRESH

TEST(WireNotification, RoundTrip) {
  Notification n{6, 2, {0x03, 'b', 'y', 'e'}};
  auto m = encode_notification(n);
  EXPECT_EQ(m, hex(msg("0019 03 06 02 03 62 79 65")));
  EXPECT_EQ(parse_notification(body_of(m)), n);
  EXPECT_EQ(parse_notification(hex("06")), (Notification{}));
}

TEST(WireRouteRefresh, EncodeAndParse) {
  CodePoints cp;
  EXPECT_EQ(encode_route_refresh(cp), hex(msg("0017 05 0001 00 01")));
  auto r = parse_route_refresh(hex("0001 00 01"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 1);
  EXPECT_EQ(r->second, 1);
  auto bad = parse_route_refresh(hex("0001 00 01 00"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), (Notification{7, 1, hex(msg("0018 05 0001 00 01 00"))}));
}

TEST(WireHex, LowerCase) {
  EXPECT_EQ(to_hex(hex("00 ff 0a B0")), "00ff0ab0");
  EXPECT_EQ(to_hex({}), "");
}

}  // namespace
