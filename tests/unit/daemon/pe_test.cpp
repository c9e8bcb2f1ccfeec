// The PE role's composition (pipeline/pe.h) on packets built independently
// (tests/support/packet_builder.h): ingress translate and encapsulate, the
// default rule, no rule, egress restore by Next Header, the section 7.1
// checks, modes refused, Packet Too Big from the core, a rule change.
//
// Plan (documentation prefixes only):
//   this PE (PE1): Pref6 2001:db8:1:46::/96 (low32), IPv4 side 192.0.2.0/26
//   PE3: Pref6 2001:db8:3:46::/96, behind it 198.51.100.0/24
//   default egress PE: 2001:db8:d:46::/96 (rule 0.0.0.0/0)
#include <gtest/gtest.h>

#include <memory>

#include "mapping/mrdb.h"
#include "pipeline/pipeline.h"
#include "support/packet_builder.h"

namespace edge46 {
namespace {

using test::a4;
using test::a6;
using test::Bytes;

mapping::Pool6 pool(const char* p, unsigned len) {
  return mapping::Pool6{net::Ipv6Prefix{net::Ipv6Addr{a6(p)}, static_cast<uint8_t>(len)}, mapping::Pool6Layout::kLow32};
}

mapping::MrRule rule(const char* v4, unsigned len, const char* pref6, uint8_t modes,
                     mapping::RuleSource src = mapping::RuleSource::kConfig) {
  mapping::MrRule r;
  r.prefix = net::Ipv4Prefix{net::Ipv4Addr{a4(v4)}, static_cast<uint8_t>(len)};
  r.target.pool6 = pool(pref6, 96);
  r.target.modes = modes;
  r.source = src;
  return r;
}

struct Pe : ::testing::Test {
  xlat::Config xcfg;
  mapping::Eamt eamt;
  pipeline::RoleConfig role;
  mapping::MrDb mrdb;
  xlat::KnownPrefixes known;
  pipeline::PmtuCache pmtu;
  std::unique_ptr<xlat::Output> out = std::make_unique<xlat::Output>();
  pipeline::CounterSet counters{1};
  std::unique_ptr<pipeline::WorkerContext> ctx = std::make_unique<pipeline::WorkerContext>();

  void SetUp() override {
    xcfg.own_ipv4 = net::Ipv4Addr{a4("192.0.2.1")};
    xcfg.own_ipv6 = net::Ipv6Addr{a6("2001:db8:1::1")};
    role.role = pipeline::Role::kPe;
    role.pe.own = pool("2001:db8:1:46::", 96);
    role.pe.core_mtu = 1500;
    ASSERT_TRUE(mrdb.upsert(rule("198.51.100.0", 24, "2001:db8:3:46::", mapping::kModeBoth)));
    ASSERT_TRUE(mrdb.upsert(rule("192.0.2.0", 26, "2001:db8:1:46::", mapping::kModeBoth, mapping::RuleSource::kLocal)));
    known.insert(role.pe.own.prefix.addr.to_u128(), 96, xlat::KnownPref6{role.pe.own, true});
    auto pe3 = pool("2001:db8:3:46::", 96);
    known.insert(pe3.prefix.addr.to_u128(), 96, xlat::KnownPref6{pe3, false});
    ctx->now_ns = 1'000'000'000'000ull;
  }
  pipeline::Result run(const Bytes& in) {
    const pipeline::Env env{xcfg, role, eamt, nullptr, pipeline::PeTables{&mrdb, &known, &pmtu}};
    return pipeline::process(env, in, *out, counters.worker(0), *ctx);
  }
  Bytes emitted(std::size_t i = 0) const {
    auto s = out->packet(i);
    return Bytes(s.begin(), s.end());
  }
  uint64_t count(const char* name) { return counters.totals().get(name).value_or(~0ull); }

