// The BGP codec (bgp/wire.h) against bytes written by hand from the RFCs
// (RFC 4271 4, RFC 5492, RFC 4760, RFC 8950, RFC 6793, RFC 9012, RFC 7606).
// No expected byte here comes from the code under test.
#include "bgp/wire.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
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

// Graceful Restart (64), RFC 4724 3: Restart Flags(4 bits) Restart Time(12
// bits), then AFI(2) SAFI(1) Flags(1, bit 0x80 = Forwarding State). Ours:
// time 120 (0x078), AFI 1 SAFI 1 with F. Capabilities in the order 1, 2, 5,
// 64, 65.
TEST(WireOpen, GracefulRestartCapability) {
  auto o = our_open(65001);
  o.caps.graceful_restart = o.caps.gr_ipv4 = o.caps.gr_forwarding = true;
  o.caps.gr_time = 120;
  auto want =
      hex(msg("003d 01 04 fde9 005a c0000201 20 02 1e 01 04 0001 00 01 02 00 05 06 0001 0001 0002 40 06 0078 0001 01 80"
              " 41 04 0000fde9"));
  EXPECT_EQ(encode_open(o, CodePoints{}), want);
  auto back = parse_open(body_of(want), CodePoints{});
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_TRUE(back->caps.graceful_restart);
  EXPECT_EQ(back->caps.gr_time, 120);
  EXPECT_TRUE(back->caps.gr_ipv4);
  EXPECT_TRUE(back->caps.gr_forwarding);
  // A peer's: R bit set, time 4095, IPv6 unicast and ours, both without F;
  // and a broken one of length 0 (RFC 4724 3 needs at least the 2 octets of
  // flags and time).
  auto peer = hex(msg("002b 01 04 fde9 005a c0000202 0e 02 0c 40 0a 8fff 0002 01 00 0001 01 00"));
  back = parse_open(body_of(peer), CodePoints{});
  ASSERT_TRUE(back);
  EXPECT_EQ(back->caps.gr_time, 4095);
  EXPECT_TRUE(back->caps.gr_ipv4);
  EXPECT_FALSE(back->caps.gr_forwarding);
  auto bare = hex(msg("0021 01 04 fde9 005a c0000202 04 02 02 40 00"));
  back = parse_open(body_of(bare), CodePoints{});
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_FALSE(back->caps.graceful_restart);  // shorter than the 2 octets of flags and time: ignored
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

// ---------------------------------------------------------------- UPDATE

// docs/bgp-4map6.md's example, written from RFC 4271 4.3, RFC 4760 3,
// RFC 8950 3, RFC 9012 2 and 3.1: 198.51.100.0/24 -> 2001:db8:3::/48,
// encapsulate, next hop and egress 2001:db8:ffff::3, empty AS_PATH,
// LOCAL_PREF 100, iBGP.
constexpr std::string_view kDocUpdate =
    "006a 02"
    "0000"  // Withdrawn Routes Length
    "0053"  // Total Path Attribute Length (83)
    // MP_REACH_NLRI: opt non-transitive, type 14, 25 octets
    "80 0e 19  0001 01  10 20010db8ffff00000000000000000003  00  18 c63364"
    "40 01 01 00"                                            // ORIGIN IGP
    "40 02 00"                                               // AS_PATH empty
    "40 05 04 00000064"                                      // LOCAL_PREF 100
    "c0 17 26"                                               // TUNNEL_ENCAP, opt transitive, 38 octets
    "fffe 0022"                                              // Tunnel TLV type 0xFFFE, 34 octets
    "7e 08 00 30 20010db80003"                               // 4map6 sub-TLV 126: flags 0, /48, 6 octets
    "06 16 00000000 0002 20010db8ffff00000000000000000003";  // Tunnel Egress Endpoint (RFC 9012 3.1)

Announce doc_announce() {
  Announce a;
  a.local_pref = 100;
  a.next_hop = v6("2001:db8:ffff::3");
  a.rule.pref6 = p6("2001:db8:3::/48");
  a.rule.egress = v6("2001:db8:ffff::3");
  return a;
}

SessionContext ibgp() {
  SessionContext c;
  c.ibgp = true;
  return c;
}
SessionContext ebgp() {
  return SessionContext{};
}

// MP_REACH_NLRI announcing 198.51.100.0/24 via 2001:db8:ffff::3.
constexpr std::string_view kMpReach = "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364";

// "LLLL 02 WWWW <wd> TTTT <attrs> <nlri>": the UPDATE with its three length
// fields counted from the hex given (RFC 4271 4.3).
std::string upd(std::string_view wd, std::string_view attrs, std::string_view nlri = "") {
  const std::size_t w = hex(wd).size(), a = hex(attrs).size(), n = hex(nlri).size();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04zx 02 %04zx ", kHeaderLen + 4 + w + a + n, w);
  char buf2[8];
  std::snprintf(buf2, sizeof buf2, " %04zx ", a);
  return std::string(buf) + std::string(wd) + buf2 + std::string(attrs) + " " + std::string(nlri);
}

Update parse_ok(std::string_view m, const SessionContext& ctx) {
  auto b = hex(msg(m));
  auto h = parse_header(b);
  EXPECT_TRUE(h && *h && (*h)->type == MsgType::kUpdate && (*h)->length == b.size()) << "header of the test message";
  auto u = parse_update(body_of(b), ctx);
  EXPECT_TRUE(u) << (u ? "" : describe(u.error()));
  return u ? *u : Update{};
}

Notification parse_err(std::string_view m, const SessionContext& ctx) {
  auto b = hex(msg(m));
  auto u = parse_update(body_of(b), ctx);
  EXPECT_FALSE(u) << "expected a NOTIFICATION";
  return u ? Notification{} : u.error();
}

TEST(WireUpdate, EncodeAnnounceMatchesHandWrittenBytes) {
  const std::vector<net::Ipv4Prefix> pfx{p4("198.51.100.0/24")};
  auto m = encode_announce(pfx, doc_announce(), ibgp());
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(to_hex(m[0]), to_hex(hex(msg(kDocUpdate))));
}

TEST(WireUpdate, ParseTunnelEncapFieldByField) {
  auto u = parse_ok(kDocUpdate, ibgp());
  EXPECT_FALSE(u.treat_as_withdraw) << u.error;
  EXPECT_FALSE(u.end_of_rib);
  EXPECT_FALSE(u.other_families);
  EXPECT_TRUE(u.withdrawn.empty());
  ASSERT_EQ(u.announced.size(), 1u);
  EXPECT_EQ(u.announced[0], p4("198.51.100.0/24"));
  EXPECT_EQ(u.attrs.origin, 0);
  EXPECT_TRUE(u.attrs.as_path.empty());
  EXPECT_EQ(u.attrs.local_pref, 100u);
  EXPECT_FALSE(u.attrs.med);
  EXPECT_EQ(u.attrs.next_hop, v6("2001:db8:ffff::3"));
  EXPECT_FALSE(u.attrs.next_hop_link_local);
  ASSERT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kPresent) << u.attrs.rule_error;
  EXPECT_EQ(u.attrs.rule_shape, Shape::kTunnelEncap);
  EXPECT_FALSE(u.attrs.rule.translate);
  EXPECT_FALSE(u.attrs.rule.is_default);
  EXPECT_EQ(u.attrs.rule.pref6, p6("2001:db8:3::/48"));
  EXPECT_EQ(u.attrs.rule.egress, v6("2001:db8:ffff::3"));
  EXPECT_EQ(u.attrs.rule_attr_raw, hex("c0 17 26 fffe 0022 7e 08 00 30 20010db80003 06 16 00000000 0002 "
                                       "20010db8ffff00000000000000000003"));
  EXPECT_TRUE(u.attrs.other.empty());
}

// The standalone shape over eBGP: AS_PATH 65001 (4-octet), MED 5,
// NO_EXPORT, a 32-octet next hop, the default rule 0.0.0.0/0 -> 64:ff9b::/96
// translate, in attribute 255.
constexpr std::string_view kStandalone =
    "006c 02 0000 0055"
    "80 0e 26 0001 01 20 20010db8ffff00000000000000000005 fe800000000000000000000000000005 00 00"
    "40 01 01 02"
    "40 02 06 02 01 0000fde9"
    "80 04 04 00000005"
    "c0 08 04 ffffff01"
    "c0 ff 0e c0 60 0064ff9b0000000000000000";

TEST(WireUpdate, ParseStandaloneShape) {
  auto u = parse_ok(kStandalone, ebgp());
  EXPECT_FALSE(u.treat_as_withdraw) << u.error;
  ASSERT_EQ(u.announced.size(), 1u);
  EXPECT_EQ(u.announced[0], p4("0.0.0.0/0"));
  EXPECT_EQ(u.attrs.origin, 2);
  ASSERT_EQ(u.attrs.as_path.size(), 1u);
  EXPECT_EQ(u.attrs.as_path[0], (AsSegment{2, {65001}}));
  EXPECT_EQ(u.attrs.med, 5u);
  EXPECT_EQ(u.attrs.communities, std::vector<uint32_t>{0xffffff01});
  EXPECT_EQ(u.attrs.next_hop, v6("2001:db8:ffff::5"));
  EXPECT_EQ(u.attrs.next_hop_link_local, v6("fe80::5"));
  ASSERT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kPresent) << u.attrs.rule_error;
  EXPECT_EQ(u.attrs.rule_shape, Shape::kAttribute);
  EXPECT_TRUE(u.attrs.rule.translate);
  EXPECT_TRUE(u.attrs.rule.is_default);
  EXPECT_EQ(u.attrs.rule.pref6, p6("64:ff9b::/96"));
  EXPECT_FALSE(u.attrs.rule.egress);
  EXPECT_EQ(u.attrs.rule_attr_raw, hex("c0 ff 0e c0 60 0064ff9b0000000000000000"));
}