  static Bytes udp4(const char* src, const char* dst, std::size_t n = 8, bool df = true) {
    test::Ip4 h;
    h.src = a4(src);
    h.dst = a4(dst);
    h.proto = test::kUdp;
    h.df = df;
    return test::v4_packet(h, test::udp(4000, 5000, test::pattern(n)));
  }
  // What PE3 sends back: 198.51.100.7 -> 192.0.2.10 through the core.
  static Bytes udp6_from_pe3(uint8_t next_mode_encap, const char* inner_src = "198.51.100.7",
                             const char* outer_src = "2001:db8:3:46::c633:6407") {
    test::Ip6 o;
    o.src = a6(outer_src);
    o.dst = a6("2001:db8:1:46::c000:20a");
    if (next_mode_encap) {
      o.next = 4;
      return test::ipv6(o, udp4(inner_src, "192.0.2.10"));
    }
    o.next = test::kUdp;
    return test::v6_packet(o, test::udp(5000, 4000, test::pattern(8)));
  }
};

TEST_F(Pe, IngressTranslatesWithTheEgressPref6) {
  role.pe.prefer = mapping::kModeTranslate;
  auto r = run(udp4("192.0.2.10", "198.51.100.7"));
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  ASSERT_EQ(out->count, 1u);
  auto p = emitted();
  EXPECT_EQ(p[0] >> 4, 6);
  EXPECT_EQ(p[6], test::kUdp);  // translated: UDP right after the IPv6 header
  // Section 4.1: Pref6(ingress) + IPv4 source > Pref6(egress) + IPv4 destination.
  EXPECT_EQ(test::str6(p, 8), "2001:db8:1:46::c000:20a");
  EXPECT_EQ(test::str6(p, 24), "2001:db8:3:46::c633:6407");
  EXPECT_TRUE(test::l4_valid6(p, 40, test::kUdp));
  EXPECT_EQ(count("translated"), 1u);
}

TEST_F(Pe, IngressEncapsulatesWhenTheEgressAcceptsIt) {
  role.pe.prefer = mapping::kModeEncapsulate;
  const Bytes in = udp4("192.0.2.10", "198.51.100.7");
  auto r = run(in);
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  auto p = emitted();
  EXPECT_EQ(p[6], 4);  // RFC 2473: Next Header 4
  EXPECT_EQ(test::str6(p, 8), "2001:db8:1:46::c000:20a");
  EXPECT_EQ(test::str6(p, 24), "2001:db8:3:46::c633:6407");
  ASSERT_EQ(p.size(), 40 + in.size());
  // The inner packet is the original with its TTL decremented.
  EXPECT_EQ(p[40 + 8], in[8] - 1);
  EXPECT_EQ(test::str4(p, 40 + 12), "192.0.2.10");
  EXPECT_TRUE(test::ipv4_header_valid({p.data() + 40, p.size() - 40}));
}

TEST_F(Pe, TranslateOnlyEgressGetsTranslationWhateverThePreference) {
  ASSERT_TRUE(mrdb.upsert(rule("198.51.100.0", 24, "2001:db8:3:46::", mapping::kModeTranslate)));
  role.pe.prefer = mapping::kModeEncapsulate;
  ASSERT_TRUE(run(udp4("192.0.2.10", "198.51.100.7")).emitted());
  EXPECT_EQ(emitted()[6], test::kUdp);
}

TEST_F(Pe, NoRuleIsDroppedCountedAndAnswered) {
  auto r = run(udp4("192.0.2.10", "203.0.113.9"));
  EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kIcmpError);
  EXPECT_EQ(r.verdict.reason, core::Drop::kNoMappingRule);
  EXPECT_EQ(count("drop.no_mapping_rule"), 1u);
  auto p = emitted();
  EXPECT_EQ(test::str4(p, 16), "192.0.2.10");
  EXPECT_EQ(p[20], 3);  // Destination Unreachable
  EXPECT_EQ(p[21], 0);  // net unreachable
  role.pe.no_rule_unreachable = false;
  r = run(udp4("192.0.2.10", "203.0.113.9"));
  EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kDropped);
  EXPECT_EQ(out->count, 0u);
  EXPECT_EQ(count("drop.no_mapping_rule"), 2u);
}