TEST(WireUpdate, EncodeStandaloneShapeMatchesHandWrittenBytes) {
  Announce a;
  a.origin = 2;
  a.as_path = {AsSegment{2, {65001}}};
  a.med = 5;
  a.local_pref = 300;  // not sent to an eBGP peer
  a.communities = {0xffffff01};
  a.next_hop = v6("2001:db8:ffff::5");
  a.next_hop_link_local = v6("fe80::5");
  a.rule.translate = a.rule.is_default = true;
  a.rule.pref6 = p6("64:ff9b::/96");
  a.shape = Shape::kAttribute;
  const std::vector<net::Ipv4Prefix> pfx{p4("0.0.0.0/0")};
  auto m = encode_announce(pfx, a, ebgp());
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(to_hex(m[0]), to_hex(hex(msg(kStandalone))));
}

TEST(WireUpdate, TwoOctetAsPathWithAsTransAndAs4Path) {
  // RFC 6793 4.2.2: 4200000001 becomes AS_TRANS (0x5ba0) in AS_PATH and the
  // true path goes in AS4_PATH (17, optional transitive).
  Announce a = doc_announce();
  a.rule.egress.reset();
  a.as_path = {AsSegment{2, {65001, 4200000001u}}};
  SessionContext c = ebgp();
  c.four_octet_as = false;
  const std::vector<net::Ipv4Prefix> pfx{p4("198.51.100.0/24")};
  auto m = encode_announce(pfx, a, c);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(to_hex(m[0]), to_hex(hex(msg("005e 02 0000 0047"
                                         "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364"
                                         "40 01 01 00"
                                         "40 02 06 02 02 fde9 5ba0"
                                         "c0 11 0a 02 02 0000fde9 fa56ea01"
                                         "c0 17 0e fffe 000a 7e 08 00 30 20010db80003"))));
  auto u = parse_update(body_of(m[0]), c);
  ASSERT_TRUE(u);
  ASSERT_EQ(u->attrs.as_path.size(), 1u);
  EXPECT_EQ(u->attrs.as_path[0].asns, (std::vector<uint32_t>{65001, 23456}));
}

TEST(WireUpdate, UnknownSubTlvsIgnoredRuleKept) {
  // Sub-TLV 0x80 (2-octet length, RFC 9012 2) and 5, around ours.
  auto u = parse_ok(upd("",
                        "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364"
                        "40 01 01 00 40 02 00"
                        "c0 17 14 fffe 0010 80 0003 aabbcc 7e 04 80 10 2001 05 02 1122"),
                    ebgp());
  ASSERT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kPresent) << u.attrs.rule_error;
  EXPECT_TRUE(u.attrs.rule.translate);
  EXPECT_EQ(u.attrs.rule.pref6, p6("2001::/16"));
  EXPECT_FALSE(u.treat_as_withdraw);
}

TEST(WireUpdate, OtherTunnelTypesIgnored) {
  auto u = parse_ok(upd("",
                        "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364"
                        "40 01 01 00 40 02 00"
                        "c0 17 0a 0007 0006 7e 04 00 10 2001"),
                    ebgp());
  EXPECT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kAbsent);
  EXPECT_FALSE(u.treat_as_withdraw);
  EXPECT_EQ(u.announced.size(), 1u);
}

// An UPDATE announcing 198.51.100.0/24 whose attribute 23 holds one Tunnel
// TLV of our type with `subs` as its sub-TLVs; `tlv_len` overrides the
// Tunnel TLV length (else the true one).
std::string with_tunnel(std::string_view subs, int tlv_len = -1) {
  const std::size_t n = hex(subs).size();
  char buf[64];
  std::snprintf(buf, sizeof buf, "c0 17 %02zx fffe %04x ", n + 4,
                tlv_len < 0 ? static_cast<unsigned>(n) : static_cast<unsigned>(tlv_len));
  return upd("", std::string(kMpReach) + "40 01 01 00 40 02 00" + buf + std::string(subs));
}

TEST(WireUpdate, MalformedRuleIsNotAReset) {
  const std::vector<std::pair<std::string, std::string>> cases{
      // Pref6 length 129.
      {with_tunnel("7e 02 00 81"), "> 128"},
      // /48 with 2 octets of value.
      {with_tunnel("7e 04 00 30 2001"), "expected 8"},
      // /12 whose second octet has bits past the length (0x0d: bit 15 set).
      {with_tunnel("7e 04 00 0c 200d"), "past /12"},
      // Body shorter than 2 octets.
      {with_tunnel("7e 01 00"), "at least 2"},
      // Our Tunnel TLV without our sub-TLV.
      {with_tunnel("05 02 1122"), "without"},
      // A sub-TLV overrunning its Tunnel TLV.
      {with_tunnel("7e 05 00 10"), "overruns"},
      // Tunnel TLV length past the attribute.
      {with_tunnel("7e 04 00 10 2001", 9), "overruns"},
      // Egress endpoint AFI 2 with 4 octets of address.
      {with_tunnel("7e 04 00 10 2001 06 0a 00000000 0002 c0000201"), "AFI"},
  };
  for (const auto& [m, why] : cases) {
    SCOPED_TRACE(m);
    auto u = parse_ok(m, ebgp());
    EXPECT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kMalformed);
    EXPECT_NE(u.attrs.rule_error.find(why), std::string::npos) << u.attrs.rule_error;
    EXPECT_EQ(u.announced.size(), 1u);
    EXPECT_FALSE(u.treat_as_withdraw) << u.error;  // the RIB withdraws the rule's routes, not the codec
    EXPECT_EQ(u.attrs.rule_shape, Shape::kTunnelEncap);
    EXPECT_EQ(u.attrs.rule_attr_raw.size(), 3 + std::stoul(m.substr(m.find("c0 17 ") + 6, 2), nullptr, 16));
  }
}

TEST(WireUpdate, MalformedStandaloneAttribute) {
  auto u = parse_ok(upd("",
                        "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364"
                        "40 01 01 00 40 02 00"
                        "c0 ff 03 00 81 00"),
                    ebgp());
  EXPECT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kMalformed);
  EXPECT_EQ(u.attrs.rule_shape, Shape::kAttribute);
  EXPECT_EQ(u.attrs.rule_attr_raw, hex("c0 ff 03 00 81 00"));
}