TEST_F(Pe, TheDefaultRuleCarriesUnlistedPrefixes) {
  ASSERT_TRUE(mrdb.upsert(rule("0.0.0.0", 0, "2001:db8:d:46::", mapping::kModeBoth)));
  ASSERT_TRUE(run(udp4("192.0.2.10", "203.0.113.9")).emitted());
  EXPECT_EQ(test::str6(emitted(), 24), "2001:db8:d:46::cb00:7109");
  // A listed prefix still uses its own rule.
  ASSERT_TRUE(run(udp4("192.0.2.10", "198.51.100.7")).emitted());
  EXPECT_EQ(test::str6(emitted(), 24), "2001:db8:3:46::c633:6407");
}

TEST_F(Pe, ARuleChangeMovesTheNextPacket) {
  ASSERT_TRUE(run(udp4("192.0.2.10", "198.51.100.7")).emitted());
  EXPECT_EQ(test::str6(emitted(), 24), "2001:db8:3:46::c633:6407");
  auto moved = rule("198.51.100.0", 24, "2001:db8:2:46::", mapping::kModeBoth, mapping::RuleSource::kCtl);
  ASSERT_TRUE(mrdb.upsert(moved));  // ctl beats config at equal preference
  ASSERT_TRUE(run(udp4("192.0.2.10", "198.51.100.7")).emitted());
  EXPECT_EQ(test::str6(emitted(), 24), "2001:db8:2:46::c633:6407");
}

TEST_F(Pe, EgressDecapsulatesByNextHeader) {
  auto r = run(udp6_from_pe3(true));
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  auto p = emitted();
  EXPECT_EQ(p[0] >> 4, 4);
  EXPECT_EQ(test::str4(p, 12), "198.51.100.7");
  EXPECT_EQ(test::str4(p, 16), "192.0.2.10");
  EXPECT_EQ(p[9], test::kUdp);  // the inner packet, not an IPv4 packet of protocol 4
  EXPECT_TRUE(test::ipv4_header_valid(p));
}

// RFC 2473 allows Destination Options (the Tunnel Encapsulation Limit)
// before the inner packet: still a tunnel packet, decapsulated and checked,
// never translated into an IPv4 packet of protocol 4.
TEST_F(Pe, EgressDecapsulatesAfterExtensionHeaders) {
  test::Ip6 o;
  o.src = a6("2001:db8:3:46::c633:6407");
  o.dst = a6("2001:db8:1:46::c000:20a");
  o.next = 60;  // Destination Options
  Bytes body = test::ext_header(4);
  test::append(body, udp4("198.51.100.7", "192.0.2.10"));
  auto r = run(test::ipv6(o, body));
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kDecapsulated);
  auto p = emitted();
  EXPECT_EQ(p[9], test::kUdp);
  EXPECT_EQ(test::str4(p, 12), "198.51.100.7");
  // The same with a forged inner source is caught, not translated.
  body = test::ext_header(4);
  test::append(body, udp4("198.51.100.99", "192.0.2.10"));
  r = run(test::ipv6(o, body));
  EXPECT_FALSE(r.emitted());
  EXPECT_EQ(count("drop.decap_address_mismatch"), 1u);
  EXPECT_EQ(count("translated"), 0u);
  // And a PE that accepts only translation refuses it as a tunnel packet.
  role.pe.accept = mapping::kModeTranslate;
  r = run(test::ipv6(o, body));
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kPeModeRefused);
}