TEST(WireUpdate, ValidAttribute23PreferredThenValidStandalone) {
  // Both valid: 23 wins.
  auto u = parse_ok(upd("",
                        "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364"
                        "40 01 01 00 40 02 00"
                        "c0 17 0a fffe 0006 7e 04 00 10 2001"
                        "c0 ff 04 00 10 2002"),
                    ebgp());
  ASSERT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kPresent);
  EXPECT_EQ(u.attrs.rule_shape, Shape::kTunnelEncap);
  EXPECT_EQ(u.attrs.rule.pref6, p6("2001::/16"));
  // 23 malformed (/17 in 2 octets), standalone valid: standalone wins.
  u = parse_ok(upd("",
                   "80 0e 19 0001 01 10 20010db8ffff00000000000000000003 00 18 c63364"
                   "40 01 01 00 40 02 00"
                   "c0 17 0a fffe 0006 7e 04 00 11 2001"
                   "c0 ff 04 00 10 2002"),
               ebgp());
  ASSERT_EQ(u.attrs.rule_state, PathAttrs::RuleState::kPresent);
  EXPECT_EQ(u.attrs.rule_shape, Shape::kAttribute);
  EXPECT_EQ(u.attrs.rule.pref6, p6("2002::/16"));
}

TEST(WireUpdate7606, MissingOriginIsTreatAsWithdraw) {
  auto u = parse_ok(upd("", std::string(kMpReach) + "40 02 00"), ibgp());
  EXPECT_TRUE(u.treat_as_withdraw);
  EXPECT_NE(u.error.find("ORIGIN"), std::string::npos);
  EXPECT_EQ(u.announced.size(), 1u);
}

TEST(WireUpdate7606, MissingAsPathIsTreatAsWithdraw) {
  auto u = parse_ok(upd("", std::string(kMpReach) + "40 01 01 00"), ibgp());
  EXPECT_TRUE(u.treat_as_withdraw);
  EXPECT_NE(u.error.find("AS_PATH"), std::string::npos);
}

TEST(WireUpdate7606, DuplicateMpReachIsMalformedAttributeList) {
  auto n = parse_err(upd("", std::string(kMpReach) + std::string(kMpReach) + "40 01 01 00 40 02 00"), ibgp());
  EXPECT_EQ(n, (Notification{3, 1, {}}));
}

TEST(WireUpdate7606, PrefixLength33InMpReachIsAReset) {
  auto n = parse_err(
      upd("", "80 0e 1a 0001 01 10 20010db8ffff00000000000000000003 00 21 c6336400 40 01 01 00 40 02 00"), ibgp());
  EXPECT_EQ(n.code, 3);
  EXPECT_EQ(n.subcode, 9);  // RFC 4760 7: Optional Attribute Error
}

TEST(WireUpdate7606, PrefixLength33InClassicNlriIsInvalidNetwork) {
  auto n = parse_err(upd("", "40 01 01 00 40 02 00 40 03 04 c0000201 40 05 04 00000064", "21 0a000000 00"), ibgp());
  EXPECT_EQ(n, (Notification{3, 10, {}}));
}

TEST(WireUpdate7606, BadNextHopLengthIsAReset) {
  // RFC 7606 7.11: 8 octets of next hop.
  auto n = parse_err(upd("", "80 0e 11 0001 01 08 2001 0db8 ffff 0003 00 18 c63364 40 01 01 00 40 02 00"), ibgp());
  EXPECT_EQ(n, (Notification{3, 9, {}}));
}

TEST(WireUpdate7606, Ipv4NextHopInMpReachIsMapped) {
  auto u = parse_ok(upd("", "80 0e 0d 0001 01 04 c0000201 00 18 c63364 40 01 01 00 40 02 00"), ibgp());
  EXPECT_FALSE(u.treat_as_withdraw);
  EXPECT_EQ(u.attrs.next_hop, v6("::ffff:192.0.2.1"));
}