// Packets not addressed to our Pref6 (the kernel's own ND/MLD out of the
// TUN) are not_own_pref6 whatever the accepted modes.
TEST_F(Pe, ForeignDestinationIsNotOwnBeforeTheModeCheck) {
  role.pe.accept = mapping::kModeEncapsulate;
  test::Ip6 o;
  o.src = a6("fe80::1");
  o.dst = a6("ff02::16");
  o.next = test::kIcmp6;
  auto r = run(test::v6_packet(o, test::icmp(143, 0, 0, test::pattern(20))));
  EXPECT_EQ(r.verdict.reason, core::Drop::kNotOwnPref6);
  EXPECT_EQ(count("drop.pe_mode_refused"), 0u);
}

TEST_F(Pe, EgressTranslatesBackAnythingElse) {
  auto r = run(udp6_from_pe3(false));
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  auto p = emitted();
  EXPECT_EQ(test::str4(p, 12), "198.51.100.7");
  EXPECT_EQ(test::str4(p, 16), "192.0.2.10");
  EXPECT_TRUE(test::l4_valid4(p));
}

TEST_F(Pe, ForgedPacketsFromTheCoreAreDroppedByName) {
  // Inner source that disagrees with the outer one (section 7.1).
  auto r = run(udp6_from_pe3(true, "198.51.100.99"));
  EXPECT_FALSE(r.emitted());
  EXPECT_EQ(count("drop.decap_address_mismatch"), 1u);
  // An outer source under no known Pref6, either mode.
  r = run(udp6_from_pe3(true, "198.51.100.7", "2001:db8:9:46::c633:6407"));
  EXPECT_EQ(r.verdict.reason, core::Drop::kPeUnknownSource);
  r = run(udp6_from_pe3(false, "198.51.100.7", "2001:db8:9:46::c633:6407"));
  EXPECT_EQ(r.verdict.reason, core::Drop::kPeUnknownSource);
  EXPECT_EQ(count("drop.pe_unknown_source"), 2u);
  // A destination outside this PE's Pref6.
  test::Ip6 o;
  o.src = a6("2001:db8:3:46::c633:6407");
  o.dst = a6("2001:db8:7::1");
  o.next = test::kUdp;
  r = run(test::v6_packet(o, test::udp(1, 2, test::pattern(4))));
  EXPECT_EQ(r.verdict.reason, core::Drop::kNotOwnPref6);
}

TEST_F(Pe, ModesThisPeDoesNotAcceptAreRefused) {
  role.pe.accept = mapping::kModeTranslate;
  auto r = run(udp6_from_pe3(true));
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kPeModeRefused);
  role.pe.accept = mapping::kModeEncapsulate;
  r = run(udp6_from_pe3(false));
  EXPECT_EQ(r.pipeline_drop, pipeline::PipelineDrop::kPeModeRefused);
  EXPECT_EQ(count("drop.pe_mode_refused"), 2u);
}

TEST_F(Pe, IngressRateLimitPerPref6) {
  role.pe.ingress_rate = 10;
  role.pe.ingress_burst = 3;
  int passed = 0;
  for (int i = 0; i < 10; ++i) passed += run(udp6_from_pe3(true)).emitted();
  EXPECT_EQ(passed, 3);
  EXPECT_EQ(count("drop.pe_rate_limited"), 7u);
  ctx->now_ns += 1'000'000'000ull;  // a second later: 10 more tokens, capped at the burst
  passed = 0;
  for (int i = 0; i < 5; ++i) passed += run(udp6_from_pe3(true)).emitted();
  EXPECT_EQ(passed, 3);
}