TEST(WireUpdate7606, AttributeListOverrunWithoutMpIsAReset) {
  // ORIGIN then an AS_PATH claiming 9 octets where 2 remain.
  auto n = parse_err("0020 02 0000 0009 40 01 01 00 40 02 09 02 01", ibgp());
  EXPECT_EQ(n, (Notification{3, 1, {}}));
}

TEST(WireUpdate7606, AttributeListOverrunAfterMpReachIsTreatAsWithdraw) {
  auto u = parse_ok(upd("", std::string(kMpReach) + "40 01 01 00 40 02 09 02 01"), ibgp());
  EXPECT_TRUE(u.treat_as_withdraw);
  EXPECT_EQ(u.announced.size(), 1u);
}

TEST(WireUpdate7606, WithdrawnLengthPastTheMessage) {
  EXPECT_EQ(parse_err("0017 02 0009 0000", ibgp()), (Notification{3, 1, {}}));
}

TEST(WireUpdate7606, DuplicateOtherAttributeKeepsTheFirst) {
  auto u = parse_ok(upd("", std::string(kMpReach) + "40 01 01 01 40 01 01 02 40 02 00"), ibgp());
  EXPECT_FALSE(u.treat_as_withdraw);
  EXPECT_EQ(u.attrs.origin, 1);
}

TEST(WireUpdate7606, MalformedWellKnownLengthsAreTreatAsWithdraw) {
  // ORIGIN of 2 octets; LOCAL_PREF of 3 (iBGP); ORIGIN value 3; MED of 2.
  for (const char* attrs : {"40 01 02 0000 40 02 00", "40 01 01 00 40 02 00 40 05 03 000064", "40 01 01 03 40 02 00",
                            "40 01 01 00 40 02 00 80 04 02 0000"}) {
    SCOPED_TRACE(attrs);
    auto u = parse_ok(upd("", std::string(kMpReach) + attrs), ibgp());
    EXPECT_TRUE(u.treat_as_withdraw);
  }
}

TEST(WireUpdate7606, WrongFlagsOnOriginIsTreatAsWithdraw) {
  auto u = parse_ok(upd("", std::string(kMpReach) + "c0 01 01 00 40 02 00"), ibgp());
  EXPECT_TRUE(u.treat_as_withdraw);
}

TEST(WireUpdate7606, ReflectorAttributesFromEbgpAreDiscarded) {
  auto m = upd("", std::string(kMpReach) + "40 01 01 00 40 02 00 80 09 04 c0000209 80 0a 04 c000020a");
  auto u = parse_ok(m, ebgp());
  EXPECT_FALSE(u.treat_as_withdraw);
  EXPECT_FALSE(u.attrs.originator_id);
  EXPECT_TRUE(u.attrs.cluster_list.empty());
  u = parse_ok(m, ibgp());
  EXPECT_EQ(u.attrs.originator_id, 0xc0000209u);
  EXPECT_EQ(u.attrs.cluster_list, std::vector<uint32_t>{0xc000020a});
}

TEST(WireUpdate7606, LocalPrefFromEbgpIsDisregarded) {
  auto u = parse_ok(upd("", std::string(kMpReach) + "40 01 01 00 40 02 00 40 05 04 00000064"), ebgp());
  EXPECT_FALSE(u.treat_as_withdraw);
  EXPECT_FALSE(u.attrs.local_pref);
}

TEST(WireUpdate, UnknownAttributes) {
  // Optional transitive 99 is kept, optional non-transitive 98 dropped.
  auto u = parse_ok(upd("", std::string(kMpReach) + "40 01 01 00 40 02 00 c0 63 02 abcd 80 62 01 ef"), ebgp());
  ASSERT_EQ(u.attrs.other.size(), 1u);
  EXPECT_EQ(u.attrs.other[0], (RawAttr{0xc0, 99, {0xab, 0xcd}}));
  // An unrecognized well-known attribute: RFC 4271 6.3, data = the attribute.
  auto n = parse_err(upd("", std::string(kMpReach) + "40 01 01 00 40 02 00 40 63 01 ee"), ebgp());
  EXPECT_EQ(n, (Notification{3, 2, hex("40 63 01 ee")}));
}

TEST(WireUpdate, OtherFamiliesIgnored) {
  // MP_REACH of IPv6 unicast (AFI 2 SAFI 1).
  auto u = parse_ok(upd("",
                        "80 0e 1e 0002 01 10 20010db8ffff00000000000000000003 00 40 20010db800000001 40 01 01 00 40 02 "
                        "00"),
                    ebgp());
  EXPECT_TRUE(u.other_families);
  EXPECT_TRUE(u.announced.empty());
}

TEST(WireUpdate, ClassicNlriWithNextHop) {
  auto u = parse_ok(upd("08 0a", "40 01 01 00 40 02 00 40 03 04 c0000201 40 05 04 00000064", "18 c63364"), ibgp());
  EXPECT_EQ(u.withdrawn, std::vector<net::Ipv4Prefix>{p4("10.0.0.0/8")});
  EXPECT_EQ(u.announced, std::vector<net::Ipv4Prefix>{p4("198.51.100.0/24")});
  EXPECT_EQ(u.attrs.next_hop, v6("::ffff:192.0.2.1"));
  EXPECT_FALSE(u.treat_as_withdraw);
  // Without NEXT_HOP: treat-as-withdraw.
  u = parse_ok(upd("", "40 01 01 00 40 02 00 40 05 04 00000064", "18 c63364"), ibgp());
  EXPECT_TRUE(u.treat_as_withdraw);
}

TEST(WireUpdate, WithdrawMatchesHandWrittenBytes) {
  const std::vector<net::Ipv4Prefix> pfx{p4("198.51.100.0/24"), p4("10.0.0.0/8"), p4("0.0.0.0/0")};
  auto m = encode_withdraw(pfx, ebgp());
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(to_hex(m[0]), to_hex(hex(msg("0024 02 0000 000d 80 0f 0a 0001 01 18 c63364 08 0a 00"))));
  auto u = parse_update(body_of(m[0]), ebgp());
  ASSERT_TRUE(u);
  EXPECT_EQ(u->withdrawn, pfx);
  EXPECT_FALSE(u->end_of_rib);
  EXPECT_FALSE(u->treat_as_withdraw);  // no NLRI: no mandatory attributes needed
}

TEST(WireUpdate, EndOfRib) {
  // RFC 4724 2: IPv4 unicast -> empty UPDATE; another SAFI -> empty MP_UNREACH.
  EXPECT_EQ(encode_end_of_rib(ebgp()), hex(msg("0017 02 0000 0000")));
  SessionContext c;
  c.cp.safi = 2;
  EXPECT_EQ(encode_end_of_rib(c), hex(msg("001d 02 0000 0006 80 0f 03 0001 02")));
  EXPECT_TRUE(parse_ok("0017 02 0000 0000", ebgp()).end_of_rib);
  EXPECT_TRUE(parse_ok("001d 02 0000 0006 80 0f 03 0001 02", c).end_of_rib);
  EXPECT_TRUE(parse_ok("001d 02 0000 0006 80 0f 03 0001 01", ebgp()).end_of_rib);
  EXPECT_FALSE(parse_ok("001d 02 0000 0006 80 0f 03 0001 01", c).end_of_rib);  // another family's
  EXPECT_FALSE(parse_ok("0017 02 0000 0000", c).end_of_rib);
  EXPECT_FALSE(parse_ok(kDocUpdate, ibgp()).end_of_rib);
}