TEST_F(Pe, PacketTooBigFromTheCoreLowersTheTunnelMtu) {
  role.pe.prefer = mapping::kModeEncapsulate;
  const Bytes big = udp4("192.0.2.10", "198.51.100.7", 1400);  // 1428 bytes, fits 1460
  ASSERT_TRUE(run(big).emitted());
  const Bytes sent = emitted();
  ASSERT_EQ(sent.size(), 1468u);
  // A core router on a 1400-byte link answers with Packet Too Big.
  test::Ip6 e;
  e.src = a6("2001:db8:ff::1");
  e.dst = a6("2001:db8:1:46::c000:20a");
  e.next = test::kIcmp6;
  Bytes quote(sent.begin(), sent.begin() + 1232);  // RFC 4443 2.4 c: the error fits 1280
  auto r = run(test::v6_packet(e, test::icmp(2, 0, 1400, quote)));
  ASSERT_TRUE(r.emitted()) << core::drop_name(r.verdict.reason);
  auto p = emitted();  // ICMPv4 Fragmentation Needed to the IPv4 source
  EXPECT_EQ(p[0] >> 4, 4);
  EXPECT_EQ(test::str4(p, 16), "192.0.2.10");
  EXPECT_EQ(p[20], 3);
  EXPECT_EQ(p[21], 4);
  EXPECT_EQ(test::get16(p, 26), 1360);  // 1400 - 40
  // The next DF packet too big for the learned MTU is refused at once with it.
  r = run(big);
  EXPECT_EQ(r.verdict.outcome, xlat::Outcome::kIcmpError);
  EXPECT_EQ(r.verdict.reason, core::Drop::kFragNeeded);
  EXPECT_EQ(test::get16(emitted(), 26), 1360);
  // One that fits still goes.
  EXPECT_TRUE(run(udp4("192.0.2.10", "198.51.100.7", 1300)).emitted());
  // The learned MTU expires (pmtu-timeout).
  ctx->now_ns += uint64_t{role.pe.pmtu_timeout_s + 1} * 1'000'000'000ull;
  EXPECT_TRUE(run(big).emitted());
}

TEST_F(Pe, PacketTooBigAboutSomeoneElsesTunnelIsIgnored) {
  test::Ip4 h;
  h.src = a4("192.0.2.10");
  h.dst = a4("198.51.100.7");
  test::Ip6 o;
  o.src = a6("2001:db8:9:46::c000:20a");  // not our Pref6
  o.dst = a6("2001:db8:3:46::c633:6407");
  o.next = 4;
  Bytes inner = test::ipv6(o, test::v4_packet(h, test::udp(1, 2, test::pattern(16))));
  test::Ip6 e;
  e.src = a6("2001:db8:ff::1");
  e.dst = a6("2001:db8:1:46::c000:20a");
  e.next = test::kIcmp6;
  auto r = run(test::v6_packet(e, test::icmp(2, 0, 1280, inner)));
  EXPECT_FALSE(r.emitted());
  EXPECT_EQ(r.verdict.reason, core::Drop::kNotOwnPref6);
  EXPECT_EQ(pmtu.get(pool("2001:db8:3:46::", 96).prefix, 1000), 0u);
}

TEST(PmtuCache, LowersExpiresAndNeverRaises) {
  pipeline::PmtuCache c;
  const net::Ipv6Prefix p{net::Ipv6Addr{a6("2001:db8:3:46::")}, 96};
  const net::Ipv6Prefix q{net::Ipv6Addr{a6("2001:db8:4:46::")}, 96};
  EXPECT_EQ(c.get(p, 100), 0u);
  c.lower(p, 1400, 100, 600);
  EXPECT_EQ(c.get(p, 100), 1400u);
  EXPECT_EQ(c.get(q, 100), 0u);
  c.lower(p, 1450, 200, 600);  // a higher report does not raise it
  EXPECT_EQ(c.get(p, 200), 1400u);
  c.lower(p, 1300, 300, 600);
  EXPECT_EQ(c.get(p, 899), 1300u);
  EXPECT_EQ(c.get(p, 900), 0u);  // expired
  // Across the 24-bit wrap of the seconds clock.
  const uint32_t near = (1u << 24) - 10;
  c.lower(q, 1280, near, 600);
  EXPECT_EQ(c.get(q, near + 100), 1280u);
  EXPECT_EQ(c.get(q, near + 601), 0u);
}

}  // namespace
}  // namespace edge46