TEST(WireUpdate, SplitTwoThousandPrefixes) {
  // Mixed lengths /8../32 (1..5 octets each), built with the naive formula.
  std::vector<net::Ipv4Prefix> pfx;
  for (uint32_t i = 0; i < 2000; ++i) {
    const uint8_t len = static_cast<uint8_t>(8 + i % 25);
    const uint32_t a = ((0x0a000000u + i * 0x1013u) << 0) & net::mask4(len);
    pfx.push_back(net::Ipv4Prefix{net::Ipv4Addr{a}, len});
  }
  for (bool withdraw : {false, true}) {
    SCOPED_TRACE(withdraw ? "withdraw" : "announce");
    auto msgs = withdraw ? encode_withdraw(pfx, ibgp()) : encode_announce(pfx, doc_announce(), ibgp());
    EXPECT_GE(msgs.size(), 2u);
    std::vector<net::Ipv4Prefix> back;
    for (const auto& m : msgs) {
      EXPECT_LE(m.size(), kMaxMessage);
      auto h = parse_header(m);
      ASSERT_TRUE(h && *h);
      EXPECT_EQ((*h)->length, m.size());
      auto u = parse_update(body_of(m), ibgp());
      ASSERT_TRUE(u);
      EXPECT_FALSE(u->treat_as_withdraw);
      const auto& got = withdraw ? u->withdrawn : u->announced;
      back.insert(back.end(), got.begin(), got.end());
      if (!withdraw) {
        EXPECT_EQ(u->attrs.rule_state, PathAttrs::RuleState::kPresent);
      }
    }
    EXPECT_EQ(back, pfx);
  }
}

TEST(WireRuleBody, DecodeCases) {
  auto r = decode_rule_body(hex("80 00"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->translate);
  EXPECT_EQ(r->pref6, p6("::/0"));
  r = decode_rule_body(hex("3f 80 20010db8000000000000000000000001"));  // reserved bits ignored
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->translate);
  EXPECT_FALSE(r->is_default);
  EXPECT_EQ(r->pref6, p6("2001:db8::1/128"));
  EXPECT_FALSE(decode_rule_body(hex("00 81 20010db8000000000000000000000001 00")));
  EXPECT_FALSE(decode_rule_body(hex("00 30 20010db8000300")));
  EXPECT_FALSE(decode_rule_body(hex("00 2f 20010db80003")));  // /47: last bit set
  EXPECT_FALSE(decode_rule_body(hex("00")));
}

TEST(WireRuleBody, AttributeSecondSubTlvRangeUsesTwoOctetLength) {
  CodePoints cp;
  cp.sub_tlv = 200;
  FourMap6 rule;
  rule.pref6 = p6("2001:db8::/32");
  EXPECT_EQ(encode_rule_attribute(rule, Shape::kTunnelEncap, cp), hex("c0 17 0d fffe 0009 c8 0006 00 20 20010db8"));
  EXPECT_EQ(encode_rule_attribute(rule, Shape::kAttribute, cp), hex("c0 ff 06 00 20 20010db8"));
}

// docs/bgp-4map6.md's annotated hex dump is the encoder's output, octet for
// octet, and the hand-written kDocUpdate.
TEST(WireDoc, HexDumpMatchesEncoder) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "../../../docs/bgp-4map6.md";
  std::ifstream f(path);
  ASSERT_TRUE(f) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  const auto b = doc.find("<!-- update-hex-begin -->"), e = doc.find("<!-- update-hex-end -->");
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  std::string octets;
  std::istringstream lines(doc.substr(b, e - b));
  for (std::string line; std::getline(lines, line);) {
    const auto bar = line.find('|');
    if (bar != std::string::npos) octets += line.substr(0, bar);
  }
  const auto dump = hex(octets);
  EXPECT_EQ(dump.size(), 106u);
  EXPECT_EQ(to_hex(dump), to_hex(hex(msg(kDocUpdate))));
  const std::vector<net::Ipv4Prefix> pfx{p4("198.51.100.0/24")};
  auto m = encode_announce(pfx, doc_announce(), ibgp());
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(to_hex(m[0]), to_hex(dump));
  // The standalone variant quoted under the dump.
  FourMap6 rule = doc_announce().rule;
  EXPECT_EQ(encode_rule_attribute(rule, Shape::kAttribute, CodePoints{}), hex("c0 ff 08 00 30 20 01 0d b8 00 03"));
}

}  // namespace
